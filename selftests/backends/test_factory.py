"""Which backend serves the model, its MT-Bench answers and the judge; one copy of a model where they agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nejumi_plugin.backends import placement
from nejumi_plugin.backends.base import Backend
from nejumi_plugin.backends.factory import judge_backend, model_backend
from nejumi_plugin.backends.hf import HFBackend
from nejumi_plugin.backends.openai_api import OpenAIBackend
from nejumi_plugin.backends.placement import Placement
from nejumi_plugin.config import ConfigError, RunConfig, load_config


def mtbench_backend(cfg: RunConfig, path: str, jaster: Backend) -> Backend:
    """The evaluated model as the MT-Bench family asks for it (`MtbenchFamily.answer_engine`): in `mtbench.dtype`,
    placed by Neo's GPU keys, the jaster copy where it agrees."""
    dtype = cfg.mtbench.dtype or "float32"
    where = placement.mtbench_placement(cfg.mtbench, cfg.model.device_map)
    return model_backend(cfg, path, dtype=dtype, placement=where, loaded=(jaster,))


def test_mtbench_answers_use_mtbench_dtype_and_share_the_model_when_it_agrees(make_config: Callable[..., Path]) -> None:
    cfg = load_config(make_config(), [])  # llm_jp_eval.torch_dtype fp32; mtbench.dtype bfloat16 (Neo's default)
    jaster = model_backend(cfg, "/m")
    separate = mtbench_backend(cfg, "/m", jaster)
    assert isinstance(separate, HFBackend) and separate is not jaster and separate.settings.dtype == "bfloat16"
    same = load_config(make_config(mtbench={"dtype": "float32"}), [])
    assert mtbench_backend(same, "/m", jaster) is jaster


def test_a_local_judge_shares_a_loaded_model_and_api_judges_follow_neo(make_config: Callable[..., Path]) -> None:
    cfg = load_config(
        make_config(mtbench={"dtype": "float32", "judge": {"api": "hf", "model": "/m", "dtype": "float32"}}), []
    )
    model = model_backend(cfg, "/m")
    assert judge_backend(cfg, "/m", (model,)) is model
    assert judge_backend(cfg, "/other", (model,)) is not model
    azure = judge_backend(load_config(make_config(mtbench={"use_azure": True, "parallel": 4}), []), "gpt-4")
    assert isinstance(azure, OpenAIBackend) and azure.settings.provider == "azure"
    assert azure.settings.concurrency == 4 and azure.settings.model == "gpt-4"


def test_api_models_by_neo_name_and_ours(make_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def backend(api: str, **model: object) -> OpenAIBackend:
        cfg = load_config(make_config(model={"api": api, "pretrained_model_name_or_path": "m", **model}), [])
        return model_backend(cfg, "m")

    assert backend("openai").settings.provider == "openai" and backend("openai").settings.concurrency == 32
    served = backend("vllm", base_url="http://10.0.0.1:8000/v1", concurrency=128)
    assert served.settings.provider == "openai_compatible" and served.settings.concurrency == 128
    assert served.identity()["base_url"] == "http://10.0.0.1:8000/v1"
    with pytest.raises(ConfigError, match="model.api: 'mistral' is not supported"):
        backend("mistral")
    judge = load_config(make_config(mtbench={"judge": {"api": "vllm", "base_url": "http://h/v1", "model": "j"}}), [])
    assert judge_backend(judge, "j").settings.provider == "openai_compatible"


def test_azure_api_version_neos_for_gpt4_a_newer_one_for_reasoning_deployments_or_the_configs(
    make_config: Callable[..., Path],
) -> None:
    """Azure serves its o-series deployments only from api-version 2024-12-01-preview: a model or judge that thinks
    gets that one unless the config names its own; everything else keeps Neo's."""

    def version(model: str, **keys: object) -> str:
        cfg = load_config(make_config(model={"api": "azure", "pretrained_model_name_or_path": model, **keys}), [])
        backend = model_backend(cfg, model)
        assert isinstance(backend, OpenAIBackend)
        return backend.settings.api_version

    assert version("gpt-4") == "2023-07-01-preview"
    assert version("o3-mini") == version("gpt-5-mini") == "2024-12-01-preview"
    assert version("o3-mini", reasoning={"mode": "off"}) == "2023-07-01-preview"
    assert version("gpt-4o", reasoning={"mode": "on"}) == "2024-12-01-preview"
    assert version("o3-mini", api_version="2025-04-01-preview") == "2025-04-01-preview"
    judges = {"use_azure": True}
    neo = judge_backend(load_config(make_config(mtbench=judges), []), "gpt-4")
    o3 = judge_backend(load_config(make_config(mtbench={**judges, "judge": {"model": "o3"}}), []), "o3")
    pinned = {**judges, "judge": {"model": "gpt-4", "api_version": "2024-10-21"}}
    own = judge_backend(load_config(make_config(mtbench=pinned), []), "gpt-4")
    assert isinstance(neo, OpenAIBackend) and isinstance(o3, OpenAIBackend) and isinstance(own, OpenAIBackend)
    assert (neo.settings.api_version, o3.settings.api_version) == ("2023-07-01-preview", "2024-12-01-preview")
    assert own.settings.api_version == "2024-10-21"


@pytest.mark.parametrize(
    ("worker", "gpus", "device_map", "expected"),
    [
        ("gw3", 2, "auto", "cuda:1"),
        ("gw0", 4, "auto", "cuda:0"),
        ("gw1", 1, "auto", "auto"),
        ("", 4, "auto", "auto"),
        ("gw1", 4, "cpu", "cpu"),
        ("gw1", 0, "auto", "auto"),
    ],
)
def test_each_xdist_worker_takes_its_own_gpu(
    worker: str, gpus: int, device_map: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setattr(placement, "gpu_count", lambda: gpus)
    assert placement.worker_device_map(device_map) == expected


@pytest.mark.parametrize(
    ("keys", "worker", "gpus", "expected"),
    [
        ({}, "gw1", 4, Placement("cuda:1")),  # Neo's defaults: as the jaster model (its own GPU per worker)
        (
            {"num_gpus_per_model": 2, "max_gpu_memory": "20GiB"},
            "gw1",
            4,
            Placement("auto", ((2, "20GiB"), (3, "20GiB"))),
        ),
        (
            {"num_gpus_per_model": 2, "max_gpu_memory": "20GiB"},
            "gw2",
            4,
            Placement("auto", ((0, "20GiB"), (1, "20GiB"))),
        ),
        ({"num_gpus_per_model": 2, "max_gpu_memory": "20GiB"}, "", 4, Placement("auto", ((0, "20GiB"), (1, "20GiB")))),
        ({"num_gpus_per_model": 1, "max_gpu_memory": "20GiB"}, "gw3", 2, Placement("cuda:1")),  # FastChat: one GPU
        ({"num_gpus_per_model": 2, "max_gpu_memory": "20GiB"}, "gw0", 0, Placement("auto")),
    ],  # no GPU: the config's
)
def test_neos_gpu_keys_place_the_mtbench_model_on_its_workers_gpu_group(
    keys: dict[str, object],
    worker: str,
    gpus: int,
    expected: Placement,
    make_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setattr(placement, "gpu_count", lambda: gpus)
    cfg = load_config(make_config(model={"device_map": "auto"}, mtbench=keys), [])
    assert placement.mtbench_placement(cfg.mtbench, cfg.model.device_map) == expected
    jaster = model_backend(cfg, "/m")
    answers = mtbench_backend(cfg, "/m", jaster)
    assert (answers.settings.device_map, answers.settings.max_memory) == (expected.device_map, expected.max_memory)


def test_a_model_kept_on_the_cpu_stays_there_whatever_the_gpu_keys(
    make_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setattr(placement, "gpu_count", lambda: 4)
    keys = {"num_gpus_per_model": 2, "max_gpu_memory": "20GiB"}
    cfg = load_config(make_config(model={"device_map": "cpu"}, mtbench=keys), [])
    assert placement.mtbench_placement(cfg.mtbench, cfg.model.device_map) == Placement("cpu")


def test_neos_gpu_keys_are_explained_when_they_cannot_apply(
    make_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def notes(gpus: int, workers: int = 1, api: bool = False, device_map: str = "auto", **keys: object) -> list[str]:
        monkeypatch.setattr(placement, "gpu_count", lambda: gpus)
        mtbench = load_config(make_config(mtbench=keys), []).mtbench
        return placement.gpu_key_notes(mtbench, api=api, workers=workers, device_map=device_map)

    assert notes(0) == [] and notes(4) == []  # Neo's defaults need no word
    assert notes(0, num_gpus_per_model=2) == [
        "mtbench.num_gpus_per_model=2, num_gpus_total=1, max_gpu_memory=None: ignored, no GPU is visible (the model "
        "runs on the CPU)"
    ]
    assert "ignored, the model is served by an API" in notes(8, api=True, num_gpus_total=8)[0]
    replicas = notes(4, num_gpus_per_model=2, num_gpus_total=4)
    assert replicas == [
        "mtbench.num_gpus_total=4 with num_gpus_per_model=2 is 2 copies of the model on Neo: run "
        "`pytest -n 2` for that (each worker takes its own 2-GPU group); this run has 1 worker(s)"
    ]
    assert notes(4, workers=2, num_gpus_per_model=2, num_gpus_total=4) == []
    assert notes(1, num_gpus_per_model=2)[0].startswith("mtbench.num_gpus_per_model=2 but 1 GPU(s) are visible")
    assert notes(4, device_map="cpu", num_gpus_per_model=2)[0].endswith(
        "ignored, model.device_map is cpu (the model runs on the CPU)"
    )  # the config keeps the model on the CPU, whatever GPUs the machine has

"""Which backend serves the model, its MT-Bench answers and the judge; one copy of a model where they agree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nejumi_plugin.backends import factory
from nejumi_plugin.backends.factory import judge_backend, model_backend, mtbench_backend
from nejumi_plugin.backends.hf import HFBackend
from nejumi_plugin.backends.openai_api import OpenAIBackend
from nejumi_plugin.config import ConfigError, load_config


def test_mtbench_answers_use_mtbench_dtype_and_share_the_model_when_it_agrees(make_config: Callable[..., Path]) -> None:
    cfg = load_config(make_config(), [])  # llm_jp_eval.torch_dtype fp32; mtbench.dtype bfloat16 (Neo's default)
    jaster = model_backend(cfg, "/m")
    separate = mtbench_backend(cfg, "/m", jaster)
    assert isinstance(separate, HFBackend) and separate is not jaster and separate.settings.dtype == "bfloat16"
    same = load_config(make_config(mtbench={"dtype": "float32"}), [])
    assert mtbench_backend(same, "/m", jaster) is jaster


def test_a_local_judge_shares_a_loaded_model_and_api_judges_follow_neo(make_config: Callable[..., Path]) -> None:
    cfg = load_config(make_config(mtbench={"dtype": "float32", "judge": {"api": "hf", "model": "/m", "dtype": "float32"}}), [])
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


@pytest.mark.parametrize(
    ("worker", "gpus", "device_map", "expected"),
    [("gw3", 2, "auto", "cuda:1"), ("gw0", 4, "auto", "cuda:0"), ("gw1", 1, "auto", "auto"), ("", 4, "auto", "auto"),
     ("gw1", 4, "cpu", "cpu"), ("gw1", 0, "auto", "auto")],
)  # fmt: skip
def test_each_xdist_worker_takes_its_own_gpu(
    worker: str, gpus: int, device_map: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setattr(factory, "_gpu_count", lambda: gpus)
    assert factory.worker_device_map(device_map) == expected

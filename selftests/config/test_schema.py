"""The config models: Neo's template key for key, defaults, new keys, parsed literals and blend rules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from nejumi_plugin.backends.registry import model_apis
from nejumi_plugin.blend import blend_tasks
from nejumi_plugin.config import RunConfig
from nejumi_plugin.config.schema import parse_roles, parse_token_ids
from nejumi_plugin.registry import builtin_families

ROOT = Path(__file__).resolve().parents[2]
NEO_TEMPLATE = ROOT / "selftests" / "fixtures" / "neo_config_template.yaml"
OUR_TEMPLATE = ROOT / "configs" / "config_template.yaml"
NEW_KEYS = {
    "wandb.mode": "online",
    "model.trust_remote_code": False,
    "model.batch_size": "auto",
    "model.prefix_reuse": True,
    "model.prompt_lookup_tokens": 4,
    "llm_jp_eval.add_special_tokens": False,
    "llm_jp_eval.stop_at_blank_line": True,
    "llm_jp_eval.api_max_tokens": None,
    "model.base_url": None,
    "model.api_key_env": None,
    "model.api_version": None,
    "model.concurrency": 32,
    "model.max_retries": 16,
    "model.timeout_s": 600.0,
    "mtbench.conv_template": None,
    "mtbench.api_temperature": 0.1,
    "mtbench.judge.api": "openai",
    "mtbench.judge.model": "gpt-4",
    "mtbench.judge.base_url": None,
    "mtbench.judge.api_key_env": None,
    "mtbench.judge.api_version": None,
    "mtbench.judge.temperature": 0.0,
    "mtbench.judge.max_tokens": 2048,
    "mtbench.judge.dtype": "bfloat16",
    "mtbench.judge.max_retries": 16,
    "mtbench.judge.timeout_s": 600.0,
    "mtbench.judge.canary": 8,
    "model.options": {},
    "mtbench.judge.options": {},
    "model.reasoning.mode": "auto",
    "model.reasoning.effort": None,
    "model.reasoning.budget_tokens": 4096,
    "model.reasoning.answer_tokens": None,
    "model.reasoning.tags": ["<think>", "</think>"],
    "mtbench.judge.reasoning.mode": "auto",
    "mtbench.judge.reasoning.effort": None,
    "mtbench.judge.reasoning.budget_tokens": 4096,
    "mtbench.judge.reasoning.answer_tokens": None,
    "mtbench.judge.reasoning.tags": ["<think>", "</think>"],
    "run_chain": False,
    "new_run": None,
    "old_runs": [],
    "report.bootstrap_samples": 1000,
    "report.bootstrap_seed": 0,
    "report.html": True,
    "report.fail_under": {},
}


def leaves(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of a nested mapping."""
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def get(config: BaseModel, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def neo_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(NEO_TEMPLATE.read_text(encoding="utf-8"))
    return raw


def test_defaults_are_neo_template_values() -> None:
    config = RunConfig()
    for dotted, value in leaves(neo_raw()):
        got = get(config, dotted)
        assert got == value and type(got) is type(value), dotted


def test_schema_keys_are_neo_keys_plus_new_keys() -> None:
    ours = set(dict(leaves(RunConfig().to_public_dict())))
    assert ours == set(dict(leaves(neo_raw()))) | set(NEW_KEYS)


def test_new_key_defaults() -> None:
    config = RunConfig()
    for dotted, value in NEW_KEYS.items():
        assert get(config, dotted) == value, dotted


def test_public_dict_keeps_template_order() -> None:
    assert list(RunConfig().to_public_dict())[:3] == ["testmode", "model_name", "wandb"]
    assert list(RunConfig().to_public_dict()["mtbench"])[-3:] == ["ja", "en", "dataset"]


def test_our_template_keeps_every_neo_line_in_order() -> None:
    neo = NEO_TEMPLATE.read_text(encoding="utf-8").splitlines()
    ours = iter(OUR_TEMPLATE.read_text(encoding="utf-8").splitlines())
    missing = [line for line in neo if not any(line == other for other in ours)]
    assert missing == []


def test_our_template_values_equal_defaults() -> None:
    raw = yaml.safe_load(OUR_TEMPLATE.read_text(encoding="utf-8"))
    assert RunConfig.model_validate(raw).to_public_dict() == RunConfig().to_public_dict()


def test_parsed_literals() -> None:
    mtbench = RunConfig().mtbench
    assert mtbench.ja.roles == ("指示", "応答")
    assert mtbench.en.roles == ("Instruction", "Response")
    assert mtbench.stop_token_ids == [2]
    assert parse_token_ids("[]") == []
    assert parse_roles("['a', 'b']") == ("a", "b")


@pytest.mark.parametrize("text", ["('a',)", "('a', 'b', 'c')", "('a', 1)", "'ab'", "(", "x"])
def test_bad_roles(text: str) -> None:
    with pytest.raises(ValueError, match="tuple of two strings"):
        parse_roles(text)


@pytest.mark.parametrize("text", ["2", "[2, 'x']", "[True]", "[1.5]", "[", "None"])
def test_bad_token_ids(text: str) -> None:
    with pytest.raises(ValueError, match="list of integer token ids"):
        parse_token_ids(text)


def test_literal_parsing_never_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    for payload in (f"__import__('pathlib').Path({str(marker)!r}).write_text('x')", "__import__('os').system('x')"):
        with pytest.raises(ValueError, match="nothing is evaluated"):
            parse_roles(payload)
        with pytest.raises(ValueError, match="nothing is evaluated"):
            parse_token_ids(payload)
    assert not marker.exists() and calls == []
    with pytest.raises(ValueError, match="longer than"):
        parse_roles("(" + "'a', " * 500 + ")")


@pytest.mark.parametrize("api", [False, *model_apis()])
def test_api_values(api: Any) -> None:
    model = {"api": api, "base_url": "http://127.0.0.1:8000/v1"}
    assert RunConfig.model_validate({"model": model}).model.api == api


def test_neo_misspelling_means_anthropic_and_servers_need_a_url() -> None:
    assert RunConfig.model_validate({"model": {"api": "anthoropic"}}).model.api == "anthropic"
    with pytest.raises(ValueError, match="api: vllm needs model.base_url"):
        RunConfig.model_validate({"model": {"api": "vllm"}})


@pytest.mark.parametrize(
    "dtype, name",
    [("bf16", "bfloat16"), ("fp16", "float16"), ("fp32", "float32"), ("bfloat16", "bfloat16"), ("auto", "auto")],
)
def test_torch_dtype_name(dtype: str, name: str) -> None:
    assert RunConfig.model_validate({"llm_jp_eval": {"torch_dtype": dtype}}).llm_jp_eval.torch_dtype_name == name


def test_mtbench_dtype_null_and_target_dataset_list() -> None:
    config = RunConfig.model_validate(
        {"mtbench": {"dtype": None}, "llm_jp_eval": {"target_dataset": ["jnli", "mmlu_en"]}}
    )
    assert config.mtbench.dtype is None
    assert config.llm_jp_eval.target_dataset == ["jnli", "mmlu_en"]


def test_partial_language_mappings_keep_that_languages_defaults() -> None:
    config = RunConfig.model_validate(
        {"mtbench": {"en": {"conv_roles": "('U', 'A')"}, "dataset": {"ja": {"bench_name": "x"}}}}
    )
    assert config.mtbench.en.roles == ("U", "A")
    assert config.mtbench.en.conv_system_message.startswith("Here is a set of instructions")
    assert config.mtbench.dataset.ja.bench_name == "x"
    assert config.mtbench.dataset.ja.question_artifacts_path.endswith("mtbench_ja_question:v3")
    assert config.mtbench.dataset.en.bench_name == "mt_bench_en"


def test_strict_no_coercion() -> None:
    for bad in (
        {"testmode": "false"},
        {"llm_jp_eval": {"ja_num_shots": "4"}},
        {"model": {"load_in_8bit": 0}},
        {"model_name": 7},
    ):
        with pytest.raises(ValidationError):
            RunConfig.model_validate(bad)


def test_frozen() -> None:
    config = RunConfig()
    with pytest.raises(ValidationError):
        setattr(config.mtbench, "model_id", "x")  # noqa: B010 - a plain assignment fails type checking
    assert config.model_copy(update={"testmode": True}).testmode is True


NEO_BLEND_TEMPLATE = """
run_chain: false
new_run:
  entity: "your/WANDB/entity"
  project: "your/WANDB/project"
  run_name: "your/WANDB/run_name"
old_runs:
  - run_path: "your/WANDB/run_path"
    tasks:
      - jaster_ja_0_shot
      - jaster_ja_4_shot
      - jaster_en_0_shot
      - jaster_en_4_shot
      - mtbench_ja
      - mtbench_en
"""


def test_neo_blend_config_validates() -> None:
    config = RunConfig.model_validate(yaml.safe_load(NEO_BLEND_TEMPLATE))
    assert config.new_run is not None and config.new_run.project == "your/WANDB/project"
    assert config.old_runs[0].run_path == "your/WANDB/run_path"
    assert tuple(config.old_runs[0].tasks) == tuple(blend_tasks(builtin_families(), config))


def test_commented_out_blend_lists_mean_empty() -> None:
    config = RunConfig.model_validate(yaml.safe_load("old_runs:\n  # - run_path: a/b/c\n"))
    assert config.old_runs == []
    config = RunConfig.model_validate({"old_runs": [{"run_path": "e/p/r", "tasks": None}]})
    assert config.old_runs[0].tasks == []


def test_the_public_dict_has_no_credentials_and_its_hash_does_not_depend_on_them() -> None:
    def config(url: str) -> RunConfig:
        return RunConfig.model_validate(
            {"model": {"api": "vllm", "base_url": url, "pretrained_model_name_or_path": "m"}}
        )

    public = config("https://user:s3cret@h:8000/v1?sig=k2").to_public_dict()
    assert (
        public["model"]["base_url"] == "https://h:8000/v1" and "s3cret" not in repr(public) and "k2" not in repr(public)
    )
    assert config("https://user:s3cret@h:8000/v1").config_hash == config("https://other:pw@h:8000/v1").config_hash

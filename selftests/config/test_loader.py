"""load_config: Neo's files load unchanged; every error names the file and the dotted key; --set overrides."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from nejumi_plugin.config import ConfigError, RunConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
NEO_TEMPLATE = ROOT / "selftests" / "fixtures" / "neo_config_template.yaml"
OUR_TEMPLATE = ROOT / "configs" / "config_template.yaml"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def test_neo_template_loads_unchanged_with_neo_meaning() -> None:
    config = load_config(NEO_TEMPLATE)
    assert config.model.api is False and config.model.use_wandb_artifacts is True
    assert config.model.pretrained_model_name_or_path is None and config.model.device_map == "auto"
    assert (config.llm_jp_eval.ja_num_shots, config.llm_jp_eval.en_num_shots) == (4, 4)
    assert config.llm_jp_eval.target_dataset == "all" and config.llm_jp_eval.torch_dtype == "bf16"
    assert config.llm_jp_eval.dataset_dir == "/jaster/1.2.6/evaluation/test"
    assert config.llm_jp_eval.ja.custom_prompt_template is None
    assert config.mtbench.conv_sep == "\n\n### " and config.mtbench.conv_role_message_separator == ": \n"
    assert config.mtbench.ja.roles == ("指示", "応答") and config.mtbench.stop_token_ids == [2]
    assert config.mtbench.dataset.ja.question_artifacts_path == "wandb-japan/llm-leaderboard/mtbench_ja_question:v3"
    assert config.github_version == "g-eval-v1.0"
    assert config.config_hash == RunConfig().config_hash  # the template is exactly the defaults


def test_our_template_loads_and_records_its_source() -> None:
    config = load_config(str(OUR_TEMPLATE))
    assert config.source_path == OUR_TEMPLATE.resolve()
    assert config.base_dir == OUR_TEMPLATE.resolve().parent
    assert re.fullmatch(r"[0-9a-f]{64}", config.config_hash)
    assert config.config_hash == load_config(NEO_TEMPLATE).config_hash


def test_relative_path_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "testmode: true\n")
    monkeypatch.chdir(tmp_path)
    config = load_config("config.yaml")
    assert config.source_path == (tmp_path / "config.yaml").resolve() and config.base_dir == tmp_path.resolve()
    assert RunConfig().source_path is None and RunConfig().base_dir == Path.cwd()


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    message = error_of(tmp_path / "config.yaml")
    assert "not found" in message and "configs/config_template.yaml" in message


def test_directory_is_rejected(tmp_path: Path) -> None:
    assert "expected a YAML file" in error_of(tmp_path)


def test_bad_yaml_gives_line_and_column(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "model:\n  api: false\n  device_map: [auto\nmtbench: {}\n"))
    assert "invalid YAML at line 4, column" in message


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "testmode: false\ntestmode: true\n"))
    assert "duplicate key 'testmode'" in message and "line 2" in message


@pytest.mark.parametrize(
    "text, got", [("- a\n- b\n", "['a', 'b']"), ("", "an empty file"), ("just text\n", "'just text'")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    message = error_of(write(tmp_path, text))
    assert "expected a mapping" in message and got in message


@pytest.mark.parametrize(
    "text, key, suggestion",
    [
        ("llm_jp_eval:\n  ja_num_shot: 2\n", "llm_jp_eval.ja_num_shot", "did you mean ja_num_shots? (got 2)"),
        ("mtbench:\n  paralel: 2\n", "mtbench.paralel", "did you mean parallel?"),
        (
            "mtbench:\n  dataset:\n    ja:\n      benchname: x\n",
            "mtbench.dataset.ja.benchname",
            "did you mean bench_name?",
        ),
        ("modle:\n  api: false\n", "modle", "did you mean model?"),
        ("ja_num_shots: 2\n", "ja_num_shots", "did you mean llm_jp_eval.ja_num_shots?"),
    ],
)
def test_unknown_key_suggests_closest(tmp_path: Path, text: str, key: str, suggestion: str) -> None:
    path = write(tmp_path, text)
    assert f"{path}: {key}: unknown key; {suggestion}" in error_of(path)


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "wandb:\n  zzzz: 1\n"))
    assert "wandb.zzzz: unknown key; expected one of: entity, project, run_name, mode" in message


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ("llm_jp_eval:\n  max_seq_length: long\n", "llm_jp_eval.max_seq_length", "expected an integer (got 'long')"),
        ("testmode: 'false'\n", "testmode", "expected true or false (got 'false')"),
        ("model:\n  load_in_8bit: 1\n", "model.load_in_8bit", "expected true or false"),
        ("model_name: 7\n", "model_name", "expected a string (got 7)"),
        (
            "model:\n  pretrained_model_name_or_path: [a]\n",
            "model.pretrained_model_name_or_path",
            "expected null or a string",
        ),
        ("model: 3\n", "model", "expected a mapping (got 3)"),
        ("llm_jp_eval:\n  ja_num_shots: -1\n", "llm_jp_eval.ja_num_shots", "expected an integer >= 0 (got -1)"),
        ("llm_jp_eval:\n  en_num_shots: -2\n", "llm_jp_eval.en_num_shots", "expected an integer >= 0"),
        ("llm_jp_eval:\n  max_seq_length: 0\n", "llm_jp_eval.max_seq_length", "expected an integer > 0"),
        ("model:\n  batch_size: 0\n", "model.batch_size", "expected an integer >= 1 or 'auto'"),
        ("mtbench:\n  max_new_token: 0\n", "mtbench.max_new_token", "expected an integer >= 1"),
        ("mtbench:\n  parallel: 0\n", "mtbench.parallel", "expected an integer >= 1"),
        ("mtbench:\n  num_gpus_per_model: 0\n", "mtbench.num_gpus_per_model", "expected an integer >= 1"),
        ("mtbench:\n  num_gpus_total: 0\n", "mtbench.num_gpus_total", "expected an integer >= 1"),
        ("llm_jp_eval:\n  torch_dtype: bf32\n", "llm_jp_eval.torch_dtype", "expected one of 'bf16', 'fp16'"),
        ("mtbench:\n  dtype: float64\n", "mtbench.dtype", "expected null or one of 'float32', 'float16' or 'bfloat16'"),
        ("mtbench:\n  dtype: None\n", "mtbench.dtype", "write null, not the string None"),
        ("wandb:\n  mode: dryrun\n", "wandb.mode", "expected one of 'online', 'offline' or 'disabled'"),
        (
            "model:\n  load_in_8bit: true\n  load_in_4bit: true\n",
            "model.load_in_4bit",
            "expected false when model.load_in_8bit is true",
        ),
        ("model:\n  api: antropic\n", "model.api", 'did you mean "anthropic"?'),
        ("model:\n  api: opnai\n", "model.api", 'did you mean "openai"?'),
        ("model:\n  api: true\n", "model.api", "expected false (a local model) or one of openai, azure"),
        ("model:\n  api: openai\n  options: {answers: []}\n", "model.options", "api: openai takes no options"),
        (
            "mtbench:\n  judge:\n    api: hf\n    options: {a: 1}\n",
            "mtbench.judge.options",
            "a local model takes no options",
        ),
        (
            "model:\n  api: mock\n  options: {answers: [{match: '(', answer: x}]}\n",
            "model.options",
            "answers.0.match: not a regular expression",
        ),
        (
            "mtbench:\n  judge:\n    api: mock\n    options: {answr: x}\n",
            "mtbench.judge.options",
            "answr: Extra inputs are not permitted",
        ),
        ("mtbench:\n  judge:\n    api: gpt4\n", "mtbench.judge.api", "expected one of openai"),
        ("model:\n  api: 'false'\n", "model.api", "write false without quotes"),
        ("llm_jp_eval:\n  target_dataset: 3\n", "llm_jp_eval.target_dataset", "or a non-empty list"),
        ("llm_jp_eval:\n  target_dataset: []\n", "llm_jp_eval.target_dataset", "or a non-empty list"),
        ("mtbench:\n  ja:\n    conv_roles: \"('指示')\"\n", "mtbench.ja.conv_roles", "tuple of two strings"),
        ("mtbench:\n  en:\n    conv_roles: ['a', 'b']\n", "mtbench.en.conv_roles", "expected a string"),
        ("mtbench:\n  conv_stop_token_ids: '[2, x]'\n", "mtbench.conv_stop_token_ids", "list of integer token ids"),
        (
            "old_runs:\n  - run_path: ' '\n    tasks: [mtbench_ja]\n",
            "old_runs[0].run_path",
            'expected "entity/project/run_id" (W&B) or a run directory',
        ),
        ("old_runs:\n  - tasks: [mtbench_ja]\n", "old_runs[0].run_path", "missing required key"),
    ],
)
def test_invalid_value_names_file_and_dotted_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    message = error_of(write(tmp_path, text))
    assert f"{tmp_path / 'config.yaml'}: {key}: " in message
    assert expected in message


def test_model_key_in_the_wrong_section_points_to_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  torch_dtype: bf16\n")
    assert f"{path}: model.torch_dtype: unknown key; did you mean llm_jp_eval.torch_dtype?" in error_of(path)


def test_omegaconf_interpolation_fails_instead_of_changing_meaning(tmp_path: Path) -> None:
    path = write(tmp_path, 'model_name: "m"\nwandb:\n  run_name: "${model_name}"\n')
    assert f"{path}: wandb.run_name: OmegaConf interpolation" in error_of(path)


def test_conv_roles_function_call_is_never_executed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    payloads = ["__import__('os').system('x')", f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"]
    for payload in payloads:
        path = write(tmp_path, f'mtbench:\n  ja:\n    conv_roles: "{payload}"\n')
        message = error_of(path)
        assert f"{path}: mtbench.ja.conv_roles: " in message and "nothing is evaluated" in message
    assert calls == [] and not marker.exists()


def test_every_error_is_reported_and_long_values_are_shortened(tmp_path: Path) -> None:
    long = "x" * 500
    message = error_of(write(tmp_path, f"testmode: 3\nmodel_name: [{long}]\nllm_jp_eval:\n  ja_num_shots: -1\n"))
    lines = message.splitlines()
    assert len(lines) == 3 and all(line.startswith(str(tmp_path / "config.yaml")) for line in lines)
    assert max(len(line) for line in lines) < 200 and "..." in lines[1]


def test_override_nested_and_typed_via_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "testmode: false\n")  # no model / llm_jp_eval section: created on the way
    config = load_config(
        path,
        [
            "llm_jp_eval.ja_num_shots=2",
            "testmode=true",
            "model.api=openai",
            "model.batch_size=16",
            "llm_jp_eval.target_dataset=[jnli, jamp]",
            "mtbench.dtype=null",
            "model_name=my model = v2",
            "mtbench.ja.conv_roles=('U', 'A')",
            "new_run.entity=me",
        ],
    )
    assert config.llm_jp_eval.ja_num_shots == 2 and config.testmode is True
    assert config.model.api == "openai" and config.model.batch_size == 16
    assert config.llm_jp_eval.target_dataset == ["jnli", "jamp"] and config.mtbench.dtype is None
    assert config.model_name == "my model = v2" and config.mtbench.ja.roles == ("U", "A")
    assert config.new_run is not None and config.new_run.entity == "me"
    assert config.mtbench.ja.conv_system_message.startswith("以下は")  # sibling defaults kept


def test_override_replaces_file_value_without_touching_siblings(tmp_path: Path) -> None:
    path = write(tmp_path, "llm_jp_eval:\n  ja_num_shots: 3\n  en_num_shots: 1\n")
    config = load_config(path, ["llm_jp_eval.ja_num_shots=0"])
    assert (config.llm_jp_eval.ja_num_shots, config.llm_jp_eval.en_num_shots) == (0, 1)
    assert load_config(path).llm_jp_eval.ja_num_shots == 3


@pytest.mark.parametrize(
    "override, expected",
    [
        ("llm_jp_eval.ja_num_shot=2", "unknown key llm_jp_eval.ja_num_shot; did you mean ja_num_shots?"),
        ("modle.api=openai", "unknown key modle; did you mean model?"),
        ("testmode.x=1", "unknown key testmode.x; testmode has no sub-keys"),
        ("old_runs.run_path=a/b/c", "old_runs is a list; set it whole"),
        ("llm_jp_eval.ja_num_shots", "malformed override; expected dotted.key=value"),
        ("=3", "malformed override"),
        ("model..api=openai", "malformed override"),
        ("model.device_map=[auto", "value is not valid YAML"),
    ],
)
def test_bad_override_names_the_override(tmp_path: Path, override: str, expected: str) -> None:
    message = error_of(write(tmp_path, "{}\n"), (override,))
    assert f"--set {override!r}" in message and expected in message


def test_override_value_error_is_traced_to_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, "{}\n")
    message = error_of(path, ("llm_jp_eval.ja_num_shots=-1",))
    assert message == (
        f"{path}: llm_jp_eval.ja_num_shots: expected an integer >= 0 (got -1) [from --set llm_jp_eval.ja_num_shots=-1]"
    )


def test_override_through_a_scalar_in_the_file(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, "model: 3\n"), ("model.api=openai",))
    assert "model in the file is not a mapping" in message


def test_config_hash_ignores_key_order_and_follows_values(tmp_path: Path) -> None:
    a = write(tmp_path, "testmode: true\nllm_jp_eval:\n  ja_num_shots: 2\n  en_num_shots: 3\n", "a.yaml")
    b = write(tmp_path, "llm_jp_eval:\n  en_num_shots: 3\n  ja_num_shots: 2\ntestmode: true\n", "b.yaml")
    c = write(tmp_path, "testmode: true\nllm_jp_eval:\n  ja_num_shots: 2\n  en_num_shots: 4\n", "c.yaml")
    assert load_config(a).config_hash == load_config(b).config_hash
    assert load_config(a).config_hash != load_config(c).config_hash
    assert load_config(c, ["llm_jp_eval.en_num_shots=3"]).config_hash == load_config(a).config_hash


def test_public_dict_is_plain_data(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "llm_jp_eval:\n  target_dataset: [jnli]\n"))
    data = config.to_public_dict()
    assert data["llm_jp_eval"]["target_dataset"] == ["jnli"] and data["model"]["api"] is False
    assert RunConfig.model_validate(data).config_hash == config.config_hash

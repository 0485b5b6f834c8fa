"""Where data and model come from: local paths, or W&B artifacts (which need W&B online); the families' own
folders (`tasks/jaster/sources.py`, `tasks/mtbench/sources.py`) through the same two ways."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nejumi_plugin.config import ConfigError, load_config
from nejumi_plugin.data_source import resolve_model_path, wandb_mode
from nejumi_plugin.tasks.jaster.sources import resolve_dataset_dir
from nejumi_plugin.tasks.mtbench.sources import resolve_mtbench_dirs


def config(tmp_path: Path, **llm_jp_eval: object) -> Path:
    path = tmp_path / "cfg" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"wandb": {"mode": "offline"}, "llm_jp_eval": llm_jp_eval}))
    return path


def test_artifact_while_offline_tells_the_user_to_set_dataset_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    cfg = load_config(config(tmp_path))  # Neo's default: dataset_artifact jaster:v11
    with pytest.raises(ConfigError) as err:
        resolve_dataset_dir(cfg)
    message = str(err.value)
    assert str(cfg.source_path) in message and "llm_jp_eval.dataset_artifact" in message
    assert "cannot be fetched while W&B is offline" in message and "llm_jp_eval.dataset_dir" in message


def test_wandb_mode_env_wins(tmp_path: Path, monkeypatch) -> None:
    cfg = load_config(config(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert wandb_mode(cfg) == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode(cfg) == "disabled"


def test_relative_dataset_dir_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "data" / "test").mkdir(parents=True)
    cfg = load_config(config(tmp_path, dataset_artifact=None, dataset_dir="../data/test"))
    assert resolve_dataset_dir(cfg) == (tmp_path / "data" / "test").resolve()


def test_missing_dataset_dir_names_the_key(tmp_path: Path) -> None:
    cfg = load_config(config(tmp_path, dataset_artifact=None, dataset_dir="nowhere/test"))
    with pytest.raises(ConfigError, match=r"config.yaml: llm_jp_eval.dataset_dir: .*nowhere/test is not a folder"):
        resolve_dataset_dir(cfg)


def test_model_paths(tmp_path: Path) -> None:
    path = config(tmp_path)
    (path.parent / "my-model").mkdir()
    local = load_config(path, ["model.pretrained_model_name_or_path=my-model"])
    assert resolve_model_path(local) == str((path.parent / "my-model").resolve())
    hub = load_config(path, ["model.pretrained_model_name_or_path=org/name"])
    assert resolve_model_path(hub) == "org/name"
    with pytest.raises(ConfigError, match="model.pretrained_model_name_or_path: required"):
        resolve_model_path(load_config(path))
    artifact = load_config(path, ["model.artifacts_path=e/p/model:v0"])  # use_wandb_artifacts is Neo's default
    with pytest.raises(ConfigError, match="model.artifacts_path: the W&B artifact 'e/p/model:v0' cannot be fetched"):
        resolve_model_path(artifact)


def test_mtbench_folders_are_local_or_artifacts_and_test_mode_takes_the_small_sets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    path = config(tmp_path)
    (path.parent / "small").mkdir()
    (tmp_path / "prompts").mkdir()
    overrides = [
        "mtbench.dataset.ja.test_question_artifacts_path=small",
        "mtbench.dataset.ja.test_referenceanswer_artifacts_path=small",
        f"mtbench.dataset.ja.judge_prompt_artifacts_path={tmp_path / 'prompts'}",
    ]
    cfg = load_config(path, [*overrides, "testmode=true"])
    folders, keys = resolve_mtbench_dirs(cfg, "ja")
    assert folders == {
        "questions": (path.parent / "small").resolve(),
        "references": (path.parent / "small").resolve(),
        "judge_prompts": (tmp_path / "prompts").resolve(),
    }
    assert keys["questions"].endswith("config.yaml: mtbench.dataset.ja.test_question_artifacts_path")
    full = load_config(path, overrides)  # not in test mode: Neo's full-set artifacts, which need W&B online
    with pytest.raises(
        ConfigError,
        match=r"mtbench.dataset.ja.question_artifacts_path: the W&B artifact "
        r"'wandb-japan/llm-leaderboard/mtbench_ja_question:v3' cannot be fetched",
    ):
        resolve_mtbench_dirs(full, "ja")
    typo = load_config(path, ["mtbench.dataset.en.test_question_artifacts_path=no/such", "testmode=true"])
    with pytest.raises(ConfigError, match=r"test_question_artifacts_path: 'no/such' is neither a local folder"):
        resolve_mtbench_dirs(typo, "en")


def test_online_the_artifact_paths_are_downloaded_with_the_wandb_api(tmp_path: Path, monkeypatch) -> None:
    """Against a stand-in for `wandb.Api` (the cloud is unreachable here): the names Neo's config holds are what is
    asked for, with the dataset type, and the downloaded folders are what the tasks read."""
    import wandb

    asked: list[tuple[str, str]] = []

    class Artifact:
        def __init__(self, folder: Path) -> None:
            self.folder = folder

        def download(self) -> str:
            return str(self.folder)

    class Api:
        def artifact(self, name: str, type: str) -> Artifact:
            asked.append((name, type))
            folder = tmp_path / "downloads" / name.rsplit("/", 1)[1].replace(":", "_")
            folder.mkdir(parents=True, exist_ok=True)
            return Artifact(folder)

    monkeypatch.setattr(wandb, "Api", Api)
    monkeypatch.setenv("WANDB_MODE", "online")
    cfg = load_config(config(tmp_path))
    folders, _ = resolve_mtbench_dirs(cfg, "en")
    assert asked == [
        ("wandb-japan/llm-leaderboard/mtbench_en_question:v0", "dataset"),
        ("wandb-japan/llm-leaderboard/mtbench_en_referenceanswer:v0", "dataset"),
        ("wandb-japan/llm-leaderboard/mtbench_en_prompt:v0", "dataset"),
    ]
    assert folders["questions"] == tmp_path / "downloads" / "mtbench_en_question_v0"
    (tmp_path / "downloads" / "jaster_v11" / "jaster" / "1.2.6" / "evaluation" / "test").mkdir(parents=True)
    assert resolve_dataset_dir(cfg).parts[-4:] == ("jaster", "1.2.6", "evaluation", "test")

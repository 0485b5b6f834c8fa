"""`python -m nejumi_plugin.upload`: real offline W&B uploads (~1.5 s each), read back from the run's `.wandb` log."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("wandb")

from nejumi_plugin.config import load_config
from nejumi_plugin.tasks.jaster import sources
from nejumi_plugin.tasks.jaster.data import JasterLayout
from nejumi_plugin.tasks.mtbench.data import load_mtbench
from nejumi_plugin.upload import jaster_layout, main
from nejumi_plugin.wandb_offline import OfflineRunError, iter_records, read_offline_run

DEMO = Path(__file__).resolve().parents[1] / "nejumi_plugin" / "demo_data"
JASTER = DEMO / "jaster" / "1.2.6"
MTBENCH_JA = DEMO / "mtbench" / "ja"
NEO_DATASET_DIR = "/jaster/1.2.6/evaluation/test"  # Neo's config_template.yaml
COMMON = ["--entity", "e", "--project", "p"]


@pytest.fixture
def wandb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Offline W&B with every folder in tmp, no API key and no ~/.netrc; returns WANDB_DIR."""
    for name in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return tmp_path / "wandb_dir"


def upload(argv: list[str]) -> int:
    """`main(argv)`, then `wandb.teardown()`: in one process wandb keeps the settings (WANDB_DIR...) of its first
    setup, and the run's `.wandb` log may still be being written after `run.finish()` returns."""
    import wandb

    try:
        return main(argv)
    finally:
        wandb.teardown()


def only_artifact(wandb_dir: Path) -> dict:
    run = read_offline_run(wandb_dir)
    assert (run.entity, run.project) == ("e", "p")
    assert len(run.artifacts) == 1
    return run.artifacts[0]


def materialize(files: list[str], sources: dict[str, Path], root: Path) -> Path:
    """What `artifact.download()` would give: each artifact path under `root`, copied from its local source."""
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[name], root / name)
    return root


def test_jaster_upload_lines_up_with_neo_dataset_dir(
    wandb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert upload(["jaster", str(JASTER), *COMMON, "--alias", "v1.2.6", "--alias", "season-1"]) == 0
    out = capsys.readouterr().out
    assert "e/p/jaster:v1.2.6" in out and f'dataset_dir: "{NEO_DATASET_DIR}"' in out and "wandb sync " in out

    art = only_artifact(wandb_dir)
    assert (art["name"], art["type"]) == ("jaster", "dataset")
    assert set(art["aliases"]) == {"v1.2.6", "season-1", "latest"}
    local = {f"jaster/1.2.6/{p.relative_to(JASTER).as_posix()}": p for p in JASTER.rglob("*.json")}
    assert sorted(art["files"]) == sorted(local) and len(local) == 219
    record = next(
        r.artifact
        for r in iter_records(next(read_offline_run(wandb_dir).path.glob("*.wandb")))
        if r.WhichOneof("record_type") == "artifact"
    )
    meta = json.loads(record.metadata)
    assert meta["file_count"] == 219 and meta["source"] == str(JASTER) and sorted(meta["sha256"]) == sorted(local)

    # Neo's config, with the artifact "downloaded": dataset_dir resolves inside it and the task data loads.
    root = materialize(art["files"], local, tmp_path / "download")
    monkeypatch.setattr(sources, "download_artifact", lambda path, *_: root if path == "e/p/jaster:v1.2.6" else 0)
    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(yaml.safe_dump({"llm_jp_eval": {"dataset_artifact": "e/p/jaster:v1.2.6"}}))
    test_dir = sources.resolve_dataset_dir(load_config(cfg_file))
    assert test_dir == root / NEO_DATASET_DIR.lstrip("/")
    assert JasterLayout(test_dir).few_shots("jnli", 2) and JasterLayout(test_dir).load("jnli", "test").samples


def test_jaster_dir_may_be_the_evaluation_folder() -> None:
    assert (
        jaster_layout(JASTER / "evaluation")
        == jaster_layout(JASTER)
        == (JASTER / "evaluation", "jaster/1.2.6/evaluation")
    )


def test_mtbench_uploads_are_readable_by_the_loader(wandb_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The three files as three artifacts; downloaded, `load_mtbench` finds and accepts them (the reference file
    comes from `reference_answer/gpt-4.jsonl` and lands at the artifact's root)."""
    cases = [
        ("mtbench-questions", "mtbench_ja_question", MTBENCH_JA / "question.jsonl"),
        ("mtbench-references", "mtbench_ja_referenceanswer", MTBENCH_JA / "reference_answer" / "gpt-4.jsonl"),
        ("mtbench-prompts", "mtbench_ja_prompt", MTBENCH_JA / "judge_prompts.jsonl"),
    ]
    roots = []
    for kind, name, source in cases:
        monkeypatch.setenv("WANDB_DIR", str(wandb_dir / kind))
        assert upload([kind, str(MTBENCH_JA), *COMMON, "--name", name, "--alias", "v1"]) == 0
        art = only_artifact(wandb_dir / kind)
        assert (art["name"], art["type"], set(art["aliases"])) == (name, "dataset", {"v1", "latest"})
        assert art["files"] == [source.name]
        roots.append(materialize(art["files"], {source.name: source}, tmp_path / name))
    data = load_mtbench("ja", *roots, judge_model="gpt-4")
    assert len(data.questions) == 8 and data.files["references"] == str(roots[1] / "gpt-4.jsonl")


def broken_question(tmp_path: Path) -> tuple[list[str], str]:
    folder = tmp_path / "ja"
    shutil.copytree(MTBENCH_JA, folder)
    lines = (folder / "question.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[2])
    first["turns"] = first["turns"][:1]
    lines[2] = json.dumps(first, ensure_ascii=False)
    (folder / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    qid = first["question_id"]
    return ["mtbench-questions", str(folder), "--name", "q"], f"question.jsonl:3: question {qid} has 1 turn"


def broken_jaster(tmp_path: Path) -> tuple[list[str], str]:
    evaluation = tmp_path / "1.2.6" / "evaluation"
    shutil.copytree(JASTER / "evaluation", evaluation)
    (evaluation / "dev" / "jnli.json").write_text('{"instruction": "x"}', encoding="utf-8")
    return ["jaster", str(evaluation)], "dev/jnli.json: missing key(s) output_length, metrics, samples"


def missing_train(tmp_path: Path) -> tuple[list[str], str]:
    shutil.copytree(JASTER, tmp_path / "v")
    (tmp_path / "v" / "evaluation" / "train" / "jnli.json").unlink()
    return ["jaster", str(tmp_path / "v")], "missing jnli.json (few-shot examples)"


def prompt_missing(tmp_path: Path) -> tuple[list[str], str]:
    lines = (MTBENCH_JA / "judge_prompts.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if json.loads(line)["name"] != "single-math-v1"]
    (tmp_path / "judge_prompts.jsonl").write_text("\n".join(kept), encoding="utf-8")
    return ["mtbench-prompts", str(tmp_path), "--name", "p"], "missing judge prompt(s) single-math-v1"


@pytest.mark.parametrize(
    "make",
    [
        broken_question,
        broken_jaster,
        missing_train,
        prompt_missing,
        lambda tmp: (["mtbench-prompts", str(tmp), "--name", "p"], "judge prompt file not found in"),
        lambda tmp: (["mtbench-references", str(MTBENCH_JA / "nowhere"), "--name", "r"], "gpt-4.jsonl"),
        lambda tmp: (["jaster", str(tmp)], "no evaluation/test folder"),
        lambda tmp: (["jaster", str(JASTER), "--alias", "a:b"], "cannot be empty or contain '/' or ':'"),
        lambda tmp: (["jaster", str(JASTER), "--mode", "online"], "--mode online needs a W&B API key"),
    ],
    ids=[
        "one-turn-question",
        "broken-jaster",
        "missing-train",
        "prompt-missing",
        "no-prompts",
        "no-references",
        "no-jaster",
        "alias",
        "online-without-key",
    ],
)
def test_bad_input_is_refused_and_nothing_logged(wandb_dir: Path, tmp_path: Path, make, capsys) -> None:
    argv, message = make(tmp_path)
    assert main([*argv, *COMMON]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    with pytest.raises(OfflineRunError):
        read_offline_run(wandb_dir)


def test_missing_wandb_is_refused(wandb_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)
    assert main(["mtbench-prompts", str(MTBENCH_JA), *COMMON, "--name", "p"]) == 2
    assert 'pip install "nejumi[wandb]"' in capsys.readouterr().err

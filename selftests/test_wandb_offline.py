"""Read back a real offline W&B run (wandb-core writes it in a subprocess: ~1.5 s) without network or wandb.Api()."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("wandb")

from nejumi_plugin.wandb_offline import OfflineRunError, find_run_dir, iter_records, read_offline_run

# wandb.Table infers each column's type from the rows: a column may hold lists, but mixing types across rows (a list
# of str, then of int; or int, then str) raises TypeError unless allow_mixed_types=True. Cells come back as JSON.
JA_ROWS = [["日本語の質問です", "答え", ["はい", "いいえ"], 1], ["q2", None, [], "n/a"]]
JA_COLUMNS = ["質問", "answer", "choices", "score"]
BLOB = "あ" * 25_000  # 75 KB of UTF-8: the run record spans three 32 KiB blocks (FIRST, MIDDLE, LAST chunks)

SCRIPT = """
import sys, wandb
tmp = sys.argv[1]
run = wandb.init(project="p", entity="e", name="n", dir=tmp, settings=wandb.Settings(console="off"),
                 config={"model": {"name": "tiny"}, "k": 1, "blob": %(blob)r})
run.log({"jaster/jnli_output_table": wandb.Table(columns=["a"], data=[[0]]), "score": 0.25})
run.log({"jaster/jnli_output_table": wandb.Table(columns=%(cols)r, data=%(rows)r, allow_mixed_types=True),
         "grp": {"tbl": wandb.Table(columns=["x", "y"], data=[[1, 2.5], [3, 4.0]])}, "score": 0.75})
run.summary["x"] = 0.5
art = wandb.Artifact("run-config", type="config")
with open(tmp + "/config.yaml", "w") as f:
    f.write("model: tiny\\n")
art.add_file(tmp + "/config.yaml")
run.log_artifact(art)
run.finish()
""" % {"blob": BLOB, "cols": JA_COLUMNS, "rows": JA_ROWS}  # noqa: UP031 - the script holds literal braces


@pytest.fixture(scope="module")
def wandb_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``wandb/offline-run-*`` made by a real ``wandb.init`` in offline mode."""
    tmp = tmp_path_factory.mktemp("wandb-offline")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_MODE", "offline")
        mp.setenv("WANDB_SILENT", "true")
        for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
            mp.setenv(var, str(tmp / var.lower()))
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp


def test_reads_config_summary_history_tables_and_artifacts(wandb_tmp: Path) -> None:
    run = read_offline_run(wandb_tmp)
    assert run.path.name.startswith("offline-run-") and run.path.name.endswith(run.run_id)
    assert (run.entity, run.project, run.name) == ("e", "p", "n")
    assert run.config == {"model": {"name": "tiny"}, "k": 1, "blob": BLOB}
    assert [row["score"] for row in run.history] == [0.25, 0.75]
    assert [row["_step"] for row in run.history] == [0, 1]
    assert run.summary["x"] == 0.5 and run.summary["score"] == 0.75
    assert run.summary["jaster/jnli_output_table"]["_type"] == "table-file"
    assert run.table_keys() == ["jaster/jnli_output_table", "grp/tbl"]
    assert run.table("jaster/jnli_output_table") == {"columns": JA_COLUMNS, "data": JA_ROWS}  # the last one logged
    assert run.table("grp/tbl") == {"columns": ["x", "y"], "data": [[1, 2.5], [3, 4.0]]}
    with pytest.raises(KeyError, match=r"'nope'.*jaster/jnli_output_table"):
        run.table("nope")
    config_artifacts = [a for a in run.artifacts if a["type"] == "config"]
    expected = {"name": "run-config", "type": "config", "aliases": ["latest"], "files": ["config.yaml"]}
    assert config_artifacts == [expected]
    assert {a["type"] for a in run.artifacts} == {"config", "run_table"}  # every logged table is an artifact too


def test_find_run_dir(wandb_tmp: Path, tmp_path: Path) -> None:
    run_dir = find_run_dir(wandb_tmp)
    assert run_dir.parent == wandb_tmp / "wandb" and run_dir.name.startswith("offline-run-")
    assert find_run_dir(wandb_tmp / "wandb") == run_dir
    assert find_run_dir(run_dir) == run_dir
    copy = shutil.copytree(wandb_tmp / "wandb", tmp_path / "wandb", symlinks=True)
    (copy / "latest-run").unlink()
    assert find_run_dir(tmp_path) == copy / run_dir.name  # no latest-run: the newest offline-run-*
    with pytest.raises(OfflineRunError, match="no W&B run under"):
        find_run_dir(tmp_path / "wandb" / "empty")


def test_damaged_log_gives_file_and_offset(wandb_tmp: Path, tmp_path: Path) -> None:
    log = next(find_run_dir(wandb_tmp).glob("run-*.wandb"))
    data = log.read_bytes()
    assert len(list(iter_records(log))) > 10
    cases = {
        "truncated.wandb": (data[: len(data) - 5], "truncated"),
        "inside-multichunk.wandb": (data[:40_000], "truncated record"),
        "garbled.wandb": (data[:200] + bytes([data[200] ^ 0xFF]) + data[201:], "checksum mismatch"),
        "header.wandb": (b":W&B\x00\x00\x00" + data[7:], "unsupported header"),
        "not-wandb.wandb": (b"hello world", "no ':W&B' header"),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(OfflineRunError, match=rf"{name}: offset \d+: .*{message}"):
            list(iter_records(bad))


def test_missing_wandb_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb.proto", None)
    with pytest.raises(ImportError, match=r'pip install "nejumi\[wandb\]"'):
        list(iter_records(tmp_path / "x.wandb"))

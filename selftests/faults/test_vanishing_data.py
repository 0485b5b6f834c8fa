"""Class 6 — data that silently vanishes.

A dataset file with an empty `samples` list, or with fewer samples than the run scores, is a data error naming the
file: its item fails, the row is marked incomplete and the run exits non-zero. (It used to drop out of the row,
taking its category and the AVG with it, while the run said "complete" and exited 0.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fault_runs import Runs
from fault_server import FaultServer, serve_faults


def _rewrite(path: Path, keep: int) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["samples"] = data["samples"][:keep]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_an_empty_or_short_dataset_file_is_a_data_error_naming_it(runs: Runs) -> None:
    root = runs.root / "jaster"
    shutil.copytree(runs.jaster_dir.parent, root)
    test = root / "test"
    _rewrite(test / "jnli.json", 0)  # emptied
    _rewrite(root / "dev" / "jamp.json", 1)  # test mode scores 2 dev samples
    server = FaultServer()
    with serve_faults(server) as url:
        config = runs.config(
            url, llm_jp_eval={"dataset_dir": str(test), "dataset_artifact": None, "torch_dtype": "fp32"}
        )
        done = runs.run(config, runs.root / "out")
    assert done.returncode == 1, done.output[-3000:]
    empty = f"{test / 'jnli.json'}: the run scores the first 2 test samples (test mode) but the file has an empty "
    short = f"{root / 'dev' / 'jamp.json'}: the run scores the first 2 dev samples (test mode) but the file has only 1"
    assert f"{empty}samples list; use the complete jaster 1.2.6 file" in done.stdout
    assert f"{short}; use the complete jaster 1.2.6 file" in done.stdout
    assert "FAILED" in done.stdout and "test_jnli.py::test_jnli[jnli-data-error]" in done.stdout
    assert "(INCOMPLETE:" in done.stdout and "(complete)" not in done.stdout
    board = json.loads((runs.root / "out" / "tiny-run" / "leaderboard.json").read_text(encoding="utf-8"))
    assert board["meta"]["complete"] is False and "AVG_jaster_ja_0shot" not in board["columns"]
    broken = [
        json.loads((test / f"{name}.json").read_text(encoding="utf-8"))["instruction"] for name in ("jnli", "jamp")
    ]
    asked = [body["messages"][0]["content"] for body in server.bodies]
    assert not any(instruction in prompt for instruction in broken for prompt in asked)  # neither was asked
    assert len(server.answered) == 14 * 4  # every other dataset was evaluated

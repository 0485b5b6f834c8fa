"""Class 10 — workers that pay twice.

With `pytest -n 2` each benchmark module goes whole to one worker, whatever `--dist` asks (unless it keeps modules
whole itself), through xdist's own scheduler hook: the server answers exactly the requests of a `-n 0` run, once
each, and the row is the same. (With pytest 9.2 and xdist 3.8 the old option rewriting split MT-Bench modules over
both workers, and each generated and judged them.)
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from fault_runs import Runs
from fault_server import FaultServer, serve_faults


def _run(runs: Runs, name: str, *args: str) -> tuple[Counter[str], dict[str, Any]]:
    server = FaultServer()
    with serve_faults(server) as url:
        config = runs.config(url, f"{name}.yaml", mtbench=True, run_mt_bench_en=False)
        done = runs.run(config, runs.root / name, *args)
    assert done.returncode == 0 and "(complete)" in done.stdout, done.output[-3000:]
    board = json.loads((runs.root / name / "tiny-run" / "leaderboard.json").read_text(encoding="utf-8"))
    return server.answered, {"columns": board["columns"], "data": board["data"]}


@pytest.fixture(scope="module")
def baseline(module_runs: Runs) -> tuple[Counter[str], dict[str, Any]]:
    return _run(module_runs, "alone")


@pytest.mark.parametrize("dist", [(), ("--dist", "load"), ("--dist", "loadgroup"), ("--dist", "worksteal")])
def test_two_workers_pay_for_each_request_once_and_give_the_same_row(
    runs: Runs, baseline: tuple[Counter[str], dict[str, Any]], dist: tuple[str, ...]
) -> None:
    (alone, row), (two, row_two) = baseline, _run(runs, "two", "-n", "2", *dist)
    assert two == alone and set(two.values()) <= {1, 2}  # the same requests as -n 0 (a judge asked again: twice)
    assert sum(two.values()) == sum(alone.values()) and row_two == row

"""Class 8 — one truth about completeness.

The terminal summary, `meta.complete`, the last line of `runs.jsonl` and the exit code always agree: a clean run is
complete everywhere and exits 0; a run whose blending or whose W&B sink failed is incomplete everywhere and exits 1,
with the reason said in the summary and kept in the row's meta.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fault_runs import Child, Runs
from fault_server import FaultServer, serve_faults


def _truth(done: Child, run_dir: Path) -> tuple[Any, ...]:
    """(summary says complete, meta.complete, runs.jsonl's complete, its exit, the exit code)."""
    board = json.loads((run_dir / "leaderboard.json").read_text(encoding="utf-8"))
    last = json.loads((run_dir / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    said = "(complete)" in done.stdout if "(complete)" in done.stdout or "(INCOMPLETE" in done.stdout else None
    return said, board["meta"]["complete"], last["complete"], last["exit"], done.returncode


def test_a_clean_run_is_complete_everywhere(runs: Runs) -> None:
    with serve_faults(FaultServer()) as url:
        done = runs.run(runs.config(url), runs.root / "out", "-k", "jnli")
    assert _truth(done, runs.root / "out" / "tiny-run") == (True, True, True, "ok", 0)


def test_a_blend_that_fails_at_the_end_makes_the_run_incomplete_everywhere(runs: Runs) -> None:
    with serve_faults(FaultServer()) as url:
        earlier = runs.run(runs.config(url, "earlier.yaml", run_mt_bench_ja=False), runs.root / "a", "-k", "jnli")
        assert earlier.returncode == 0
        source = runs.root / "a" / "tiny-run"
        (source / "tables" / "jaster_output_table_ja_0shot.json").write_text("{not json", encoding="utf-8")
        done = runs.run(
            runs.config(url, run_llm_jp_eval_ja_0_shot=False, run_llm_jp_eval_ja_few_shots=True),
            runs.root / "out",
            "-k",
            "jnli",
            f"--blend-from={source}@jaster_ja_0_shot",
        )
    run_dir = runs.root / "out" / "tiny-run"
    assert _truth(done, run_dir) == (False, False, False, "tests_failed", 1), done.output[-3000:]
    assert "INCOMPLETE: blending failed:" in done.stdout and "jaster_output_table_ja_0shot.json" in done.stdout
    assert json.loads((run_dir / "leaderboard.json").read_text())["meta"]["problems"][0].startswith("blending failed")


def test_a_failing_wandb_makes_the_run_incomplete_everywhere_and_loses_nothing(runs: Runs) -> None:
    with serve_faults(FaultServer()) as url:
        config = runs.config(url, wandb={"entity": "me", "project": "p", "run_name": "tiny-run", "mode": "offline"})
        done = runs.run(
            config,
            runs.root / "out",
            "-k",
            "jnli",
            "-p",
            "break_wandb",
            env={"WANDB_DIR": str(runs.root / "wandb-home")},
        )
    run_dir = runs.root / "out" / "tiny-run"
    assert _truth(done, run_dir) == (False, False, False, "tests_failed", 1), done.output[-3000:]
    assert "INCOMPLETE: W&B logging failed (ConnectionError: api.wandb.ai unreachable)" in done.stdout
    board = json.loads((run_dir / "leaderboard.json").read_text(encoding="utf-8"))
    assert "jnli_exact_match_jaster_ja_0shot" in board["columns"]  # the row itself was written first: nothing lost
    assert (run_dir / "report.html").is_file() and "4 passed" in done.stdout

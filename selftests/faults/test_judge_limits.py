"""Class 7 — the judge's own limits.

`mtbench.judge.timeout_s` and `mtbench.judge.max_retries` exist and are honoured: against a judge that never
answers, each judgment is tried `max_retries` times, each attempt given up after `timeout_s`, and the items fail
with a message naming the timeout (a hung judge used to wait 600 s × 16 attempts).
"""

from __future__ import annotations

import json

from fault_runs import Runs
from fault_server import FaultServer, serve_faults


def test_a_hung_judge_is_given_up_after_its_timeout_and_retries(runs: Runs) -> None:
    model, judge = FaultServer(), FaultServer(("hang",) * 5)
    with serve_faults(model) as model_url, serve_faults(judge) as judge_url:
        config = runs.config(
            model_url,
            mtbench=True,
            judge={"base_url": judge_url, "timeout_s": 1, "max_retries": 2},
            run_llm_jp_eval_ja_0_shot=False,
        )
        done = runs.run(config, runs.root / "out", "-k", "mtbench")
    assert done.returncode == 1, done.output[-3000:]
    assert len(model.answered) == 16 and set(model.answered.values()) == {1}  # both turns of 8 questions, once
    assert judge.answered == {} and set(judge.attempts.values()) <= {1, 2}  # never more than max_retries attempts
    assert "failed after 2 attempts; last error: APITimeoutError" in done.stdout  # timeout_s fired (the default,
    # 600 s per attempt, would outlast the child's own 600 s limit)
    assert "8 failed" in done.stdout and "(INCOMPLETE:" in done.stdout
    board = json.loads((runs.root / "out" / "tiny-run" / "leaderboard.json").read_text(encoding="utf-8"))
    assert board["meta"]["complete"] is False

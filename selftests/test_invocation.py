"""runs.jsonl: one record per invocation; the row lists the invocations that made calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from nejumi_plugin.invocation import (
    RUNS_LOG,
    ProcessStats,
    append_invocation,
    measuring_invocations,
    read_invocations,
    throughput,
)


def calls(made: int, served: int) -> dict[str, dict[str, int]]:
    return {"model": {"made": made, "served": served, "failed": 0, "output_tokens": 10 * made}}


def test_only_invocations_that_made_calls_measured_the_row(tmp_path: Path) -> None:
    append_invocation(tmp_path, {"replay": False, "calls": calls(3, 0)})
    append_invocation(tmp_path, {"replay": True, "calls": calls(0, 3)})
    with open(tmp_path / RUNS_LOG, "a", encoding="utf-8") as log:
        log.write('{"replay": false, "calls": {"model": {"ma')  # a crash in the middle of a line
    append_invocation(tmp_path, {"replay": False, "calls": calls(1, 3)})
    assert len(read_invocations(tmp_path)) == 3
    assert [r["calls"]["model"]["made"] for r in measuring_invocations(tmp_path)] == [3, 1]
    assert read_invocations(tmp_path / "nowhere") == []


def test_worker_stats_add_up_and_give_rates() -> None:
    total = ProcessStats().add({"calls": calls(2, 1), "phases_s": {"generate": 4.0, "load": 1.0}})
    total.add(ProcessStats(calls(3, 0), {"generate": 1.0, "score": 0.5}))
    assert total.calls["model"] == {"made": 5, "served": 1, "failed": 0, "output_tokens": 50}
    record = throughput(total.calls, total.phases_s, samples=6, wall_s=12.0)
    assert record["phases_s"] == {"load": 1.0, "generate": 5.0, "judge": 0.0, "score": 0.5, "report": 0.0}
    assert record["tokens_per_s"] == 10.0 and record["samples_per_s"] == 0.5
    assert throughput({}, {}, 0, 0.0)["tokens_per_s"] is None


@pytest.mark.parametrize("made", [0, 1])
def test_a_record_is_on_disk_when_append_returns(tmp_path: Path, made: int) -> None:
    append_invocation(tmp_path / "new", {"calls": calls(made, 0)})
    assert (tmp_path / "new" / RUNS_LOG).read_text(encoding="utf-8").endswith("}\n")


def test_finding_the_model_is_load_time_not_score_time() -> None:
    """Converting the embedded model happens inside the first item: it is booked as `load`, not as `score`."""
    from nejumi_plugin.invocation import phase_seconds

    phases = phase_seconds([], items_s=80.0, resolve_s=68.0)
    assert phases["load"] == 68.0 and phases["score"] == 12.0

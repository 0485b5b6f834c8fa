"""A readable summary of the run at the end of the pytest output."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import pytest

from ..aggregate.jaster import JasterTaskTables
from ..aggregate.mtbench import MtbenchTaskTables

_HEADLINE = ("AVG", "NLI", "QA", "RC", "MC", "FA", "MR")


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def _mmlu_mean(scores: dict[str, float]) -> tuple[int, float] | None:
    subjects = [v for k, v in scores.items() if k.startswith("mmlu_en_")]
    return (len(subjects), statistics.mean(subjects)) if subjects else None


def summary_lines(
    tasks: Sequence[JasterTaskTables],
    mtbench: Sequence[MtbenchTaskTables],
    run_dir: str,
    complete: bool,
    counts: dict[str, int],
    judge: str = "",
) -> list[str]:
    """The jaster grid (one column per task), then the MT-Bench grid, then where the results are."""
    state = "complete" if complete else (
        f"INCOMPLETE: {counts['scored']} of {counts['expected']} items scored, {counts['failed']} failed"
    )
    lines = jaster_lines(tasks) + mtbench_lines(mtbench, judge)
    if not lines:
        lines = ["nothing was scored", ""]
    return [*lines, f"results: {run_dir} ({state})"]


def calls_line(calls: Mapping[str, Mapping[str, int]], replay: bool) -> str:
    """How many backend calls this invocation made and how many the CallStore served (the rest of the run's
    history is in `runs.jsonl`)."""
    parts = [
        f"{role} {c['made']} made, {c['served']} from the store" + (f", {c['failed']} failed" if c["failed"] else "")
        for role, c in calls.items()
    ]
    return "calls: " + ("; ".join(parts) or "none") + (" (replay)" if replay else "")


def jaster_lines(tasks: Sequence[JasterTaskTables]) -> list[str]:
    """Headline scores, then each Japanese dataset, then the MMLU subjects' mean."""
    if not tasks:
        return []
    keys = [k for k in _HEADLINE if any(k in t.scores for t in tasks)]
    keys += sorted({k for t in tasks for k in t.scores if k not in _HEADLINE and not k.startswith("mmlu_en_")})
    rows = [[k, *(f"{t.scores[k]:.4f}" if k in t.scores else "" for t in tasks)] for k in keys]
    mmlu = [_mmlu_mean(t.scores) for t in tasks]
    if any(mmlu):
        n = max(m[0] for m in mmlu if m)
        rows.append([f"mmlu_en ({n} subjects, mean)", *(f"{m[1]:.4f}" if m else "" for m in mmlu)])
    return [*_grid(["score", *(t.setting.task for t in tasks)], rows), ""]


def mtbench_lines(tasks: Sequence[MtbenchTaskTables], judge: str) -> list[str]:
    """Neo's per-category means and AVG (1-10), FastChat's turn means, and what the judge was."""
    if not tasks:
        return []
    keys = ["AVG", *sorted({k for t in tasks for k in t.scores if k != "AVG"})]
    rows = [[k, *(_number(t.scores.get(k)) for t in tasks)] for k in keys]
    for name in ("turn1", "turn2", "average"):
        rows.append([f"show_result {name}", *(_number(t.show_result.get(name)) for t in tasks)])
    rows.append(["parse failures (-1)", *(str(t.parse_failures) for t in tasks)])
    lines = [*_grid(["score", *(t.task for t in tasks)], rows), f"judge: {judge}"]
    return [*lines, ""]


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:.4f}"


def live_progress(config: pytest.Config) -> Callable[[int, int], None]:
    """Report generation progress on the terminal, through pytest's output capture."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 10:
            return
        last[0] = now
        capman = config.pluginmanager.getplugin("capturemanager")
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if capman is None or reporter is None:
            return
        with capman.global_and_fixture_disabled():
            reporter.write_line(f"nejumi: generated {done}/{total}")

    return report

"""A readable summary of the run at the end of the pytest output."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import pytest

from ..aggregate.jaster import JasterTaskTables

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
    tasks: Sequence[JasterTaskTables], run_dir: str, complete: bool, counts: dict[str, int]
) -> list[str]:
    """One column per task: headline scores, then each Japanese dataset, then the MMLU subjects' mean."""
    state = "complete" if complete else (
        f"INCOMPLETE: {counts['scored']} of {counts['expected']} items scored, {counts['failed']} failed"
    )
    if not tasks:
        return ["no jaster task was scored", f"results: {run_dir} ({state})"]
    keys = [k for k in _HEADLINE if any(k in t.scores for t in tasks)]
    keys += sorted({k for t in tasks for k in t.scores if k not in _HEADLINE and not k.startswith("mmlu_en_")})
    rows = [[k, *(f"{t.scores[k]:.4f}" if k in t.scores else "" for t in tasks)] for k in keys]
    mmlu = [_mmlu_mean(t.scores) for t in tasks]
    if any(mmlu):
        n = max(m[0] for m in mmlu if m)
        rows.append([f"mmlu_en ({n} subjects, mean)", *(f"{m[1]:.4f}" if m else "" for m in mmlu)])
    lines = _grid(["score", *(t.setting.task for t in tasks)], rows)
    return [*lines, "", f"results: {run_dir} ({state})"]


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

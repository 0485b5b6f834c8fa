"""A readable summary of the run at the end of the pytest output (each family writes its own score grid)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import pytest


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def state_line(run_dir: str, complete: bool, counts: Mapping[str, int]) -> str:
    """Where the results are, and whether the row is complete."""
    state = (
        "complete"
        if complete
        else (f"INCOMPLETE: {counts['scored']} of {counts['expected']} items scored, {counts['failed']} failed")
    )
    return f"results: {run_dir} ({state})"


def calls_line(calls: Mapping[str, Mapping[str, int]], replay: bool) -> str:
    """How many backend calls this invocation made and how many the CallStore served (the rest of the run's
    history is in `runs.jsonl`)."""
    parts = [
        f"{role} {c['made']} made, {c['served']} from the store" + (f", {c['failed']} failed" if c["failed"] else "")
        for role, c in calls.items()
    ]
    return "calls: " + ("; ".join(parts) or "none") + (" (replay)" if replay else "")


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

"""A readable summary of the run at the end of the pytest output (each family writes its own score grid)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest


def grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def state_line(run_dir: str, complete: bool, counts: Mapping[str, int], problems: Sequence[str] = ()) -> str:
    """Where the results are, and whether the row is complete (and, when every item was scored, what else is
    missing: a blend or a sink that failed)."""
    scored, expected, failed = counts["scored"], counts["expected"], counts["failed"]
    if complete:
        state = "complete"
    elif problems and scored == expected and not failed:
        state = f"INCOMPLETE: all {scored} items scored, but " + "; ".join(problems)
    else:
        state = f"INCOMPLETE: {scored} of {expected} items scored, {failed} failed"
    return f"results: {run_dir} ({state})"


def calls_line(calls: Mapping[str, Mapping[str, int]], replay: bool) -> str:
    """How many backend calls this invocation made and how many the CallStore served (the rest of the run's
    history is in `runs.jsonl`)."""
    parts = [
        f"{role} {c['made']} made, {c['served']} from the store" + (f", {c['failed']} failed" if c["failed"] else "")
        for role, c in calls.items()
    ]
    return "calls: " + ("; ".join(parts) or "none") + (" (replay)" if replay else "")


def live_progress(config: pytest.Config) -> Callable[[str, int, int], None] | None:
    """The live display of a run's generation phases; None under `-q`."""
    return None if config.get_verbosity() < 0 else PhaseProgress(config)


class PhaseProgress:
    """One live line per phase (`jaster answers`, `MT-Bench judgments`): done/total, rate and time left, redrawn
    in place by tqdm on the terminal pytest writes to, outside its output capture; the line stays when the phase
    ends, and pytest's results go on on the next line. Output that is not a terminal (a CI log) gets none: the
    summary says what was done."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.bar: Any = None
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if reporter is None or not getattr(reporter, "isatty", False):
            return
        capman = self.config.pluginmanager.getplugin("capturemanager")
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            if self.bar is None or phase != self.phase or total != self.bar.total:
                self._start(reporter, phase, total)
            self.bar.update(done - self.bar.n)
            if done >= total:
                self.bar.close()
                self.bar = None

    def _start(self, reporter: Any, phase: str, total: int) -> None:
        from tqdm import tqdm

        if self.bar is not None:
            self.bar.close()
        if getattr(reporter._tw, "width_of_current_line", 1):  # after the module's name: the bar on a line below
            reporter.line("")  # (not `write_line`, which would make pytest print the module's name again)
        self.phase = phase
        stream = getattr(reporter._tw, "_file", sys.stdout)  # where pytest's own lines go
        self.bar = tqdm(total=total, desc=f"nejumi {phase}", unit=" req", file=stream, dynamic_ncols=True, leave=True)

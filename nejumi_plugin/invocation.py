"""What one pytest invocation did to a run directory, kept apart from the row it measured.

`leaderboard.json` holds only what the stored calls determine, so `--replay` (or a rerun that finds every call
stored) rebuilds it byte for byte. Each invocation — the first run, a resumed one, a replay — appends one line to
`<run_dir>/runs.jsonl`: its start and end, how many backend calls it made and how many the CallStore served, its
items and its exit. The row's meta lists the invocations that measured it: those that made at least one call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .engine import Engine

RUNS_LOG = "runs.jsonl"
COUNTS = ("made", "served", "failed", "output_tokens")

CallCounts = dict[str, dict[str, int]]  # role ("model", "judge") -> {"made", "served", "failed", "output_tokens"}


def call_counts(engines: Iterable[tuple[str, Engine]]) -> CallCounts:
    """Calls per role over distinct engines (the jaster and MT-Bench answers may share one)."""
    counts: CallCounts = {}
    seen: set[int] = set()
    for role, engine in engines:
        if id(engine) in seen:
            continue
        seen.add(id(engine))
        s = engine.stats
        add_counts(counts, {role: {"made": s.generated, "served": s.cached, "failed": s.failed,
                                   "output_tokens": s.output_tokens}})  # fmt: skip
    return counts


def add_counts(total: CallCounts, more: Mapping[str, Mapping[str, int]]) -> CallCounts:
    """Add `more` into `total` (a worker's counts into the controller's) and return `total`."""
    for role, counts in more.items():
        mine = total.setdefault(role, dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            mine[name] += int(counts.get(name, 0))
    return total


def calls_made(record: Mapping[str, Any]) -> int:
    return sum(counts.get("made", 0) for counts in record.get("calls", {}).values())


def append_invocation(run_dir: Path, record: Mapping[str, Any]) -> None:
    """One line per invocation, flushed to disk before the row is written."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / RUNS_LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        log.flush()
        os.fsync(log.fileno())


def read_invocations(run_dir: Path) -> list[dict[str, Any]]:
    """Every readable line of `runs.jsonl` (a line cut short by a crash is skipped)."""
    path = run_dir / RUNS_LOG
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def measuring_invocations(run_dir: Path) -> list[dict[str, Any]]:
    """The invocations whose calls the row rests on: those that asked a backend at least once."""
    return [record for record in read_invocations(run_dir) if calls_made(record) > 0]

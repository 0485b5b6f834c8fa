"""What one pytest invocation did to a run directory, kept apart from the row it measured.

`leaderboard.json` holds only what the stored calls determine, so `--replay` (or a rerun that finds every call
stored) rebuilds it byte for byte. Each invocation — the first run, a resumed one, a replay — appends one line to
`<run_dir>/runs.jsonl`: its start and end, how many backend calls it made and how many the CallStore served, its
items and its exit. The row's meta lists the invocations that measured it: those that made at least one call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine

RUNS_LOG = "runs.jsonl"
COUNTS = ("made", "served", "failed", "output_tokens")
PHASES = ("load", "generate", "judge", "score", "report")
GENERATE_PARTS = ("prefill", "decode")  # of `generate`, a local model's (recorded apart: `phases_s` adds up)

CallCounts = dict[str, dict[str, int]]  # role ("model", "judge") -> {"made", "served", "failed", "output_tokens"}


@dataclass
class ProcessStats:
    """What one process (the only one, or an xdist worker) did: its calls and its seconds per phase."""

    calls: CallCounts = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)

    def add(self, other: ProcessStats | Mapping[str, Any]) -> ProcessStats:
        """Add another process's stats (a worker's, sent as a plain dict) into these."""
        more = other if isinstance(other, ProcessStats) else ProcessStats(**other)
        add_counts(self.calls, more.calls)
        add_phases(self.phases_s, more.phases_s)
        return self


def call_counts(engines: Iterable[tuple[str, Engine]]) -> CallCounts:
    """Calls per role over distinct engines (the jaster and MT-Bench answers may share one)."""
    counts: CallCounts = {}
    for role, engine in _distinct(engines):
        s = engine.stats
        add_counts(
            counts,
            {role: {"made": s.generated, "served": s.cached, "failed": s.failed, "output_tokens": s.output_tokens}},
        )
    return counts


def add_counts(total: CallCounts, more: Mapping[str, Mapping[str, int]]) -> CallCounts:
    """Add `more` into `total` (a worker's counts into the controller's) and return `total`."""
    for role, counts in more.items():
        mine = total.setdefault(role, dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            mine[name] += int(counts.get(name, 0))
    return total


def phase_seconds(engines: Iterable[tuple[str, Engine]], items_s: float, resolve_s: float = 0.0) -> dict[str, float]:
    """Where one process's time went: loading models (finding them too: `resolve_s`, e.g. converting the embedded
    model), generating answers (prefill and decode apart, for a local model), judging, and scoring (the items' time
    that was not spent on those)."""
    phases = dict.fromkeys(PHASES + GENERATE_PARTS, 0.0)
    phases["load"] = resolve_s
    waited = resolve_s
    for role, engine in _distinct(engines):
        s = engine.stats
        phases["load"] += s.load_s
        phases["judge" if role == "judge" else "generate"] += s.seconds
        if role != "judge":
            phases["prefill"] += s.prefill_s
            phases["decode"] += s.decode_s
        waited += s.load_s + s.seconds
    phases["score"] = max(0.0, items_s - waited)
    return phases


def add_phases(total: dict[str, float], more: Mapping[str, float]) -> dict[str, float]:
    for name in PHASES + GENERATE_PARTS:
        total[name] = total.get(name, 0.0) + float(more.get(name, 0.0))
    return total


def throughput(calls: CallCounts, phases: Mapping[str, float], samples: int, wall_s: float) -> dict[str, Any]:
    """The invocation's throughput record: tokens the evaluated model generated, samples scored, seconds per
    phase (summed over xdist workers), how much of `generate` a local model spent in prefill and in decoding,
    and rates."""
    tokens = calls.get("model", {}).get("output_tokens", 0)
    generate = phases.get("generate", 0.0)
    return {
        "generated_tokens": tokens,
        "samples": samples,
        "wall_s": round(wall_s, 3),
        "phases_s": {name: round(phases.get(name, 0.0), 3) for name in PHASES},
        "generate_parts_s": {name: round(phases.get(name, 0.0), 3) for name in GENERATE_PARTS},
        "tokens_per_s": round(tokens / generate, 2) if generate > 0 else None,
        "samples_per_s": round(samples / wall_s, 3) if wall_s > 0 else None,
    }


def _distinct(engines: Iterable[tuple[str, Engine]]) -> Iterator[tuple[str, Engine]]:
    seen: set[int] = set()
    for role, engine in engines:
        if id(engine) not in seen:
            seen.add(id(engine))
            yield role, engine


def calls_made(record: Mapping[str, Any]) -> int:
    return sum(counts.get("made", 0) for counts in record.get("calls", {}).values())


def append_invocation(run_dir: Path, record: Mapping[str, Any]) -> None:
    """One line per invocation, flushed to disk before the row is written (after a line cut short by a crash,
    on a line of its own)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / RUNS_LOG
    with open(path, "a+b") as log:  # appends wherever it reads
        if log.seek(0, os.SEEK_END) > 0:
            log.seek(-1, os.SEEK_END)
            if log.read(1) != b"\n":
                log.write(b"\n")
        log.write((_line(record) + "\n").encode("utf-8"))
        log.flush()
        os.fsync(log.fileno())


def _line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


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


def measuring_invocations(run_dir: Path, current: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The invocations whose calls the row rests on: those that asked a backend at least once (the earlier ones from
    `runs.jsonl`, then `current`, this invocation's record, which is appended once its outcome is final)."""
    now = [json.loads(_line(current))] if current is not None else []  # as it will read back from runs.jsonl
    records = [*read_invocations(run_dir), *now]
    return [record for record in records if calls_made(record) > 0]

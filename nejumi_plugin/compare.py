"""Compare two run directories: why did this number move?

For every score of the two leaderboard rows: A, B, B - A, and a paired bootstrap over the samples both runs scored
(each family's units: jaster's samples by dataset and id; MT-Bench's questions, both turns together). Each
replicate draws the same resample for A and B (`aggregate.intervals.resample_indices`), scores both the way the
leaderboard does (`Family.replicates`) and takes B - A; the interval is the percentile interval of those
differences d*, and the two-sided p-value inverts it, `min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (B + 1))`:
p falls below 1 - level when the interval excludes 0 (1.0 when nothing changed). Then every sample whose own score
changed, with both predictions: each sample's own number (`Sample.value`: jaster's per-sample metric, jsts the
parsed number its correlation sees; MT-Bench's rating per (question, turn), -1 being an unreadable judgment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .aggregate.intervals import DEFAULT_B, DEFAULT_LEVEL, DEFAULT_SEED, percentile_interval
from .aggregate.samples import read_leaderboard, read_tables
from .family import Family, Sample, Task


@dataclass(frozen=True)
class ScoreDiff:
    """One leaderboard column in both runs, with the paired bootstrap of B - A on their shared samples."""

    column: str
    a: float | None
    b: float | None
    low: float | None = None  # interval of B - A
    high: float | None = None
    p_value: float | None = None

    @property
    def delta(self) -> float | None:
        return self.b - self.a if isinstance(self.a, (int, float)) and isinstance(self.b, (int, float)) else None


@dataclass(frozen=True)
class ChangedSample:
    """A sample both runs scored whose own score differs."""

    task: str  # `jaster_ja_0shot`, `mtbench_en`
    group: str  # dataset (jaster) or category (MT-Bench)
    key: str  # sample id, or `q<question_id> turn <turn>`
    metric: str  # what `score_a` / `score_b` are
    score_a: float | None
    score_b: float | None
    pred_a: str
    pred_b: str
    reference: str  # jaster: the gold answer; MT-Bench: the question
    reference_label: str = "gold"  # what `reference` is, in words (its task's)


@dataclass
class Comparison:
    run_a: Path
    run_b: Path
    models: tuple[str, str]
    diffs: list[ScoreDiff]
    changed: list[ChangedSample]
    shared: dict[str, int] = field(default_factory=dict)  # task -> samples (questions) scored by both
    units: dict[str, str] = field(default_factory=dict)  # task -> what its `shared` counts, in words
    only: dict[str, tuple[int, int]] = field(default_factory=dict)  # task -> (only in A, only in B)
    b: int = DEFAULT_B
    seed: int = DEFAULT_SEED
    level: float = DEFAULT_LEVEL


def _p_value(replicates: np.ndarray) -> float:
    """Two-sided percentile-bootstrap p-value of "no difference" (the inversion of the percentile interval)."""
    reps = replicates[~np.isnan(replicates)]
    tail = min(1 + np.sum(reps <= 0), 1 + np.sum(reps >= 0)) / (len(reps) + 1)
    return float(min(1.0, 2 * tail))


def _paired(
    a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], task: Task, level: float
) -> dict[str, tuple[float, float, float]]:
    """column -> (low, high, p) of B - A from replicates of both runs drawn with the same resamples."""
    out = {}
    for key in sorted(set(a) & set(b)):
        diff = b[key] - a[key]
        if (interval := percentile_interval(diff, level)) is not None:
            out[task.column(key)] = (interval["low"], interval["high"], _p_value(diff))
    return out


def _compare_task(
    family: Family,
    task: Task,
    tables_a: Mapping[str, Any],
    tables_b: Mapping[str, Any],
    b: int,
    seed: int,
    level: float,
    cmp: Comparison,
) -> dict[str, tuple[float, float, float]]:
    """The paired bootstrap of one task over the units both runs have (B's samples grouped as A's), and the samples
    whose own score changed."""
    samples_a, samples_b = family.samples(task, tables_a), family.samples(task, tables_b)
    units_a, units_b = {s.unit: s.group for s in samples_a}, {s.unit for s in samples_b}
    shared = set(units_a) & units_b
    cmp.shared[task.name] = len(shared)
    cmp.units[task.name] = task.units
    cmp.only[task.name] = (len(set(units_a) - units_b), len(units_b - set(units_a)))
    shared_a = [s for s in samples_a if s.unit in shared]
    shared_b = [replace(s, group=units_a[s.unit]) for s in samples_b if s.unit in shared]
    reps_a, reps_b = (family.replicates(task, picked, b=b, seed=seed) for picked in (shared_a, shared_b))
    in_b: dict[tuple[str, str], Sample] = {(s.unit, s.key): s for s in shared_b}
    for sa in shared_a:
        sb = in_b.get((sa.unit, sa.key))
        if sb is not None and sa.value != sb.value:
            cmp.changed.append(
                ChangedSample(
                    task.name,
                    sa.group,
                    sa.key,
                    sa.measure,
                    sa.value,
                    sb.value,
                    sa.prediction,
                    sb.prediction,
                    sa.reference,
                    task.reference_label,
                )
            )
    return _paired(reps_a, reps_b, task, level)


def compare_runs(
    run_a: Path,
    run_b: Path,
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
    families: Sequence[Family] | None = None,
) -> Comparison:
    """Score differences (B - A) with paired bootstrap intervals and p-values, and the samples whose score changed,
    for every task both runs have (of `families`; default: the installed ones).

    Raises FileNotFoundError / ValueError naming the folder or file when a run directory is not a finished run."""
    from .registry import installed_families

    board_a, board_b = read_leaderboard(Path(run_a)), read_leaderboard(Path(run_b))
    tables_a, tables_b = read_tables(Path(run_a)), read_tables(Path(run_b))
    row_a = dict(zip(board_a["columns"], board_a["data"][0]))
    row_b = dict(zip(board_b["columns"], board_b["data"][0]))
    cmp = Comparison(
        Path(run_a),
        Path(run_b),
        (str(row_a.get("model_name")), str(row_b.get("model_name"))),
        [],
        [],
        b=b,
        seed=seed,
        level=level,
    )
    tests: dict[str, tuple[float, float, float]] = {}
    for family in installed_families() if families is None else families:
        names_b = {task.name for task in family.found(tables_b)}
        for task in family.found(tables_a):
            if task.name in names_b:
                tests.update(_compare_task(family, task, tables_a, tables_b, b, seed, level, cmp))
    columns = [c for c in board_a["columns"] if c != "model_name"]
    columns += [c for c in board_b["columns"] if c != "model_name" and c not in row_a]
    for column in columns:
        low, high, p = tests.get(column, (None, None, None))
        cmp.diffs.append(ScoreDiff(column, _number(row_a.get(column)), _number(row_b.get(column)), low, high, p))
    return cmp


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _clip(text: str, limit: int | None) -> str:
    text = text.replace("\n", " ⏎ ")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_comparison(cmp: Comparison, *, max_chars: int | None = 200, max_samples: int | None = None) -> str:
    """The comparison as plain text: the score table, then the changed samples (texts clipped to `max_chars`)."""
    pct = f"{cmp.level:.0%}"
    lines = [
        f"A: {cmp.run_a} ({cmp.models[0]})",
        f"B: {cmp.run_b} ({cmp.models[1]})",
        f"paired bootstrap over the samples both runs scored: {cmp.b} resamples, seed {cmp.seed}; "
        f"{pct} interval of B-A; p two-sided",
        "",
    ]
    for task, n in cmp.shared.items():
        only_a, only_b = cmp.only[task]
        lines.append(
            f"{task}: {n} shared {cmp.units.get(task, 'samples')}"
            + (f" ({only_a} only in A, {only_b} only in B)" if only_a or only_b else "")
        )
    header = ("score", "A", "B", "B-A", f"{pct} interval of B-A", "p")
    body = [
        (
            d.column,
            _fmt(d.a),
            _fmt(d.b),
            _fmt(d.delta, True),
            f"[{_fmt(d.low, True)}, {_fmt(d.high, True)}]" if d.low is not None else "-",
            "-" if d.p_value is None else f"{d.p_value:.3f}" + (" *" if d.p_value < 1 - cmp.level else ""),
        )
        for d in cmp.diffs
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines.append("")
    for r in [header, *body]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    shown = cmp.changed if max_samples is None else cmp.changed[:max_samples]
    lines += [
        "",
        f"samples whose score changed: {len(cmp.changed)}"
        + (f" (first {len(shown)} shown)" if len(shown) < len(cmp.changed) else ""),
    ]
    for s in shown:
        a, b = (("unreadable" if v == -1 and s.metric == "rating" else _fmt(v)) for v in (s.score_a, s.score_b))
        lines.append(f"- {s.task} {s.group} {s.key}: {s.metric} {a} -> {b}")
        lines += [
            f"    {s.reference_label}: {_clip(s.reference, max_chars)}",
            f"    A: {_clip(s.pred_a, max_chars)}",
            f"    B: {_clip(s.pred_b, max_chars)}",
        ]
    return "\n".join(lines)

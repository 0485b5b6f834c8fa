"""Compare two run directories: why did this number move?

For every score of the two leaderboard rows: A, B, B - A, and a paired bootstrap over the samples both runs scored
(jaster: matched by task, dataset and id; MT-Bench: by language and question_id, both turns together). Each
replicate draws the same resample for A and B (`aggregate.intervals.resample_indices`), scores both the way the
leaderboard does and takes B - A; the interval is the percentile interval of those differences d*, and the
two-sided p-value inverts it, `min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (B + 1))`: p falls below 1 - level
when the interval excludes 0 (1.0 when nothing changed). Then every sample whose own score changed, with
both predictions: jaster per-sample scores as `aggregate.samples` defines them (jsts: the parsed number the
correlation sees), MT-Bench judge ratings per (question, turn), -1 being an unreadable judgment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .aggregate.intervals import (
    DEFAULT_B,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    jaster_replicates,
    mtbench_replicates,
    percentile_interval,
    questions_by_category,
    resample_indices,
)
from .aggregate.samples import (
    JasterTask,
    Row,
    jaster_tasks,
    mtbench_tasks,
    read_leaderboard,
    read_tables,
    sample_metric,
    sample_score,
)
from .metrics import parse_float


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


@dataclass
class Comparison:
    run_a: Path
    run_b: Path
    models: tuple[str, str]
    diffs: list[ScoreDiff]
    changed: list[ChangedSample]
    shared: dict[str, int] = field(default_factory=dict)  # task -> samples (questions) scored by both
    only: dict[str, tuple[int, int]] = field(default_factory=dict)  # task -> (only in A, only in B)
    b: int = DEFAULT_B
    seed: int = DEFAULT_SEED
    level: float = DEFAULT_LEVEL


def _p_value(replicates: np.ndarray) -> float:
    """Two-sided percentile-bootstrap p-value of "no difference" (the inversion of the percentile interval)."""
    reps = replicates[~np.isnan(replicates)]
    tail = min(1 + np.sum(reps <= 0), 1 + np.sum(reps >= 0)) / (len(reps) + 1)
    return float(min(1.0, 2 * tail))


def _paired(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], suffix: str,
            level: float) -> dict[str, tuple[float, float, float]]:  # fmt: skip
    """column -> (low, high, p) of B - A from replicates of both runs drawn with the same resamples."""
    out = {}
    for key in sorted(set(a) & set(b)):
        diff = b[key] - a[key]
        if (interval := percentile_interval(diff, level)) is not None:
            out[f"{key}_{suffix}"] = (interval["low"], interval["high"], _p_value(diff))
    return out


def _jaster_value(metric: str | None, row: Row) -> float | None:
    return sample_score(metric, row["pred"], row["true"]) if metric else parse_float(str(row["pred"]))


def _compare_jaster(ta: JasterTask, tb: JasterTask, b: int, seed: int, level: float, cmp: Comparison) -> dict:
    rows_a = {(r["target_dataset"], r["id"]): r for r in ta.rows}
    rows_b = {(r["target_dataset"], r["id"]): r for r in tb.rows}
    keys = sorted(set(rows_a) & set(rows_b))
    task = f"jaster_{ta.suffix}"
    cmp.shared[task] = len(keys)
    cmp.only[task] = (len(set(rows_a) - set(rows_b)), len(set(rows_b) - set(rows_a)))
    shared_a, shared_b = [rows_a[k] for k in keys], [rows_b[k] for k in keys]
    sizes = Counter(d for d, _ in keys)
    draws = {d: resample_indices(d, n, b, seed) for d, n in sizes.items()}
    reps_a, reps_b = (jaster_replicates(rows, ta.language, ta.metrics, indices=draws) for rows in (shared_a, shared_b))
    for ra, rb in zip(shared_a, shared_b):
        metric = sample_metric(ta.metrics.get(ra["target_dataset"], ()))
        va, vb = _jaster_value(metric, ra), _jaster_value(metric, rb)
        if va != vb:
            cmp.changed.append(ChangedSample(task, ra["target_dataset"], str(ra["id"]), metric or "parsed value",
                                             va, vb, str(ra["pred"]), str(rb["pred"]), str(ra["true"])))  # fmt: skip
    return _paired(reps_a, reps_b, f"jaster_{ta.suffix}", level)


def _ratings(rows: Sequence[Row]) -> dict[tuple[int, int], tuple[float, Row]]:
    """(question, turn) -> (the cell's rating: mean of readable ratings, -1 if none; its first row)."""
    cells: dict[tuple[int, int], list[Row]] = {}
    for row in rows:
        cells.setdefault((int(row["question_id"]), int(row["turn"])), []).append(row)
    out = {}
    for key, group in cells.items():
        scores = [float(r["score"]) for r in group if r["score"] != -1]
        out[key] = (float(np.mean(scores)) if scores else -1.0, group[0])
    return out


def _compare_mtbench(lang: str, rows_a: Sequence[Row], rows_b: Sequence[Row], b: int, seed: int, level: float,
                     cmp: Comparison) -> dict:  # fmt: skip
    qa, qb = {int(r["question_id"]) for r in rows_a}, {int(r["question_id"]) for r in rows_b}
    shared = qa & qb
    task = f"mtbench_{lang}"
    cmp.shared[task], cmp.only[task] = len(shared), (len(qa - qb), len(qb - qa))
    sa = [r for r in rows_a if int(r["question_id"]) in shared]
    category_of = {int(r["question_id"]): r["category"] for r in sa}
    sb = [{**r, "category": category_of[int(r["question_id"])]} for r in rows_b if int(r["question_id"]) in shared]
    groups = questions_by_category(sa)
    draws = {c: resample_indices(f"mtbench:{c}", len(q), b, seed) for c, q in groups.items()}
    reps_a, reps_b = (mtbench_replicates(rows, indices=draws) for rows in (sa, sb))
    cells_a, cells_b = _ratings(sa), _ratings(sb)
    for key in sorted(set(cells_a) & set(cells_b)):
        (va, ra), (vb, rb) = cells_a[key], cells_b[key]
        if va != vb:
            cmp.changed.append(ChangedSample(task, str(ra["category"]), f"q{key[0]} turn {key[1]}", "rating", va, vb,
                                             str(ra.get("answer", "")), str(rb.get("answer", "")),
                                             str(ra.get("question", ""))))  # fmt: skip
    return _paired(reps_a, reps_b, f"MTbench_{lang}", level)


def compare_runs(
    run_a: Path, run_b: Path, *, b: int = DEFAULT_B, seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL
) -> Comparison:
    """Score differences (B - A) with paired bootstrap intervals and p-values, and the samples whose score changed.

    Raises FileNotFoundError / ValueError naming the folder or file when a run directory is not a finished run."""
    board_a, board_b = read_leaderboard(Path(run_a)), read_leaderboard(Path(run_b))
    tables_a, tables_b = read_tables(Path(run_a)), read_tables(Path(run_b))
    row_a = dict(zip(board_a["columns"], board_a["data"][0]))
    row_b = dict(zip(board_b["columns"], board_b["data"][0]))
    cmp = Comparison(Path(run_a), Path(run_b), (str(row_a.get("model_name")), str(row_b.get("model_name"))), [], [],
                     b=b, seed=seed, level=level)  # fmt: skip
    tests: dict[str, tuple[float, float, float]] = {}
    jaster_b = jaster_tasks(tables_b)
    for suffix, task_a in jaster_tasks(tables_a).items():
        if suffix in jaster_b:
            tests.update(_compare_jaster(task_a, jaster_b[suffix], b, seed, level, cmp))
    mt_b = mtbench_tasks(tables_b)
    for lang, rows in mtbench_tasks(tables_a).items():
        if lang in mt_b:
            tests.update(_compare_mtbench(lang, rows, mt_b[lang], b, seed, level, cmp))
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
    lines = [f"A: {cmp.run_a} ({cmp.models[0]})", f"B: {cmp.run_b} ({cmp.models[1]})",
             f"paired bootstrap over the samples both runs scored: {cmp.b} resamples, seed {cmp.seed}; "
             f"{pct} interval of B-A; p two-sided", ""]  # fmt: skip
    for task, n in cmp.shared.items():
        only_a, only_b = cmp.only[task]
        lines.append(f"{task}: {n} shared {'questions' if task.startswith('mtbench') else 'samples'}"
                     + (f" ({only_a} only in A, {only_b} only in B)" if only_a or only_b else ""))  # fmt: skip
    header = ("score", "A", "B", "B-A", f"{pct} interval of B-A", "p")
    body = [(d.column, _fmt(d.a), _fmt(d.b), _fmt(d.delta, True),
             f"[{_fmt(d.low, True)}, {_fmt(d.high, True)}]" if d.low is not None else "-",
             "-" if d.p_value is None else f"{d.p_value:.3f}" + (" *" if d.p_value < 1 - cmp.level else ""))
            for d in cmp.diffs]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines.append("")
    for r in [header, *body]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    shown = cmp.changed if max_samples is None else cmp.changed[:max_samples]
    lines += ["", f"samples whose score changed: {len(cmp.changed)}"
              + (f" (first {len(shown)} shown)" if len(shown) < len(cmp.changed) else "")]  # fmt: skip
    for s in shown:
        a, b = (("unreadable" if v == -1 and s.metric == "rating" else _fmt(v)) for v in (s.score_a, s.score_b))
        lines.append(f"- {s.task} {s.group} {s.key}: {s.metric} {a} -> {b}")
        label = "question" if s.task.startswith("mtbench") else "gold"
        lines += [f"    {label}: {_clip(s.reference, max_chars)}", f"    A: {_clip(s.pred_a, max_chars)}",
                  f"    B: {_clip(s.pred_b, max_chars)}"]  # fmt: skip
    return "\n".join(lines)

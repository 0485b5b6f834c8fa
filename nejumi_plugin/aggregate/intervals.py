"""95 % bootstrap intervals for every score of a run's leaderboard row (issue: "numbers with error bars").

Each replicate recomputes a score exactly the way the leaderboard does, on a resample drawn with replacement from
the samples that score was computed on:

* jaster: samples are resampled within each dataset (test rows only). Mean metrics (exact_match, char_f1, set_f1)
  average the per-sample scores of the replicate; pearson/spearman are recomputed on the resampled pairs (NaN -> 0.0,
  as `metrics.py`); any other metric calls `metrics.score_dataset` once per replicate. Category scores and AVG take
  replicate b of every dataset and apply Neo's formula (`aggregate.jaster.summary_scores`).
* MT-Bench: questions are resampled within each category (both turns of a question travel together); -1 ratings
  are left out and duplicated (question, turn) rows averaged first, as `aggregate.mtbench.category_scores`; a
  category is the mean of its cells and AVG the mean of the categories a replicate has.

Draws come from `numpy.random.default_rng([seed, crc32(name)])` per dataset (or MT-Bench category), so a dataset's
interval does not depend on what else the run holds (a `-k jnli` run gives the full run's jnli interval), and
0-shot / few-shot scores of one dataset are resampled with the same draws. Intervals are percentile intervals.
Results are keyed by the run's leaderboard column names (`jnli_exact_match_jaster_ja_0shot`, `AVG_MTbench_en`).
"""

from __future__ import annotations

import warnings
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import parse_float, score_dataset
from ..tasks.jaster.datasets import ALL_EN, ALL_JA, CATEGORIES
from .samples import (
    CORRELATION_METRICS,
    MEAN_METRICS,
    Row,
    Table,
    default_metrics,
    jaster_tasks,
    mtbench_tasks,
    read_tables,
)

Interval = dict[str, float]  # {"low": x, "high": y}

DEFAULT_B = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
METHOD = "percentile bootstrap"


def resample_indices(name: str, n: int, b: int = DEFAULT_B, seed: int = DEFAULT_SEED) -> np.ndarray:
    """`b` x `n` indices into `n` samples, drawn with replacement; the same (name, n, b, seed) gives the same draws."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    return rng.integers(0, n, size=(b, n)) if n else np.zeros((b, 0), dtype=np.int64)


def percentile_interval(replicates: np.ndarray, level: float = DEFAULT_LEVEL) -> Interval | None:
    """The percentile interval of the replicates (NaN replicates, where a score was undefined, left out)."""
    values = np.asarray(replicates, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return {"low": float(low), "high": float(high)}


# --- jaster -------------------------------------------------------------------------------------------------------


def _correlation_replicates(metric: str, preds: Sequence[str], trues: Sequence[str], idx: np.ndarray) -> np.ndarray:
    """`metrics.pearson` / `metrics.spearman` on every resample at once (rows of `idx`)."""
    from scipy import stats  # imported when first needed (see metrics.py)

    if len(trues) < 2:
        return np.zeros(len(idx))
    x = np.array([float(t) for t in trues])[idx]
    y = np.array([parse_float(p) for p in preds])[idx]
    if metric == "spearman":
        x, y = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant resamples: NaN, mapped to 0.0 below as metrics.py does
        r = np.asarray(stats.pearsonr(x, y, axis=1)[0], dtype=np.float64)
    return np.nan_to_num(r, nan=0.0)


def metric_replicates(
    metric: str, preds: Sequence[str], trues: Sequence[str], idx: np.ndarray, *, fast: bool = True
) -> np.ndarray:
    """The dataset score `score_dataset(metric, preds, trues)` of each resample `idx[b]` (shape: `len(idx)`).

    `fast=False` calls `score_dataset` once per replicate (the reference the fast paths are tested against)."""
    if fast and metric in MEAN_METRICS and len(trues):
        per_sample = np.array([MEAN_METRICS[metric](p, t) for p, t in zip(preds, trues)], dtype=np.float64)
        return per_sample[idx].mean(axis=1)
    if fast and metric in CORRELATION_METRICS:
        return _correlation_replicates(metric, preds, trues, idx)
    return np.array([score_dataset(metric, [preds[i] for i in row], [trues[i] for i in row]) for row in idx])


def group_test_rows(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """Test rows by dataset, each sorted by id (the order `aggregate.jaster.dataset_scores` scores them in)."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.get("data_type", "test") == "test":
            grouped[row["target_dataset"]].append(row)
    return {name: sorted(rs, key=lambda r: r["id"]) for name, rs in sorted(grouped.items())}


def summary_replicates(replicates: Mapping[str, np.ndarray], language: str) -> dict[str, np.ndarray]:
    """`aggregate.jaster.summary_scores` applied to replicate b of every dataset score, for all b at once."""
    if not replicates:
        return {}
    b = len(next(iter(replicates.values())))
    if language == "ja":
        if not all(any(k.startswith(f"{name}_") for k in replicates) for name in ALL_JA):
            return {}
        result = {}
        for cat, keys in CATEGORIES.items():
            members = [replicates[k] for k in keys if k in replicates]
            result[cat] = np.mean(members, axis=0) if members else np.zeros(b)  # Neo: 0.0 if none
        result["AVG"] = np.mean([result[cat] for cat in CATEGORIES], axis=0)
        return result
    subject_keys = [f"{name}_exact_match" for name in ALL_EN]
    if not all(k in replicates for k in subject_keys):
        return {}
    return {"AVG": np.mean([replicates[k] for k in subject_keys], axis=0)}


def jaster_replicates(
    rows: Iterable[Row],
    language: str,
    metrics: Mapping[str, Sequence[str]] | None = None,
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    indices: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Replicates of one jaster task's scores, keyed like its leaderboard table (`jnli_exact_match`, `NLI`, `AVG`).

    `rows`: output-table rows; `metrics`: dataset -> metric names (default: `default_metrics`); `indices`: dataset ->
    resample indices into its id-sorted test rows (default: `resample_indices(dataset, n, b, seed)`)."""
    grouped = group_test_rows(rows)
    out: dict[str, np.ndarray] = {}
    for name, samples in grouped.items():
        idx = indices[name] if indices is not None else resample_indices(name, len(samples), b, seed)
        preds, trues = [str(r["pred"]) for r in samples], [str(r["true"]) for r in samples]
        names = (metrics or {}).get(name) or default_metrics(name)
        for metric in names:
            out[f"{name}_{metric}"] = metric_replicates(metric, preds, trues, idx)
    out.update(summary_replicates(out, language))
    return out


# --- MT-Bench -----------------------------------------------------------------------------------------------------


def question_cells(rows: Iterable[Row]) -> dict[int, tuple[str, float, int]]:
    """question_id -> (category, sum of its cell means, number of cells): a cell is a (question, turn) with at least
    one rating other than -1, its value the mean of those ratings. Questions with no cell are kept (0.0, 0)."""
    cells: dict[tuple[int, int], list[float]] = defaultdict(list)
    category: dict[int, str] = {}
    for row in rows:
        qid = int(row["question_id"])
        category[qid] = str(row["category"])
        if row["score"] != -1:
            cells[(qid, int(row["turn"]))].append(float(row["score"]))
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    for (qid, _), scores in cells.items():
        sums[qid] += float(np.asarray(scores, dtype=np.float64).sum() / len(scores))
        counts[qid] += 1
    return {qid: (category[qid], sums[qid], counts[qid]) for qid in sorted(category)}


def questions_by_category(rows: Iterable[Row]) -> dict[str, list[int]]:
    """category -> its question ids, sorted (the order `indices` of `mtbench_replicates` index into)."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for qid, (category, _, _) in question_cells(rows).items():
        grouped[category].append(qid)
    return dict(sorted(grouped.items()))


def mtbench_replicates(
    rows: Iterable[Row],
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    indices: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Replicates of one MT-Bench language's category scores and `AVG` (NaN where a replicate has no rated cell).

    `indices`: category -> resample indices into `questions_by_category(rows)[category]` (default: drawn with
    `resample_indices("mtbench:" + category, ...)`)."""
    cells = question_cells(rows)
    out: dict[str, np.ndarray] = {}
    for category, qids in questions_by_category(rows).items():
        if not any(cells[q][2] for q in qids):
            continue  # no rating at all: the leaderboard has no such category either
        idx = indices[category] if indices is not None else resample_indices(f"mtbench:{category}", len(qids), b, seed)
        sums = np.array([cells[q][1] for q in qids])[idx].sum(axis=1)
        counts = np.array([cells[q][2] for q in qids])[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[category] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if out:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a replicate without any category: NaN
            out["AVG"] = np.nanmean(np.vstack(list(out.values())), axis=0)
    return out


# --- a whole run --------------------------------------------------------------------------------------------------


def run_intervals(
    tables: Mapping[str, Table], *, b: int = DEFAULT_B, seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL
) -> dict[str, Interval]:
    """Intervals for every score the run's tables support, keyed by leaderboard column name.

    `tables`: the run's tables by name (what `tables/*.json` holds): `jaster_output_table_<lang>_<N>shot` (with
    `jaster_leaderboard_table_<lang>_<N>shot` naming each dataset's metrics, if present) and
    `mtbench_output_table_<lang>`."""
    blocks: dict[str, np.ndarray] = {}
    for suffix, task in jaster_tasks(tables).items():
        reps = jaster_replicates(task.rows, task.language, task.metrics, b=b, seed=seed)
        blocks.update({f"{k}_jaster_{suffix}": v for k, v in reps.items()})
    for language, rows in mtbench_tasks(tables).items():
        blocks.update({f"{k}_MTbench_{language}": v for k, v in mtbench_replicates(rows, b=b, seed=seed).items()})
    out = {column: percentile_interval(reps, level) for column, reps in blocks.items()}
    return {column: interval for column, interval in out.items() if interval is not None}


def run_dir_intervals(
    run_dir: Path, *, b: int = DEFAULT_B, seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL
) -> dict[str, Interval]:
    """`run_intervals` over the tables a run directory holds."""
    return run_intervals(read_tables(run_dir), b=b, seed=seed, level=level)


def intervals_meta(
    intervals: Mapping[str, Interval], *, b: int = DEFAULT_B, seed: int = DEFAULT_SEED, level: float = DEFAULT_LEVEL
) -> dict[str, Any]:
    """The `meta["intervals"]` block of leaderboard.json: how the intervals were made, then one per column (bounds
    rounded to 6 decimals)."""
    return {
        "method": METHOD,
        "level": level,
        "b": b,
        "seed": seed,
        "resampling": "jaster: test samples within each dataset; MT-Bench: questions within each category",
        "columns": {k: {side: round(x, 6) for side, x in v.items()} for k, v in intervals.items()},
    }


def columns_of_meta(meta: Mapping[str, Any]) -> dict[str, Interval]:
    """The per-column intervals of a leaderboard.json meta (empty when it has none)."""
    block = meta.get("intervals") or {}
    return dict(block.get("columns", {})) if isinstance(block, Mapping) else {}


def format_interval(value: float | None, interval: Mapping[str, float] | None, digits: int = 4) -> str:
    """`0.4550 [0.3600, 0.5500]`, or the value alone without an interval."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return f"{text} [{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]" if interval else text

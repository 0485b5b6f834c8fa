"""Bootstrap replicates of a jaster task's scores, computed as the leaderboard computes them.

Test samples are resampled within each dataset. Mean metrics (exact_match, char_f1, set_f1) average the per-sample
scores of the replicate; pearson/spearman are recomputed on the resampled pairs (NaN -> 0.0, as `metrics.py`); any
other metric calls `metrics.score_dataset` once per replicate. Category scores and AVG take replicate b of every
dataset and apply Neo's formula (`tables.summary_scores`). A dataset's draws depend only on its name and size
(`aggregate.intervals.resample_indices`), so its interval does not depend on what else the run holds and 0-shot /
few-shot scores of one dataset are resampled with the same draws.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ...aggregate.intervals import DEFAULT_B, DEFAULT_SEED, resample_indices
from .datasets import ALL_EN, ALL_JA, CATEGORIES
from .metrics import parse_float, score_dataset
from .samples import CORRELATION_METRICS, MEAN_METRICS, Row, default_metrics


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

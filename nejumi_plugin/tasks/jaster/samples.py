"""A jaster task's samples, one per test row of its output table: the per-sample view of intervals, compare and the
report.

A sample is scored with its dataset's first mean metric (exact_match -> `exact`, char_f1, set_f1, as `metrics.py`
scores one pair); a dataset scored only by correlations (jsts) has no per-sample score, and its sample counts as wrong
when the prediction differs from the gold answer. A dataset's metrics are those its leaderboard table names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...family import Sample
from .datasets import CATEGORIES
from .metrics import char_f1, exact, parse_float, set_f1

Row = Mapping[str, Any]
MEAN_METRICS = {"exact_match": exact, "char_f1": char_f1, "set_f1": set_f1}
CORRELATION_METRICS = ("pearson", "spearman")


def default_metrics(dataset: str) -> tuple[str, ...]:
    """A dataset's metrics when no leaderboard table names them: Neo's categories, MMLU exact_match, jsts both."""
    if dataset == "jsts":
        return CORRELATION_METRICS
    for keys in CATEGORIES.values():
        for key in keys:
            if key.startswith(f"{dataset}_") and key[len(dataset) + 1 :] in MEAN_METRICS:
                return (key[len(dataset) + 1 :],)
    return ("exact_match",)


def metrics_from_columns(datasets: Iterable[str], columns: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each dataset's metrics as named by `<dataset>_<metric>` columns (a task's leaderboard table); defaults else."""
    columns = list(columns)
    known = (*MEAN_METRICS, *CORRELATION_METRICS)
    out = {}
    for name in sorted(set(datasets)):
        named = tuple(c[len(name) + 1 :] for c in columns if c.startswith(f"{name}_") and c[len(name) + 1 :] in known)
        out[name] = named or default_metrics(name)
    return out


def sample_metric(metrics: Sequence[str]) -> str | None:
    """The metric a single jaster sample is scored with: the dataset's first mean metric (None for jsts)."""
    return next((m for m in metrics if m in MEAN_METRICS), None)


def sample_score(metric: str | None, pred: str, true: str) -> float | None:
    """One sample's score under `metric` (None when the metric has no per-sample form)."""
    return float(MEAN_METRICS[metric](str(pred), str(true))) if metric in MEAN_METRICS else None


def is_wrong(metric: str | None, pred: str, true: str) -> bool:
    """Score below 1, or (no per-sample score) a prediction that is not the gold answer."""
    score = sample_score(metric, pred, true)
    return score < 1.0 if score is not None else str(pred) != str(true)


def samples_of(rows: Iterable[Row], metrics: Mapping[str, Sequence[str]]) -> list[Sample]:
    """The test rows as samples: grouped by dataset, one unit each, with the dataset's sample metric (jsts: the number
    its correlations see)."""
    out = []
    for row in rows:
        if row.get("data_type", "test") != "test":
            continue
        dataset, pred, true = str(row["target_dataset"]), str(row["pred"]), str(row["true"])
        metric = sample_metric(metrics.get(dataset, ()))
        value = sample_score(metric, pred, true) if metric else parse_float(pred)
        facts = {"metrics": tuple(metrics.get(dataset, ()))}
        out.append(
            Sample(
                dataset,
                f"{dataset}/{row['id']}",
                str(row["id"]),
                metric or "parsed value",
                value,
                is_wrong(metric, pred, true),
                pred,
                true,
                dict(row),
                facts,
            )
        )
    return out

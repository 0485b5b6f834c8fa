"""Neo's jaster tables from scored samples (docs/scoring-jaster.md#aggregation): leaderboard, radar, output tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from ...family import Built, Scored, Task, leaderboard_table, table
from .cases import JasterSetting
from .datasets import ALL_EN, ALL_JA, CATEGORIES
from .metrics import score_dataset
from .names import output_table, radar_table


def dataset_scores(scored: Iterable[Scored]) -> dict[str, float]:
    """`<dataset>_<metric>` over the test rows of one task, with each dataset's own metrics."""
    preds: dict[str, list[str]] = defaultdict(list)
    trues: dict[str, list[str]] = defaultdict(list)
    metrics: dict[str, list[str]] = {}
    for record in sorted(scored, key=lambda r: (r.rows[0]["target_dataset"], r.rows[0]["id"])):
        row = record.rows[0]
        if row["data_type"] != "test":
            continue
        preds[row["target_dataset"]].append(row["pred"])
        trues[row["target_dataset"]].append(row["true"])
        metrics[row["target_dataset"]] = record.data["metrics"]
    return {
        f"{name}_{metric}": float(score_dataset(metric, preds[name], trues[name]))
        for name in preds
        for metric in metrics[name]
    }


def summary_scores(scores: Mapping[str, float], language: str) -> dict[str, float]:
    """Category means and AVG, only when the whole of all-ja (or all-en) was scored.

    ja: Neo's six categories, each the mean of its datasets, AVG their unweighted mean. en (Neo's code is not
    public): AVG is the mean of the 57 MMLU subject accuracies, which equals the pooled accuracy.
    """
    if language == "ja":
        if not all(any(k.startswith(f"{name}_") for k in scores) for name in ALL_JA):
            return {}
        members = {cat: [scores[k] for k in keys if k in scores] for cat, keys in CATEGORIES.items()}
        result = {cat: statistics.mean(vals) if vals else 0.0 for cat, vals in members.items()}  # Neo: 0.0 if none
        result["AVG"] = statistics.mean(result[cat] for cat in CATEGORIES)
        return result
    subject_keys = [f"{name}_exact_match" for name in ALL_EN]
    if not all(k in scores for k in subject_keys):
        return {}
    return {"AVG": statistics.mean(scores[k] for k in subject_keys)}


def build_task_tables(task: Task, setting: JasterSetting, scored: Sequence[Scored], model_name: str) -> Built:
    """Neo's four tables of one task and its block of the row (scores rounded as Neo formats them)."""
    raw = dataset_scores(scored)
    raw.update(summary_scores(raw, setting.language))
    # Neo: {k: f"{v:.4f}" for k, v in sorted(...)} then float(); uppercase category keys sort first
    scores = {k: float(f"{v:.4f}") for k, v in sorted(raw.items())}
    out = Built(task, {task.leaderboard: leaderboard_table(model_name, scores)}, scores)
    for split in ("test", "dev"):
        rows = sorted(
            (r.rows[0] for r in scored if r.rows[0]["data_type"] == split),
            key=lambda row: (row["target_dataset"], row["id"]),
        )
        columns = list(rows[0]) if rows else []
        out.tables[output_table(setting, split)] = table(columns, ([row[c] for c in columns] for row in rows))
    radar = radar_table(setting)
    if radar and "AVG" in scores:
        out.tables[radar] = table(["category", "score"], [[cat, scores[cat]] for cat in CATEGORIES])
    return out

"""Neo's jaster tables from scored samples (spec/jaster.md §7): leaderboard, radar and output tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..metrics import score_dataset
from ..tasks.jaster.cases import JasterSetting
from ..tasks.jaster.datasets import ALL_EN, ALL_JA, CATEGORIES

Table = dict[str, Any]  # {"columns": [...], "data": [[...], ...]}


def table(columns: Sequence[str], data: Iterable[Sequence[Any]]) -> Table:
    return {"columns": list(columns), "data": [list(row) for row in data]}


def dataset_scores(records: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """`<dataset>_<metric>` over the test rows of one task, with each dataset's own metrics."""
    preds: dict[str, list[str]] = defaultdict(list)
    trues: dict[str, list[str]] = defaultdict(list)
    metrics: dict[str, list[str]] = {}
    for record in sorted(records, key=lambda r: (r["row"]["target_dataset"], r["row"]["id"])):
        row = record["row"]
        if row["data_type"] != "test":
            continue
        preds[row["target_dataset"]].append(row["pred"])
        trues[row["target_dataset"]].append(row["true"])
        metrics[row["target_dataset"]] = record["metrics"]
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


@dataclass
class JasterTaskTables:
    """Everything one jaster task (language x shots) logs."""

    setting: JasterSetting
    scores: dict[str, float]  # formatted like Neo: rounded to 4 decimals
    tables: dict[str, Table] = field(default_factory=dict)
    complete: bool = True

    @property
    def leaderboard(self) -> Table:
        return self.tables[f"jaster_leaderboard_table_{self.setting.suffix}"]


def build_task_tables(
    setting: JasterSetting, records: Sequence[Mapping[str, Any]], model_name: str
) -> JasterTaskTables:
    raw = dataset_scores(records)
    raw.update(summary_scores(raw, setting.language))
    # Neo: {k: f"{v:.4f}" for k, v in sorted(...)} then float(); uppercase category keys sort first
    scores = {k: float(f"{v:.4f}") for k, v in sorted(raw.items())}
    out = JasterTaskTables(setting, scores)
    out.tables[f"jaster_leaderboard_table_{setting.suffix}"] = table(
        ["model_name", *scores], [[model_name, *scores.values()]]
    )
    for split, name in (("test", "jaster_output_table"), ("dev", "jaster_output_table_dev")):
        rows = sorted(
            (r["row"] for r in records if r["row"]["data_type"] == split),
            key=lambda row: (row["target_dataset"], row["id"]),
        )
        columns = list(rows[0]) if rows else []
        out.tables[f"{name}_{setting.suffix}"] = table(columns, ([row[c] for c in columns] for row in rows))
    if setting.language == "ja" and "AVG" in scores:
        out.tables[f"jaster_radar_table_{setting.suffix}"] = table(
            ["category", "score"], [[cat, scores[cat]] for cat in CATEGORIES]
        )
    return out


def leaderboard_row(model_name: str, tasks: Sequence[JasterTaskTables]) -> Table:
    """The run's one-row leaderboard: `model_name`, then each task's columns suffixed `_jaster_<lang>_<N>shot`."""
    columns: list[str] = ["model_name"]
    values: list[Any] = [model_name]
    for task in tasks:
        lb = task.leaderboard
        columns += [f"{c}_jaster_{task.setting.suffix}" for c in lb["columns"][1:]]
        values += lb["data"][0][1:]
    return table(columns, [values])

"""Neo's MT-Bench aggregation (spec/mtbench.md §5.2-5.4): judgments -> radar and leaderboard tables.

Rows scored -1 (no rating could be parsed) are kept in the output table and dropped from every mean. Duplicated
(question, turn) rows are averaged first, then each category is the mean of its (question, turn) cells, and AVG is
the unweighted mean of the category means — not FastChat show_result's mean over all rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .jaster import Table, table


def _mean(values: Iterable[float]) -> float:
    """A mean summed the way pandas/numpy sum (pairwise), so the last digit matches Neo's DataFrame means."""
    array = np.asarray(list(values), dtype=np.float64)
    return float(array.sum() / len(array))


def category_scores(judgments: Iterable[Mapping[str, Any]], category_of: Mapping[int, str]) -> dict[str, float]:
    """Neo's radar: per category, the mean over (question, turn) cells of the mean score of the cell's judgments."""
    cells: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for row in judgments:
        if row["score"] == -1:
            continue
        qid = int(row["question_id"])
        cells[(qid, int(row["turn"]), category_of[qid])].append(float(row["score"]))
    by_category: dict[str, list[float]] = defaultdict(list)
    for (_, _, category), scores in sorted(cells.items()):
        by_category[category].append(_mean(scores))
    return {category: _mean(scores) for category, scores in sorted(by_category.items())}


def radar_table(scores: Mapping[str, float]) -> Table:
    """`mtbench_radar_table_{lang}`: one row per category, alphabetical, on the 1-10 scale."""
    return table(["category", "score"], [[c, s] for c, s in scores.items()])


def leaderboard_table(model_name: str, scores: Mapping[str, float]) -> Table:
    """`mtbench_leaderboard_table_{lang}`: model_name, the categories (alphabetical), AVG of the category means."""
    average = _mean(scores.values()) if scores else None  # every judgment unparsable: no category, no AVG
    return table(["model_name", *scores, "AVG"], [[model_name, *scores.values(), average]])


def leaderboard_columns(board: Table, language: str) -> dict[str, Any]:
    """The block appended to the run's leaderboard row: model_name dropped, columns suffixed `_MTbench_{lang}`."""
    columns, row = board["columns"], board["data"][0]
    return {f"{c}_MTbench_{language}": v for c, v in zip(columns[1:], row[1:])}


def show_result(judgments: Iterable[Mapping[str, Any]]) -> dict[str, float | int]:
    """FastChat `show_result.py --mode single` for one model's judgment rows (the caller filters by model).

    Rows scored -1 are dropped; then plain means over rows (duplicated rows count twice, unlike Neo's radar):
    `turn1`, `turn2` (only when there are turn-2 rows, e.g. not for the turn-1-only JA golden file) and `average`
    over all remaining rows, plus `n_rows_used` and `n_rows_dropped_minus1`.
    """
    rows = list(judgments)
    kept = [row for row in rows if row["score"] != -1]
    result: dict[str, float | int] = {}
    for turn in (1, 2):
        scores = [float(row["score"]) for row in kept if int(row["turn"]) == turn]
        if scores:
            result[f"turn{turn}"] = _mean(scores)
    if kept:
        result["average"] = _mean(float(row["score"]) for row in kept)
    result["n_rows_used"] = len(kept)
    result["n_rows_dropped_minus1"] = len(rows) - len(kept)
    return result


@dataclass
class MtbenchTaskTables:
    """Everything one MT-Bench language logs, plus FastChat's numbers for the run's meta."""

    language: str
    scores: dict[str, float]  # category -> Neo's mean (1-10 scale), alphabetical; AVG last
    tables: dict[str, Table] = field(default_factory=dict)
    show_result: dict[str, float | int] = field(default_factory=dict)
    parse_failures: int = 0  # judgments scored -1: no rating could be read after the retries
    judge_calls: int = 0  # judge answers behind the judgments (retries included)
    complete: bool = True

    @property
    def task(self) -> str:
        return f"mtbench_{self.language}"

    @property
    def leaderboard(self) -> Table:
        return self.tables[f"mtbench_leaderboard_table_{self.language}"]


def build_task_tables(language: str, records: Sequence[Mapping[str, Any]], model_name: str) -> MtbenchTaskTables:
    """Neo's three tables for one language from its scored questions (each record holds two output rows)."""
    rows = sorted((row for r in records for row in r["rows"]), key=lambda row: (row["question_id"], row["turn"]))
    category_of = {int(r["question_id"]): r["category"] for r in records}
    scores = category_scores(rows, category_of)
    out = MtbenchTaskTables(language, {})
    columns = list(rows[0]) if rows else []
    out.tables[f"mtbench_output_table_{language}"] = table(columns, ([row[c] for c in columns] for row in rows))
    board = leaderboard_table(model_name, scores)
    out.tables[f"mtbench_leaderboard_table_{language}"] = board
    out.tables[f"mtbench_radar_table_{language}"] = radar_table(scores)
    out.scores = dict(zip(board["columns"][1:], board["data"][0][1:]))
    out.show_result = show_result(rows)
    out.parse_failures = sum(1 for row in rows if row["score"] == -1)
    out.judge_calls = sum(int(r.get("judge_calls", 0)) for r in records)
    return out

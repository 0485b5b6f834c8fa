"""Neo's MT-Bench aggregation (spec/mtbench.md §5.2-5.4): judgments -> radar and leaderboard tables.

Rows scored -1 (no rating could be parsed) are kept in the output table and dropped from every mean. Duplicated
(question, turn) rows are averaged first, then each category is the mean of its (question, turn) cells, and AVG is
the unweighted mean of the category means — not FastChat show_result's mean over all rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
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
    return table(["model_name", *scores, "AVG"], [[model_name, *scores.values(), _mean(scores.values())]])


def leaderboard_columns(board: Table, language: str) -> dict[str, Any]:
    """The block appended to the run's leaderboard row: model_name dropped, columns suffixed `_MTbench_{lang}`."""
    columns, row = board["columns"], board["data"][0]
    return {f"{c}_MTbench_{language}": v for c, v in zip(columns[1:], row[1:])}

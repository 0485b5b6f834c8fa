"""Neo's MT-Bench aggregation (docs/scoring-mtbench.md#aggregation): judgments -> radar and leaderboard tables.

Rows scored -1 (no rating could be parsed) are kept in the output table and dropped from every mean. Duplicated
(question, turn) rows are averaged first, then each category is the mean of its (question, turn) cells, and AVG is
the unweighted mean of the category means — not FastChat show_result's mean over all rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...family import Built, Scored, Table, Task, table
from .canary import canary_line, canary_meta, judge_check_line
from .names import leaderboard_table_name, output_table, radar_table_name


def _mean(values: Iterable[float]) -> float:
    """A mean summed the way pandas/numpy sum (pairwise), so the last digit matches Neo's DataFrame means."""
    import numpy as np  # imported when a table is built (collecting items needs none)

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


def judge_line(judge: Mapping[str, str]) -> str:
    """Who rated the answers: the AVG is that judge's, comparable with Neo's only as far as it rates like GPT-4."""
    line = f"AVG judged by {judge['api']} {judge['model']}"
    if judge["api"] == "hf":
        line += " (a local model: for demonstration only; its scores are not comparable with GPT-4's)"
    return line


def build_task_tables(
    task: Task,
    language: str,
    scored: Sequence[Scored],
    model_name: str,
    judge: Mapping[str, str],
    checked: Mapping[str, Any] | None = None,
) -> Built:
    """Neo's three tables for one language from its scored questions (each holds its two output rows), its block of
    the row, and FastChat show_result's numbers, parse failures and judge calls for the row's meta."""
    rows = sorted((row for r in scored for row in r.rows), key=lambda row: (row["question_id"], row["turn"]))
    category_of = {int(r.data["question_id"]): r.data["category"] for r in scored}
    scores = category_scores(rows, category_of)
    columns = list(rows[0]) if rows else []
    board = leaderboard_table(model_name, scores)
    tables = {
        output_table(language): table(columns, ([row[c] for c in columns] for row in rows)),
        leaderboard_table_name(language): board,
        radar_table_name(language): radar_table(scores),
    }
    canary = canary_meta([item for r in scored for item in r.data.get("canary", ())])
    meta = {
        "show_result": show_result(rows),
        "parse_failures": sum(1 for row in rows if row["score"] == -1),
        "judge_calls": sum(int(r.data.get("judge_calls", 0)) for r in scored),
        "judge": dict(judge),
        "canary": canary,
        **({"judge_check": dict(checked)} if checked else {}),
        # beside the AVG, in the summary and the report
        "notes": [judge_line(judge), *([judge_check_line(checked)] if checked else []), canary_line(canary)],
    }
    return Built(task, tables, dict(zip(board["columns"][1:], board["data"][0][1:])), meta=meta)

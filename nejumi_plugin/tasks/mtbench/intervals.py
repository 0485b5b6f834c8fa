"""Bootstrap replicates of an MT-Bench language's scores, computed as the leaderboard computes them.

Questions are resampled within each category (both turns of a question travel together); -1 ratings are left out
and duplicated (question, turn) rows averaged first, as `tables.category_scores`; a category is the mean of its
cells and AVG the mean of the categories a replicate has. Draws: `resample_indices("mtbench:" + category, ...)`.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ...aggregate.intervals import DEFAULT_B, DEFAULT_SEED, resample_indices

Row = Mapping[str, Any]


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

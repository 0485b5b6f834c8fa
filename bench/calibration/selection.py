"""The balanced, seeded subset of the usable items: every category and rating bucket, no model or question
dominating, and the same subset on every rebuild (the order is a hash, not Python's random module)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

SEED = 17
CAP = 6  # items per (language, category, rating bucket), split evenly over the turns the language has
BUCKETS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))


def bucket(rating: int) -> int:
    return next(i for i, (lo, hi) in enumerate(BUCKETS) if lo <= rating <= hi)


def order(item: dict[str, Any]) -> str:
    """The seeded order: a hash of the seed and the item id."""
    return hashlib.sha256(f"{SEED}:{item['id']}".encode()).hexdigest()


def select(pool: Sequence[dict[str, Any]], turns: int) -> list[dict[str, Any]]:
    """Per (language, category, turn, rating bucket): at most `CAP // turns` items (ja 6 for its one turn, en 3 per
    turn), taken in seeded order but spread first over exact ratings, then models, then questions."""
    by_stratum: dict[tuple[str, str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for item in pool:
        by_stratum[item["language"], item["category"], item["turn"], bucket(item["gpt4_rating"])].append(item)
    chosen: list[dict[str, Any]] = []
    for stratum in sorted(by_stratum):
        left = sorted(by_stratum[stratum], key=order)
        used: Counter[tuple[str, object]] = Counter()
        for _ in range(min(CAP // turns, len(left))):
            pick = min(
                left,
                key=lambda i: (
                    used["r", i["gpt4_rating"]],
                    used["m", i["model"]],
                    used["q", i["question_id"]],
                    order(i),
                ),
            )
            left.remove(pick)
            used.update({("r", pick["gpt4_rating"]): 1, ("m", pick["model"]): 1, ("q", pick["question_id"]): 1})
            chosen.append(pick)
    return sorted(chosen, key=lambda i: (i["question_id"], i["turn"], i["model"]))

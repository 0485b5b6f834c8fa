"""Reading the judge's rating out of its answer, as FastChat@g-leaderboard does
(docs/scoring-mtbench.md, "Rating parsing and retries")."""

from __future__ import annotations

import ast
import re

ONE_SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
NO_RATING = -1
MAX_JUDGE_CALLS = 3  # Neo retries the judge while the rating is not in 1..10, at most 3 calls in all


def parse_rating(judgment: str) -> int | float:
    """The first `[[n]]` (else the first `[n]`, e.g. a citation) in the text, or -1 when there is none.

    The number is read with `ast.literal_eval` on a regex-checked digit string (never arbitrary text), so "7" is an
    int and "7.5" a float, as in FastChat.
    """
    match = ONE_SCORE.search(judgment) or ONE_SCORE_BACKUP.search(judgment)
    return ast.literal_eval(match.group(1)) if match else NO_RATING


def is_final(rating: int | float) -> bool:
    """Whether Neo stops retrying: `rating in range(1, 11)` (so 7.0 is final, 7.5, 0 and 11 are retried)."""
    return rating in range(1, 11)

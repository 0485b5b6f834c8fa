"""Neo's prediction clean-up (docs/scoring-jaster.md; the quirks listed there are kept on purpose)."""

from __future__ import annotations

from .datasets import Cleaning
from .metrics import normalize

_JA_PREFIXES = ("回答:", "回答: ", "答え:", "答え: ")
_EN_PREFIXES = ("ANSWER:", "ANSWER: ", "RESPONSE:", "RESPONSE: ")


def first_block(output: str) -> str:
    """The text before the first blank line — all that Neo ever scores."""
    return output.split("\n\n", maxsplit=1)[0]


def clean_prediction(output: str, cleaning: Cleaning) -> str:
    """Raw model output -> the `pred` Neo scores: blank-line cut, NFKC, then the dataset's own clean-up.

    Prefixes are removed after strip() with no second strip, so "Answer: B" becomes " B" (scored wrong), as on Neo.
    """
    pred = normalize(first_block(output))
    if cleaning == "label":
        return pred.strip().lower()
    if cleaning in ("number", "strip"):
        return pred.strip()
    if cleaning == "ja_answer":
        pred = pred.strip().lower()
        for prefix in _JA_PREFIXES:
            pred = pred.replace(prefix, "")
        return pred
    if cleaning == "en_letter":
        pred = pred.strip().upper()
        for prefix in _EN_PREFIXES:
            pred = pred.replace(prefix, "")
        return pred
    return pred


def clean_gold(output: str) -> str:
    """Gold answers are only NFKC-normalized (never stripped or lowercased)."""
    return normalize(output)

"""Scoring functions of llm-jp-eval 1.2 / Nejumi Leaderboard Neo (docs/scoring-jaster.md, "Metrics").

Every function reproduces the reference numbers bit for bit, quirks included
(see docs/scoring-jaster.md, "Metrics"): ``char_f1`` is fuzzywuzzy's integer-rounded
``token_sort_ratio``, ``set_f1`` counts predicted items in its recall numerator,
``parse_float`` maps unparsable text to -2.0, and NaN correlations become 0.0.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
import warnings
from collections.abc import Callable, Sequence

__all__ = [
    "DATASET_METRICS",
    "char_f1",
    "char_f1_score",
    "exact",
    "exact_match",
    "normalize",
    "parse_float",
    "pearson",
    "score_dataset",
    "set_f1",
    "set_f1_score",
    "spearman",
    "token_sort_ratio",
]

# fuzzywuzzy.utils.asciidammit (force_ascii=True) deletes exactly U+0080..U+00FF.
_LATIN1_DELETE = dict.fromkeys(range(0x80, 0x100))
# fuzzywuzzy.string_processing.StringProcessor.regex, verbatim.
_NON_WORD = re.compile(r"(?ui)\W")
_NOT_FLOAT_CHAR = re.compile(r"[^0-9.]")


def normalize(s: str) -> str:
    """Unicode NFKC normalization, applied to predictions and gold answers."""
    return unicodedata.normalize("NFKC", s)


def _process_and_sort(s: str) -> str:
    """fuzzywuzzy ``full_process(force_ascii=True)`` followed by token sorting."""
    s = s.translate(_LATIN1_DELETE)
    s = _NON_WORD.sub(" ", s).lower().strip()
    return " ".join(sorted(s.split())).strip()


def token_sort_ratio(a: str, b: str) -> int:
    """fuzzywuzzy 0.18.0 ``fuzz.token_sort_ratio`` with python-Levenshtein installed.

    ``Levenshtein.ratio`` (>= 0.18) is ``rapidfuzz Indel.normalized_similarity``,
    i.e. ``1 - dist / (len_a + len_b)``; using the same call keeps the float that
    is rounded bit-identical (``(L - dist) / L`` differs in the last ulp for
    e.g. L=80, dist=78: 2.5 vs 2.500000000000002). ``round`` is banker's rounding.
    """
    sa, sb = _process_and_sort(a), _process_and_sort(b)
    if sa == sb:
        return 100
    if not sa or not sb:
        return 0
    from rapidfuzz.distance import Indel  # imported when first scoring (collecting items needs none)

    return round(100 * Indel.normalized_similarity(sa, sb))


def char_f1(pred: str, true: str) -> float:
    """Per-sample ``char_f1`` = ``token_sort_ratio / 100`` (not a real character F1)."""
    return token_sort_ratio(pred, true) / 100.0


def set_f1(pred: str, true: str) -> float:
    """Per-sample set F1 over newline-separated items.

    Predicted items are de-duplicated, gold items are not, and the recall
    numerator counts matching *predicted* items (reference behaviour).
    """
    pred_items = {x.strip() for x in pred.split("\n")}
    true_items = [x.strip() for x in true.split("\n")]
    hits = sum(1 if y in true_items else 0 for y in pred_items)
    precision = hits / len(pred_items)
    recall = hits / len(true_items)
    if precision + recall == 0:
        return 0.0
    return 2 * (precision * recall) / (precision + recall)


def exact(pred: str, true: str) -> int:
    """1 if the strings are identical, else 0."""
    return 1 if pred == true else 0


def parse_float(s: str) -> float:
    """Delete every char not in ``[0-9.]`` and parse; unparsable -> -2.0."""
    try:
        return float(_NOT_FLOAT_CHAR.sub("", str(s)))
    except ValueError:
        return -2.0


def _check(preds: Sequence[str], trues: Sequence[str]) -> int:
    if len(preds) != len(trues):
        raise ValueError(f"{len(preds)} predictions but {len(trues)} gold answers")
    return len(trues)


def exact_match(preds: Sequence[str], trues: Sequence[str]) -> float:
    """Fraction of exact string matches (``sklearn.metrics.accuracy_score``); 0.0 if empty."""
    n = _check(preds, trues)
    return sum(exact(p, t) for p, t in zip(preds, trues)) / n if n else 0.0


def char_f1_score(preds: Sequence[str], trues: Sequence[str]) -> float:
    """``statistics.mean`` of per-sample :func:`char_f1`; 0.0 if empty."""
    if not _check(preds, trues):
        return 0.0
    return float(statistics.mean([char_f1(p, t) for p, t in zip(preds, trues)]))


def set_f1_score(preds: Sequence[str], trues: Sequence[str]) -> float:
    """``statistics.mean`` of per-sample :func:`set_f1`; 0.0 if empty."""
    if not _check(preds, trues):
        return 0.0
    return float(statistics.mean([set_f1(p, t) for p, t in zip(preds, trues)]))


def _correlation(name: str, preds: Sequence[str], trues: Sequence[str]) -> float:
    from scipy import stats  # imported when first needed: it costs every pytest start half a second

    if _check(preds, trues) < 2:
        return 0.0
    fn = getattr(stats, name)
    x = list(map(float, trues))
    y = list(map(parse_float, preds))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        warnings.simplefilter("ignore", stats.NearConstantInputWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        r = float(fn(x, y)[0])
    return 0.0 if math.isnan(r) else r


def pearson(preds: Sequence[str], trues: Sequence[str]) -> float:
    """Corpus-level Pearson r of gold floats vs :func:`parse_float` predictions; NaN -> 0.0."""
    return _correlation("pearsonr", preds, trues)


def spearman(preds: Sequence[str], trues: Sequence[str]) -> float:
    """Corpus-level Spearman rho of gold floats vs :func:`parse_float` predictions; NaN -> 0.0."""
    return _correlation("spearmanr", preds, trues)


DATASET_METRICS: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {
    "exact_match": exact_match,
    "char_f1": char_f1_score,
    "set_f1": set_f1_score,
    "pearson": pearson,
    "spearman": spearman,
}


def score_dataset(metric: str, preds: Sequence[str], trues: Sequence[str]) -> float:
    """Score a dataset with the metric named in its jaster JSON (``metrics`` list)."""
    try:
        scorer = DATASET_METRICS[metric]
    except KeyError:
        known = ", ".join(sorted(DATASET_METRICS))
        raise ValueError(f"unknown metric {metric!r}; known metrics: {known}") from None
    return scorer(preds, trues)

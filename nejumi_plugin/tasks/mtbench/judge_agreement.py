"""How closely a judge's MT-Bench ratings follow GPT-4's on the same items, per category and overall.

Neo's MT-Bench scores are GPT-4's ratings; a cheaper or local judge is only a stand-in if it rates like GPT-4.
For pairs (judge rating, GPT-4 rating) this computes Spearman and Pearson correlation, quadratic-weighted Cohen's
kappa on the 10-point scale, the bias (mean of judge - GPT-4) with a seeded percentile-bootstrap interval, and the
share of items the judge rates within +-1 of GPT-4.

Ratings, as the harness reads them (`tasks.mtbench.rating.parse_rating`):

* GPT-4's are the recorded ones, integers 1..10 (anything else is an error: a calibration item has a rating).
* The judge's -1 means no rating could be read. Such pairs are counted (`n_unreadable`) and left out of every
  statistic: an unreadable answer is a failure to report, not a rating of -1.
* Any other judge rating (a fraction such as 7.5, or 0 or 11 after the last retry) is what Neo's average would
  use, so it stays in the correlations, the bias and the within-1 share; kappa needs the ten categories, so it is
  computed on the pairs whose judge rating is an integer 1..10 and the rest are counted (`n_off_scale`).

A statistic that is undefined is None, never NaN and never an exception: correlations need 2 pairs and neither side
constant; kappa is undefined when no disagreement is possible by chance (both sides one and the same rating); the
bias needs one pair. numpy and scipy are imported when first needed, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNREADABLE = -1
SCALE = tuple(range(1, 11))
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
OVERALL = "overall"


@dataclass(frozen=True)
class RatedPair:
    """One item rated by the judge and by GPT-4."""

    judge: int | float  # -1 when unreadable
    gpt4: int
    category: str

    def __post_init__(self) -> None:
        if isinstance(self.gpt4, bool) or not isinstance(self.gpt4, int) or self.gpt4 not in SCALE:
            raise ValueError(f"GPT-4 rating {self.gpt4!r} ({self.category}): expected an integer 1..10")
        if isinstance(self.judge, bool) or not isinstance(self.judge, (int, float)) or math.isnan(self.judge):
            raise ValueError(f"judge rating {self.judge!r} ({self.category}): expected a number")
        if self.judge < 0 and self.judge != UNREADABLE:
            raise ValueError(f"judge rating {self.judge!r} ({self.category}): only -1 (unreadable) may be negative")


@dataclass(frozen=True)
class Agreement:
    """The statistics of one group of pairs (a category, or all of them); None where undefined."""

    n: int  # pairs with a readable judge rating: the ones every statistic uses
    n_unreadable: int
    n_off_scale: int  # readable but not an integer 1..10: left out of kappa only
    spearman: float | None
    pearson: float | None
    kappa: float | None  # quadratic-weighted, on the n - n_off_scale on-scale pairs
    bias: float | None  # mean(judge - GPT-4)
    bias_low: float | None  # percentile-bootstrap interval of the bias
    bias_high: float | None
    within_one: float | None  # share of pairs with |judge - GPT-4| <= 1


@dataclass(frozen=True)
class AgreementReport:
    overall: Agreement
    by_category: dict[str, Agreement]  # sorted by category name
    level: float  # of the bias intervals
    resamples: int
    seed: int


def agreement(
    pairs: Iterable[RatedPair],
    *,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> AgreementReport:
    """The statistics overall and per category; the bias intervals are reproducible for a given seed."""
    pairs = list(pairs)
    categories = sorted({p.category for p in pairs})
    return AgreementReport(
        overall=summarize(pairs, OVERALL, seed=seed, resamples=resamples, level=level),
        by_category={
            c: summarize([p for p in pairs if p.category == c], c, seed=seed, resamples=resamples, level=level)
            for c in categories
        },
        level=level,
        resamples=resamples,
        seed=seed,
    )


def summarize(
    pairs: Sequence[RatedPair],
    name: str,
    *,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> Agreement:
    """One group's statistics; `name` keys its bootstrap draws, so a category's interval does not depend on what
    else is in the report."""
    readable = [p for p in pairs if p.judge != UNREADABLE]
    judge = [float(p.judge) for p in readable]
    gpt4 = [float(p.gpt4) for p in readable]
    on_scale = [p for p in readable if p.judge in SCALE]
    diffs = [j - g for j, g in zip(judge, gpt4)]
    low = high = bias = None
    if diffs:
        bias = math.fsum(diffs) / len(diffs)
        low, high = bias_interval(diffs, name, seed=seed, resamples=resamples, level=level)
    return Agreement(
        n=len(readable),
        n_unreadable=len(pairs) - len(readable),
        n_off_scale=len(readable) - len(on_scale),
        spearman=correlation("spearmanr", judge, gpt4),
        pearson=correlation("pearsonr", judge, gpt4),
        kappa=quadratic_weighted_kappa([int(p.judge) for p in on_scale], [p.gpt4 for p in on_scale]),
        bias=bias,
        bias_low=low,
        bias_high=high,
        within_one=sum(abs(d) <= 1 for d in diffs) / len(diffs) if diffs else None,
    )


def correlation(kind: str, x: Sequence[float], y: Sequence[float]) -> float | None:
    """`scipy.stats.spearmanr` / `pearsonr` of x and y; None with fewer than 2 pairs or a constant side (where
    scipy would warn and give NaN). Unlike `metrics.pearson` (Neo's jaster score), undefined is not 0."""
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    from scipy import stats  # imported when first needed

    r = float(getattr(stats, kind)(x, y).statistic)
    return None if math.isnan(r) else r


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], scale: Sequence[int] = SCALE) -> float | None:
    """Cohen's kappa with weights (i - j)^2 over the categories of `scale`: 1 - sum(w * observed) / sum(w * expected),
    expected being the product of the two raters' marginals. None when sum(w * expected) is 0 (no pairs, or both
    raters always give one and the same rating)."""
    if not a:
        return None
    import numpy as np  # imported when first needed

    index = {v: i for i, v in enumerate(scale)}
    k = len(scale)
    observed = np.zeros((k, k))
    np.add.at(observed, ([index[v] for v in a], [index[v] for v in b]), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(a)
    weights = np.subtract.outer(np.arange(k), np.arange(k)) ** 2.0
    chance = float((weights * expected).sum())
    if chance == 0.0:
        return None
    return 1.0 - float((weights * observed).sum()) / chance


def bias_interval(
    diffs: Sequence[float],
    name: str,
    *,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of mean(diffs), drawn as the leaderboard's own intervals are
    (`aggregate.intervals`: `resample_indices` keyed by `name` and `seed`, `percentile_interval`)."""
    import numpy as np  # imported when first needed

    from ...aggregate.intervals import percentile_interval, resample_indices

    values = np.asarray(diffs, dtype=np.float64)
    interval = percentile_interval(values[resample_indices(name, len(values), resamples, seed)].mean(axis=1), level)
    assert interval is not None  # diffs is not empty, so no replicate is NaN
    return interval["low"], interval["high"]

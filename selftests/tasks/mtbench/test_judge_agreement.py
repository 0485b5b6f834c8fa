"""Judge-vs-GPT-4 agreement statistics: hand-computed cases, a noisy case against direct computations, edge cases."""

from __future__ import annotations

import random
import subprocess
import sys
from fractions import Fraction

import pytest
from scipy import stats

from nejumi_plugin.tasks.mtbench.calibration import load_calibration
from nejumi_plugin.tasks.mtbench.judge_agreement import (
    Agreement,
    RatedPair,
    agreement,
    quadratic_weighted_kappa,
    summarize,
)


def pairs(judge: list[float], gpt4: list[int], category: str = "writing") -> list[RatedPair]:
    return [RatedPair(j, g, category) for j, g in zip(judge, gpt4)]


def kappa_from_scratch(a: list[int], b: list[int], categories: list[int]) -> Fraction:
    """Textbook quadratic-weighted kappa with weights (i - j)^2 / (k - 1)^2, in exact arithmetic."""
    k, n = len(categories), len(a)
    pos = {c: i for i, c in enumerate(categories)}
    observed = [[Fraction(0)] * k for _ in range(k)]
    for x, y in zip(a, b):
        observed[pos[x]][pos[y]] += 1
    rows = [sum(r) for r in observed]
    cols = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    w = [[Fraction((i - j) ** 2, (k - 1) ** 2) for j in range(k)] for i in range(k)]
    num = sum(w[i][j] * observed[i][j] for i in range(k) for j in range(k))
    den = sum(w[i][j] * rows[i] * cols[j] / n for i in range(k) for j in range(k))
    return 1 - num / den


def test_a_judge_equal_to_gpt4_agrees_perfectly() -> None:
    ratings = [1, 3, 3, 5, 7, 8, 10, 2]
    got = summarize(pairs(ratings, ratings), "writing")
    assert got.spearman == pytest.approx(1.0, abs=1e-12) and got.pearson == pytest.approx(1.0, abs=1e-12)
    assert got == Agreement(
        n=8,
        n_unreadable=0,
        n_off_scale=0,
        spearman=got.spearman,
        pearson=got.pearson,
        kappa=1.0,
        bias=0.0,
        bias_low=0.0,
        bias_high=0.0,
        within_one=1.0,
    )


def test_a_constant_offset_is_the_bias_and_keeps_correlation_one() -> None:
    gpt4 = [1, 2, 4, 6, 9]
    got = summarize(pairs([g + 1 for g in gpt4], gpt4), "math")
    assert (got.bias, got.bias_low, got.bias_high, got.within_one) == (1.0, 1.0, 1.0, 1.0)
    assert got.spearman == pytest.approx(1.0) and got.pearson == pytest.approx(1.0)
    two = summarize(pairs([g + 2 for g in gpt4[:4]], gpt4[:4]), "math")
    assert (two.bias, two.within_one) == (2.0, 0.0)


def test_kappa_by_hand_for_a_tiny_offset() -> None:
    # judge 2, 3 for GPT-4's 1, 2: observed weight (1 + 1) / 2 pairs; expected: marginals {2, 3} x {1, 2}, each
    # cell 1/2 * 1/2 * 2 pairs, weights 1, 0, 4, 1 -> 3 in all; kappa = 1 - 2 / 3 = 1/3 (the scale's 81 cancels)
    assert quadratic_weighted_kappa([2, 3], [1, 2]) == pytest.approx(1 / 3)
    assert summarize(pairs([2, 3], [1, 2]), "x").kappa == pytest.approx(1 / 3)


def test_kappa_matches_the_textbook_formula_on_a_3x3_example() -> None:
    a = [1, 1, 2, 2, 2, 3, 3, 1, 3, 2, 1, 3]
    b = [1, 2, 2, 3, 2, 3, 1, 1, 3, 2, 2, 2]
    want = kappa_from_scratch(a, b, [1, 2, 3])  # weights on the 3-point scale: the 10-point ones only rescale them
    assert quadratic_weighted_kappa(a, b) == pytest.approx(float(want), abs=1e-12)
    assert quadratic_weighted_kappa(a, b, (1, 2, 3)) == pytest.approx(float(want), abs=1e-12)
    assert quadratic_weighted_kappa(a, b) == pytest.approx(quadratic_weighted_kappa(b, a), abs=1e-12)  # symmetric


def test_a_noisy_judge_against_direct_computations() -> None:
    rng = random.Random(7)
    gpt4 = [rng.randint(1, 10) for _ in range(120)]
    judge = [min(10, max(1, g + rng.choice([-2, -1, 0, 0, 1, 1, 3]))) for g in gpt4]
    got = summarize(pairs(judge, gpt4), "stem")
    assert got.pearson == pytest.approx(stats.pearsonr(judge, gpt4).statistic, abs=1e-12)
    assert got.spearman == pytest.approx(stats.spearmanr(judge, gpt4).statistic, abs=1e-12)
    assert got.kappa == pytest.approx(float(kappa_from_scratch(judge, gpt4, list(range(1, 11)))), abs=1e-12)
    diffs = [j - g for j, g in zip(judge, gpt4)]
    assert got.bias == pytest.approx(sum(diffs) / len(diffs))
    assert got.within_one == sum(abs(d) <= 1 for d in diffs) / len(diffs)
    assert got.bias_low < got.bias < got.bias_high and got.bias_high - got.bias_low < 1.0
    assert summarize(pairs(judge, gpt4), "stem") == got  # seeded: the same interval every time
    other = summarize(pairs(judge, gpt4), "stem", seed=1)
    assert (other.bias_low, other.bias_high) != (got.bias_low, got.bias_high) and other.bias == got.bias


def test_unreadable_ratings_are_counted_and_left_out() -> None:
    got = summarize(pairs([-1, 4, 6, -1, 8], [9, 4, 6, 1, 8]), "x")
    assert (got.n, got.n_unreadable, got.bias, got.kappa, got.within_one) == (3, 2, 0.0, 1.0, 1.0)
    none = summarize(pairs([-1, -1], [3, 5]), "x")
    assert none == Agreement(0, 2, 0, None, None, None, None, None, None, None)
    assert summarize([], "x") == Agreement(0, 0, 0, None, None, None, None, None, None, None)


def test_fractional_and_off_scale_ratings_stay_out_of_kappa_only() -> None:
    got = summarize(pairs([7.5, 3, 9, 0, 5.0], [8, 3, 9, 1, 5]), "x")
    assert (got.n, got.n_off_scale) == (5, 2)  # 7.5 and 0; 5.0 is the rating 5
    assert got.bias == pytest.approx((-0.5 - 1) / 5) and got.within_one == 1.0
    assert got.pearson == pytest.approx(stats.pearsonr([7.5, 3, 9, 0, 5], [8, 3, 9, 1, 5]).statistic)
    assert got.kappa == 1.0  # on 3, 9 and 5 alone


def test_constant_inputs_give_none_not_nan() -> None:
    judge_constant = summarize(pairs([5, 5, 5], [2, 5, 9]), "x")
    assert (judge_constant.spearman, judge_constant.pearson) == (None, None)
    assert judge_constant.kappa == pytest.approx(0.0)  # a constant rater agrees exactly as much as chance
    assert judge_constant.bias == pytest.approx(-1 / 3)
    both = summarize(pairs([7, 7], [7, 7]), "x")
    assert (both.spearman, both.pearson, both.kappa) == (None, None, None)  # no variation: nothing to agree on
    assert (both.bias, both.within_one) == (0.0, 1.0)
    one = summarize(pairs([4], [6]), "x")
    assert (one.pearson, one.bias, one.bias_low, one.bias_high) == (None, -2.0, -2.0, -2.0)


def test_per_category_and_overall() -> None:
    data = pairs([3, 4, 5], [3, 4, 5], "writing") + pairs([2, 9], [4, 9], "math") + pairs([-1], [6], "coding")
    report = agreement(data)
    assert list(report.by_category) == ["coding", "math", "writing"]
    assert report.by_category["writing"].kappa == 1.0 and report.by_category["math"].bias == -1.0
    assert report.by_category["coding"].n == 0 and report.by_category["coding"].n_unreadable == 1
    assert (report.overall.n, report.overall.n_unreadable) == (5, 1)
    assert report.overall.bias == pytest.approx(-2 / 5) and report.overall.within_one == pytest.approx(4 / 5)
    assert report.overall == summarize(data, "overall")
    assert (report.level, report.resamples, report.seed) == (0.95, 2000, 0)


def test_the_calibration_set_rated_by_gpt4_itself() -> None:
    items = load_calibration()
    report = agreement(RatedPair(i.gpt4_rating, i.gpt4_rating, i.category) for i in items)
    assert len(report.by_category) == 8 and report.overall.n == len(items)
    assert all(a.kappa == 1.0 and a.bias == 0.0 and a.within_one == 1.0 for a in report.by_category.values())


@pytest.mark.parametrize(
    ("judge", "gpt4", "message"),
    [
        (5, 0, r"GPT-4 rating 0 \(writing\): expected an integer 1..10"),
        (5, 7.5, r"GPT-4 rating 7.5"),
        (5, True, r"GPT-4 rating True"),
        (-2, 5, r"judge rating -2 \(writing\): only -1 \(unreadable\) may be negative"),
        (float("nan"), 5, r"judge rating nan \(writing\): expected a number"),
        ("7", 5, r"judge rating '7'"),
    ],
)
def test_bad_ratings_are_refused(judge: object, gpt4: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RatedPair(judge, gpt4, "writing")  # type: ignore[arg-type]


def test_importing_the_module_loads_neither_numpy_nor_scipy() -> None:
    code = (
        "import sys, nejumi_plugin.tasks.mtbench.judge_agreement; print('numpy' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]

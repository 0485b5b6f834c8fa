"""Tests for nejumi_plugin.tasks.jaster.metrics against docs/scoring-jaster.md, "Metrics", and the real fuzzywuzzy."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from statistics import mean

import fuzzywuzzy.fuzz
import pytest
from fuzzywuzzy import fuzz
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nejumi_plugin.tasks.jaster.metrics import (
    DATASET_METRICS,
    char_f1,
    char_f1_score,
    exact,
    exact_match,
    normalize,
    parse_float,
    pearson,
    score_dataset,
    set_f1,
    set_f1_score,
    spearman,
    token_sort_ratio,
)


def test_fuzzywuzzy_uses_python_levenshtein() -> None:
    # Without python-Levenshtein fuzzywuzzy falls back to difflib and gives other numbers.
    assert fuzzywuzzy.fuzz.SequenceMatcher.__module__ == "fuzzywuzzy.StringMatcher"


def test_normalize_nfkc() -> None:
    assert normalize("ＡＢＣ１２３") == "ABC123"
    assert normalize("ｶﾀｶﾅ") == "カタカナ"
    assert normalize("①") == "1"


# ---------------------------------------------------------------- char_f1


@pytest.mark.parametrize(
    ("pred", "true", "expected"),
    [
        ("東京", "東京都", 0.80),
        ("YES", "yes", 1.00),
        ("ダイ・ハード", "ダイハード", 0.91),
        ("5", "5.0", 0.50),
        ("。", "、", 1.0),  # both empty after processing -> equal -> 100
        ("", "", 1.0),
        ("。", "東京", 0.0),  # one side empty -> 0
        ("東京", "", 0.0),
        ("café", "caf", 1.0),  # Latin-1 chars U+0080..U+00FF are deleted
        ("Ünïcödé", "ncd", 1.0),
        ("b a", "a b", 1.0),  # tokens are sorted
        ("「東京」", "東京", 1.0),  # punctuation becomes a separator
    ],
)
def test_char_f1_examples(pred: str, true: str, expected: float) -> None:
    assert char_f1(pred, true) == expected
    assert token_sort_ratio(pred, true) == fuzz.token_sort_ratio(pred, true)


def test_latin1_deletion_is_not_transliteration() -> None:
    # é (U+00E9) is deleted, but ā (U+0101, outside Latin-1) is a word char and stays.
    assert token_sort_ratio("café", "cafe") == fuzz.token_sort_ratio("café", "cafe") == 86
    assert token_sort_ratio("cafā", "caf") == fuzz.token_sort_ratio("cafā", "caf") == 86


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # 100 * 10/16 == 62.5 exactly: banker's rounding gives 62, not 63.
        ("abcdexyz", "abcdefgh", 62),
        # 1 - 78/80 makes 100 * ratio == 2.500000000000002 (-> 3), while
        # 100 * (80 - 78) / 80 would be exactly 2.5 (-> 2).
        ("a" + "b" * 39, "a" + "c" * 39, 3),
        # 1 - 398/400 -> 0.5000000000000004 -> 1 (not 0).
        ("a" + "b" * 199, "a" + "c" * 199, 1),
    ],
)
def test_half_rounding_matches_fuzzywuzzy(a: str, b: str, expected: int) -> None:
    assert fuzz.token_sort_ratio(a, b) == expected
    assert token_sort_ratio(a, b) == expected


def test_all_half_cases_match_fuzzywuzzy() -> None:
    """Every (len_a, len_b, LCS) whose exact score is x.5, lengths up to 60."""
    checked = 0
    for la in range(1, 61):
        for lb in range(la, 61):
            for lcs in range(la + 1):
                exact_score = Fraction(200 * lcs, la + lb)
                if exact_score.denominator != 2:
                    continue
                a = "x" * lcs + "a" * (la - lcs)
                b = "x" * lcs + "b" * (lb - lcs)
                assert token_sort_ratio(a, b) == fuzz.token_sort_ratio(a, b), (la, lb, lcs)
                assert token_sort_ratio(b, a) == fuzz.token_sort_ratio(b, a), (la, lb, lcs)
                checked += 1
    assert checked > 50


_ALPHABET = (
    list("abcXYZ019 _-.,!?'\"()")
    + [chr(c) for c in (0x80, 0x85, 0xA0, 0xAA, 0xB2, 0xB5, 0xC0, 0xDF, 0xE9, 0xF7, 0xFF)]
    + list("ĀāİıΣσςẞſＫＡａ１")  # outside Latin-1, some with odd case mappings
    + list("あいうかきがンアイウカタナーｶﾞ東京都大阪日本語")
    + list("「」・、。！？（）【】")
    + [" ", "\t", "\n", "\u3000", "\u2003"]
)
_TEXT = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=25)


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(_TEXT)
    mode = draw(st.integers(0, 3))
    if mode == 0:
        b = draw(_TEXT)
    elif mode == 1:  # shared prefix/suffix -> high, non-trivial ratios
        b = draw(_TEXT) + a + draw(_TEXT)
    elif mode == 2:  # deletion
        i = draw(st.integers(0, len(a)))
        j = draw(st.integers(i, len(a)))
        b = a[:i] + a[j:]
    else:  # token shuffle / case change
        b = " ".join(reversed(a.split())).upper()
    return (b, a) if draw(st.booleans()) else (a, b)


@settings(derandomize=True, max_examples=800, deadline=None)
@given(_pairs())
def test_token_sort_ratio_matches_fuzzywuzzy(pair: tuple[str, str]) -> None:
    a, b = pair
    assert token_sort_ratio(a, b) == fuzz.token_sort_ratio(a, b)


# ---------------------------------------------------------------- set_f1


@pytest.mark.parametrize(
    ("pred", "true", "expected"),
    [
        ("a\nb", "a\nb", 1.0),
        (" a \n b ", "a\nb", 1.0),  # items are stripped
        ("a\na\nb", "a\nb", 1.0),  # duplicated predictions are de-duplicated
        ("a\na", "a\nb", 2 / 3),  # P = 1, R = 1/2
        ("a", "a\na", 2 / 3),  # gold is not de-duplicated
        ("a\nb\nc", "a", 0.5),  # P = 1/3, R = 1/1 (numerator counts predicted items)
        ("", "a", 0.0),  # empty prediction = {""}
        ("", "", 1.0),
        ("x", "a\nb", 0.0),  # P + R == 0
        ("東京 大阪 名古屋", "東京 大阪 名古屋", 1.0),  # wiki_ner: gold on one line
        ("東京\n大阪\n名古屋", "東京 大阪 名古屋", 0.0),
        ("東京 大阪", "東京 大阪 名古屋", 0.0),
    ],
)
def test_set_f1_examples(pred: str, true: str, expected: float) -> None:
    assert set_f1(pred, true) == pytest.approx(expected, abs=1e-12)


# ---------------------------------------------------------------- exact / parse_float


def test_exact() -> None:
    assert exact("entailment", "entailment") == 1
    assert exact("entailment ", "entailment") == 0
    assert exact("A", "a") == 0


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("", -2.0),
        ("1.2.3", -2.0),
        (".", -2.0),
        ("abc", -2.0),
        ("2-3", 23.0),
        ("3.5点", 3.5),
        ("4", 4.0),
        ("-1.5", 1.5),  # the minus sign is deleted too
        ("1e3", 13.0),
    ],
)
def test_parse_float(s: str, expected: float) -> None:
    assert parse_float(s) == expected


# ---------------------------------------------------------------- dataset-level scorers


def test_exact_match() -> None:
    assert exact_match(["a", "b", "c", "d"], ["a", "b", "x", "y"]) == 0.5
    assert exact_match(["a", "b", "c"], ["a", "x", "y"]) == 1 / 3
    assert exact_match([], []) == 0.0
    with pytest.raises(ValueError):
        exact_match(["a"], ["a", "b"])


def test_pearson_spearman() -> None:
    trues = ["1.0", "2.0", "3.0", "4.0"]
    assert pearson(["1", "2", "3", "4"], trues) == pytest.approx(1.0)
    assert spearman(["4", "3", "2", "1"], trues) == pytest.approx(-1.0)
    preds = ["1", "", "3点", "2-3"]
    assert pearson(preds, trues) == pytest.approx(stats.pearsonr([1, 2, 3, 4], [1, -2, 3, 23])[0])
    assert spearman(preds, trues) == pytest.approx(stats.spearmanr([1, 2, 3, 4], [1, -2, 3, 23])[0])


def test_correlation_nan_and_small_inputs_are_zero_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (pearson, spearman):
            assert fn(["3", "3", "3"], ["1", "2", "3"]) == 0.0  # constant predictions -> NaN -> 0
            assert fn(["", "x", "?"], ["1", "2", "3"]) == 0.0  # all -2.0
            assert fn(["1"], ["1"]) == 0.0
            assert fn([], []) == 0.0


def _reference_char_f1(y_preds: list[str], y_trues: list[str]) -> float:
    """Literal transcription of llm-jp-eval 1.2 ``get_evaluation_result`` (char_f1)."""
    char_f1_scores: list[float] = []
    for y_pred, y_true in zip(y_preds, y_trues):
        char_f1_scores.append(fuzz.token_sort_ratio(y_pred, y_true) / 100.0)
    return mean(char_f1_scores)


def _reference_set_f1(y_preds: list[str], y_trues: list[str]) -> float:
    """Literal transcription of llm-jp-eval 1.2 ``get_evaluation_result`` (set_f1)."""
    set_f1_scores: list[float] = []
    for y_pred, y_true in zip(y_preds, y_trues):
        split_y_pred = {x.strip() for x in y_pred.split("\n")}
        split_y_true = [x.strip() for x in y_true.split("\n")]
        set_pre = sum([1 if y in split_y_true else 0 for y in split_y_pred]) / len(split_y_pred)
        set_rec = sum([1 if y in split_y_true else 0 for y in split_y_pred]) / len(split_y_true)
        set_f1 = 2 * (set_pre * set_rec) / (set_pre + set_rec) if (set_pre + set_rec) != 0 else 0
        set_f1_scores.append(set_f1)
    return mean(set_f1_scores)


_FIXED_PREDS = ["東京", "YES", "ダイ・ハード", "5", "。", "café", "a\na\nb", "", "x\ny", "東京 大阪"]
_FIXED_TRUES = ["東京都", "yes", "ダイハード", "5.0", "、", "caf", "a\nb", "a", "y", "東京 大阪"]


def test_reference_parity_fixed() -> None:
    assert char_f1_score(_FIXED_PREDS, _FIXED_TRUES) == _reference_char_f1(_FIXED_PREDS, _FIXED_TRUES)
    assert set_f1_score(_FIXED_PREDS, _FIXED_TRUES) == _reference_set_f1(_FIXED_PREDS, _FIXED_TRUES)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.lists(_pairs(), min_size=1, max_size=30))
def test_reference_parity_property(pairs: list[tuple[str, str]]) -> None:
    preds = [p for p, _ in pairs]
    trues = [t for _, t in pairs]
    assert char_f1_score(preds, trues) == _reference_char_f1(preds, trues)
    assert set_f1_score(preds, trues) == _reference_set_f1(preds, trues)


def test_score_dataset_dispatch() -> None:
    assert set(DATASET_METRICS) == {"exact_match", "char_f1", "set_f1", "pearson", "spearman"}
    assert score_dataset("exact_match", ["a", "b"], ["a", "c"]) == 0.5
    assert score_dataset("char_f1", ["東京"], ["東京都"]) == 0.8
    assert score_dataset("set_f1", ["a\nb"], ["a\nb"]) == 1.0
    assert score_dataset("pearson", ["1", "2", "3"], ["1", "2", "3"]) == pytest.approx(1.0)
    assert score_dataset("spearman", ["1", "2", "3"], ["3", "2", "1"]) == pytest.approx(-1.0)
    assert not math.isnan(score_dataset("pearson", ["1", "1"], ["1", "2"]))


def test_score_dataset_unknown_metric() -> None:
    with pytest.raises(ValueError, match=r"bleu_ja.*char_f1.*exact_match.*pearson.*set_f1.*spearman"):
        score_dataset("bleu_ja", ["a"], ["a"])

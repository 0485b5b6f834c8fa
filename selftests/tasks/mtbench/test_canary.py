"""The judge canary's items, its agreement with GPT-4 and its warning band, computed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from nejumi_plugin.tasks.mtbench.canary import MAX_ABS_BIAS, MIN_SPEARMAN, canary_items, canary_line, canary_meta

EIGHT = ("coding", "extraction", "humanities", "math", "reasoning", "roleplay", "stem", "writing")


def records(judge: list[float | None], gpt4: list[int]) -> list[dict[str, Any]]:
    return [
        {"id": f"i{n}", "category": "writing", "turn": 1, "gpt4": g, "judge": j, "calls": 0 if j is None else 1}
        for n, (j, g) in enumerate(zip(judge, gpt4))
    ]


def test_eight_items_are_one_per_category_and_zero_is_none() -> None:
    for language in ("ja", "en"):
        items = canary_items(language, 8)
        assert sorted(i.category for i in items) == sorted(EIGHT)
        assert canary_items(language, 8) == items  # always the same items
    assert canary_items("ja", 0) == []


def test_a_judge_that_rates_as_gpt4_is_within_the_band() -> None:
    meta = canary_meta(records([1, 3, 5, 7, 9], [1, 3, 5, 7, 9]))
    assert meta is not None
    a = meta["agreement"]
    assert (a["n"], a["bias"], a["kappa"], a["within_one"]) == (5, 0.0, 1.0, 1.0)
    assert a["spearman"] == pytest.approx(1.0)
    assert meta["warning"] is None and meta["calls"] == 5 and meta["failed"] == 0
    assert canary_line(meta).endswith("bias vs GPT-4 +0.00 [+0.00, +0.00], spearman 1.00 — within the band")


def test_a_judge_two_points_kinder_is_warned_of() -> None:
    meta = canary_meta(records([3, 5, 7, 9, 10], [1, 3, 5, 7, 9]))
    assert meta is not None
    assert meta["agreement"]["bias"] == pytest.approx(9 / 5)  # (2 + 2 + 2 + 2 + 1) / 5
    assert meta["warning"] == (
        f"the judge does not rate like GPT-4 on the canary: its mean rating is +1.80 from GPT-4's (band ±{MAX_ABS_BIAS:g})"
    )
    assert "WARNING: the judge does not rate like GPT-4" in canary_line(meta)


def test_a_judge_that_ranks_against_gpt4_is_warned_of() -> None:
    meta = canary_meta(records([5, 4, 3, 6], [4, 5, 6, 3]))  # bias 0, ranks reversed
    assert meta is not None
    assert meta["agreement"]["bias"] == 0.0 and meta["agreement"]["spearman"] == pytest.approx(-1.0)
    assert f"Spearman -1.00 (band ≥ {MIN_SPEARMAN:g})" in meta["warning"]


def test_a_constant_judge_has_no_ranking_to_compare() -> None:
    meta = canary_meta(records([5, 5, 5], [4, 5, 6]))
    assert meta is not None and meta["agreement"]["spearman"] is None
    assert "no ranking to compare" in meta["warning"]


def test_unreadable_and_failed_judgments_are_said() -> None:
    meta = canary_meta(records([-1, None], [4, 6]))
    assert meta is not None
    assert (meta["items"], meta["failed"], meta["agreement"]["n"], meta["agreement"]["n_unreadable"]) == (2, 1, 0, 1)
    assert meta["warning"] == "none of the 2 canary ratings could be read: the judge's agreement with GPT-4 is unknown"


def test_each_item_counts_once_and_a_judged_rating_wins_over_a_failed_one() -> None:
    failed, judged = records([None], [4]), records([4], [4])
    for order in (failed + judged, judged + failed, judged + judged):
        meta = canary_meta(order)
        assert meta is not None and meta["items"] == 1 and meta["failed"] == 0 and meta["ratings"][0]["judge"] == 4


def test_no_canary_says_how_to_switch_it_on() -> None:
    assert canary_meta([]) is None
    assert canary_line(None) == "canary: off (mtbench.judge.canary: 0)"

"""Bootstrap intervals: coverage on data with a known rate, agreement with the leaderboard's own scoring, keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_run import (
    mtbench_record,
    synthetic_jaster,
    synthetic_mtbench,
    tables_of,
    write_fake_run,
)

from nejumi_plugin.aggregate import intervals as generic
from nejumi_plugin.aggregate.intervals import (
    columns_of_meta,
    format_interval,
    intervals_meta,
    percentile_interval,
    resample_indices,
)
from nejumi_plugin.aggregate.samples import rows_of
from nejumi_plugin.registry import builtin_families
from nejumi_plugin.tasks.jaster.intervals import jaster_replicates, metric_replicates, summary_replicates
from nejumi_plugin.tasks.jaster.metrics import score_dataset
from nejumi_plugin.tasks.jaster.tables import summary_scores
from nejumi_plugin.tasks.mtbench.intervals import mtbench_replicates, questions_by_category
from nejumi_plugin.tasks.mtbench.tables import category_scores, leaderboard_table


def run_intervals(tables: dict, **kw: object) -> dict:
    """The run's intervals through the built-in families, as a run computes them."""
    return generic.run_intervals(tables, builtin_families(), **kw)  # type: ignore[arg-type]


def run_dir_intervals(run_dir: object, **kw: object) -> dict:
    return generic.run_dir_intervals(run_dir, builtin_families(), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_95_percent_interval_holds_the_true_rate_90_to_98_percent_of_the_time(rate: float) -> None:
    """1000 simulated datasets of n=100 Bernoulli(rate) answers, each with its own B=1000 bootstrap interval."""
    rng = np.random.default_rng(12345)
    runs, n, held = 1000, 100, 0
    for run in range(runs):
        correct = rng.random(n) < rate
        preds = ["yes" if c else "no" for c in correct]
        reps = metric_replicates("exact_match", preds, ["yes"] * n, resample_indices("sim", n, 1000, seed=run))
        interval = percentile_interval(reps)
        assert interval is not None
        held += interval["low"] <= rate <= interval["high"]
    assert 0.90 <= held / runs <= 0.98, f"coverage {held / runs:.3f}"


def _pairs(dataset: str, n: int = 60) -> tuple[list[str], list[str]]:
    rows = [r.rows[0] for r in synthetic_jaster("ja", 0, n=n, accuracy=0.5, seed=7, datasets=[dataset])]
    return [r["pred"] for r in rows], [r["true"] for r in rows]


@pytest.mark.parametrize(
    ("dataset", "metric"),
    [("jnli", "exact_match"), ("jsquad", "char_f1"), ("wiki_ner", "set_f1"), ("jsts", "pearson"), ("jsts", "spearman")],
)
def test_fast_replicates_equal_score_dataset_on_every_resample(dataset: str, metric: str) -> None:
    preds, trues = _pairs(dataset)
    idx = resample_indices(dataset, len(preds), 300, seed=3)
    fast = metric_replicates(metric, preds, trues, idx)
    slow = metric_replicates(metric, preds, trues, idx, fast=False)
    assert slow[0] == score_dataset(metric, [preds[i] for i in idx[0]], [trues[i] for i in idx[0]])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert np.ptp(fast) > 0  # the resamples really differ


def test_correlations_of_constant_or_tiny_resamples_are_zero_like_the_leaderboard() -> None:
    preds, trues = ["1.0", "2.0", "x"], ["1.0", "3.0", "2.0"]
    idx = np.array([[0, 0, 0], [0, 1, 0], [2, 2, 1], [1, 2, 0]])
    for metric in ("pearson", "spearman"):
        fast = metric_replicates(metric, preds, trues, idx)
        assert fast[0] == 0.0  # constant: NaN -> 0.0
        np.testing.assert_allclose(fast, metric_replicates(metric, preds, trues, idx, fast=False), atol=1e-12)
    assert metric_replicates("pearson", ["1"], ["1"], np.zeros((4, 1), dtype=int)).tolist() == [0.0] * 4


@pytest.mark.parametrize("language", ["ja", "en"])
def test_category_and_avg_replicates_follow_summary_scores(language: str) -> None:
    records = synthetic_jaster(language, 0, n=20 if language == "ja" else 5, seed=11)
    reps = jaster_replicates([r.rows[0] for r in records], language, b=50, seed=1)
    datasets = {k: v for k, v in reps.items() if k not in ("AVG", "NLI", "QA", "RC", "MC", "FA", "MR")}
    for b in (0, 17, 49):
        expected = summary_scores({k: float(v[b]) for k, v in datasets.items()}, language)
        assert expected and set(expected) <= set(reps)
        for key, value in expected.items():
            assert reps[key][b] == pytest.approx(value, abs=1e-12)


def test_partial_ja_run_has_dataset_intervals_but_no_category_or_avg() -> None:
    tables = tables_of({("ja", 0): synthetic_jaster("ja", 0, n=10, datasets=["jnli", "jsquad"])})
    intervals = run_intervals(tables, b=200)
    assert set(intervals) == {"jnli_exact_match_jaster_ja_0shot", "jsquad_char_f1_jaster_ja_0shot"}


def test_mtbench_replicates_follow_neo_category_means_with_minus_one_dropped() -> None:
    records = synthetic_mtbench("ja", per_category=6, seed=2)
    records[0] = mtbench_record(1, "writing", (-1, -1))  # a question with no readable judgment still is a question
    rows = [row for r in records for row in r.rows]
    reps = mtbench_replicates(rows, b=40, seed=9)
    by_category = questions_by_category(rows)
    rows_of_question = {q: [r for r in rows if r["question_id"] == q] for qs in by_category.values() for q in qs}
    for b in (0, 21, 39):
        resampled, category_of = [], {}
        for category, qids in by_category.items():
            idx = resample_indices(f"mtbench:{category}", len(qids), 40, seed=9)[b]
            for position, i in enumerate(idx):  # a question drawn twice counts twice: give each draw its own id
                new_id = 1000 * (len(category_of) + 1) + position
                category_of[new_id] = category
                resampled += [{**row, "question_id": new_id} for row in rows_of_question[qids[i]]]
        want = category_scores(resampled, {q: c for q, c in category_of.items()})
        assert {k: pytest.approx(v, abs=1e-12) for k, v in want.items()} == {k: reps[k][b] for k in want}
        avg = leaderboard_table("m", want)["data"][0][-1]
        assert reps["AVG"][b] == pytest.approx(avg, abs=1e-12)


def test_mtbench_category_without_any_rating_has_no_interval() -> None:
    records = [
        mtbench_record(1, "math", (-1, -1)),
        mtbench_record(2, "math", (-1, -1)),
        mtbench_record(3, "coding", (5, 7)),
        mtbench_record(4, "coding", (9, -1)),
    ]
    intervals = run_intervals(tables_of(mt={"ja": records}), b=100)
    assert set(intervals) == {"coding_MTbench_ja", "AVG_MTbench_ja"}
    assert 5 <= intervals["coding_MTbench_ja"]["low"] <= intervals["coding_MTbench_ja"]["high"] <= 9


FULL = {
    ("ja", 0): dict(seed=1),
    ("ja", 4): dict(seed=2),
    ("en", 0): dict(n=5, seed=3),
    ("en", 5): dict(n=5, seed=4),
}


def test_full_run_every_numeric_leaderboard_column_gets_an_interval_holding_its_value(tmp_path) -> None:
    jaster = {key: synthetic_jaster(key[0], key[1], **kw) for key, kw in FULL.items()}  # type: ignore[arg-type]
    board = write_fake_run(tmp_path / "run", jaster, {"ja": synthetic_mtbench("ja"), "en": synthetic_mtbench("en")})
    intervals = run_dir_intervals(tmp_path / "run")  # B=1000: 15+1 ja datasets x100, 57 MMLU x5, x2 shots, 2x80 MT
    row = dict(zip(board["columns"], board["data"][0]))
    assert set(intervals) == set(board["columns"]) - {"model_name"}
    for column, interval in intervals.items():
        assert interval["low"] <= row[column] + 1e-4 and row[column] - 1e-4 <= interval["high"], column
    assert intervals["AVG_jaster_ja_0shot"]["high"] - intervals["AVG_jaster_ja_0shot"]["low"] < 0.1
    assert (
        intervals["jnli_exact_match_jaster_ja_0shot"]["high"] - intervals["jnli_exact_match_jaster_ja_0shot"]["low"]
        > 0.1
    )


def test_seeded_and_independent_of_the_other_datasets() -> None:
    full = tables_of({("ja", 0): synthetic_jaster("ja", 0, n=30, seed=5)})
    only = tables_of(
        {("ja", 0): [r for r in synthetic_jaster("ja", 0, n=30, seed=5) if r.rows[0]["target_dataset"] == "jnli"]}
    )
    key = "jnli_exact_match_jaster_ja_0shot"
    assert run_intervals(full, b=300)[key] == run_intervals(only, b=300)[key] == run_intervals(full, b=300)[key]
    avg = "AVG_jaster_ja_0shot"
    assert run_intervals(full, b=300, seed=1)[avg] != run_intervals(full, b=300)[avg]


def test_all_right_is_a_point_and_meta_block_round_trips_through_json() -> None:
    tables = tables_of({("ja", 0): synthetic_jaster("ja", 0, n=10, accuracy=1.0, datasets=["jnli"])})
    intervals = run_intervals(tables, b=100, level=0.9)
    assert intervals == {"jnli_exact_match_jaster_ja_0shot": {"low": 1.0, "high": 1.0}}
    meta = json.loads(json.dumps({"intervals": intervals_meta(intervals, b=100, level=0.9)}))
    assert meta["intervals"]["level"] == 0.9 and meta["intervals"]["b"] == 100 and meta["intervals"]["seed"] == 0
    assert columns_of_meta(meta) == intervals and columns_of_meta({}) == {}
    assert format_interval(1.0, intervals["jnli_exact_match_jaster_ja_0shot"]) == "1.0000 [1.0000, 1.0000]"
    assert format_interval(None, None) == "-" and format_interval(0.5, None) == "0.5000"


def test_dev_rows_are_never_resampled() -> None:
    test_rows = [r.rows[0] for r in synthetic_jaster("ja", 0, n=10, accuracy=1.0, datasets=["jnli"])]
    dev_rows = [{**r, "data_type": "dev", "pred": "wrong"} for r in test_rows]
    reps = jaster_replicates([*test_rows, *dev_rows], "ja", b=20)
    assert reps["jnli_exact_match"].tolist() == [1.0] * 20
    assert rows_of({"columns": ["a", "b"], "data": [[1, 2]]}) == [{"a": 1, "b": 2}]
    assert summary_replicates({}, "ja") == {}

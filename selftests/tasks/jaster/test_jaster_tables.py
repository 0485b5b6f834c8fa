"""Neo's aggregation on hand-computed cases (docs/scoring-jaster.md#aggregation)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from nejumi_plugin.family import Built, Scored, live_block
from nejumi_plugin.tasks.jaster.cases import JasterSetting
from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA, CATEGORIES
from nejumi_plugin.tasks.jaster.names import task_of
from nejumi_plugin.tasks.jaster.tables import build_task_tables as build
from nejumi_plugin.tasks.jaster.tables import dataset_scores, summary_scores


def record(dataset: str, pred: str, true: str, metrics: list[str], split: str = "test", i: int = 0) -> Scored:
    row = {
        "run_name": "r",
        "model_name": "m",
        "target_dataset": dataset,
        "num_few_shots": 0,
        "data_type": split,
        "id": i,
        "input": "x",
        "pred": pred,
        "true": true,
        "prompt": "p",
        "exact": int(pred == true),
        "char_f1": 0.0,
        "set_f1": 0.0,
        "latency": 0.1,
    }
    return Scored(f"{dataset}/{split}/{i}", "jaster_ja_0shot", (row,), {"metrics": metrics})


def build_task_tables(setting: JasterSetting, records: Sequence[Scored], model_name: str) -> Built:
    return build(task_of(setting), setting, records, model_name)


def leaderboard_row(model_name: str, tasks: Sequence[Built]) -> dict:
    """The row's jaster blocks, as the report joins them."""
    blocks = {column: value for built in tasks for column, value in live_block(built.task, built.block).items()}
    return {"columns": ["model_name", *blocks], "data": [[model_name, *blocks.values()]]}


def test_dataset_scores_use_test_rows_and_each_files_metrics() -> None:
    records = [
        record("jnli", "neutral", "neutral", ["exact_match"], i=0),
        record("jnli", "entailment", "neutral", ["exact_match"], i=1),
        record("jnli", "neutral", "entailment", ["exact_match"], split="dev"),
        record("jemhopqa", "東京", "東京都", ["char_f1"]),
    ]
    assert dataset_scores(records) == {"jnli_exact_match": 0.5, "jemhopqa_char_f1": 0.8}


def test_categories_and_avg_by_hand() -> None:
    scores = {key: 0.0 for keys in CATEGORIES.values() for key in keys}
    scores.update({"jamp_exact_match": 1.0, "jnli_exact_match": 0.5, "niilc_char_f1": 0.3, "mawps_exact_match": 0.6})
    scores["jsts_pearson"] = 0.9  # reported, never averaged
    summary = summary_scores(scores, "ja")
    assert summary["NLI"] == (1.0 + 0.5) / 5 and summary["QA"] == 0.3 / 2 and summary["MR"] == 0.6
    assert summary["AVG"] == 0.175  # (0.3 + 0.15 + 0 + 0 + 0 + 0.6) / 6, exactly as statistics.mean rounds it


def test_no_categories_unless_all_of_all_ja_was_scored() -> None:
    assert summary_scores({"jnli_exact_match": 1.0}, "ja") == {}
    en = {f"{name}_exact_match": (0.2 if i % 2 else 0.4) for i, name in enumerate(ALL_EN)}
    assert summary_scores(en, "en")["AVG"] == float(sum(map(Fraction, en.values())) / 57)  # statistics.mean: exact
    assert summary_scores(dict(list(en.items())[:5]), "en") == {}


def test_leaderboard_table_is_neo_shaped() -> None:
    keys = [key for members in CATEGORIES.values() for key in members]
    records = [
        record(name, "1", "1", [k.removeprefix(f"{name}_") for k in keys if k.startswith(f"{name}_")])
        for name in ALL_JA
    ]
    records.append(record("jsts", "3.0", "3.0", ["pearson", "spearman"]))
    tables = build_task_tables(JasterSetting("ja", 0), records, "my-model")
    lb = tables.tables["jaster_leaderboard_table_ja_0shot"]
    assert lb["columns"][:8] == ["model_name", "AVG", "FA", "MC", "MR", "NLI", "QA", "RC"]
    assert lb["columns"][8:] == sorted(lb["columns"][8:]) and "jsts_pearson" in lb["columns"]
    assert lb["data"][0][0] == "my-model" and lb["data"][0][1] == 1.0
    assert tables.tables["jaster_radar_table_ja_0shot"]["data"] == [[c, 1.0] for c in CATEGORIES]
    assert len(tables.tables["jaster_output_table_ja_0shot"]["data"]) == 16
    assert tables.tables["jaster_output_table_dev_ja_0shot"]["data"] == []


def test_scores_are_rounded_like_neo() -> None:
    records = [record("jnli", p, "a", ["exact_match"], i=i) for i, p in enumerate(["a", "b", "b"])]
    tables = build_task_tables(JasterSetting("ja", 0), records, "m")
    assert tables.block == {"jnli_exact_match": 0.3333}


def test_leaderboard_row_suffixes_columns_per_task() -> None:
    a = build_task_tables(JasterSetting("ja", 0), [record("jnli", "a", "a", ["exact_match"])], "m")
    b = build_task_tables(JasterSetting("ja", 4), [record("jnli", "b", "a", ["exact_match"])], "m")
    assert leaderboard_row("m", [a, b]) == {
        "columns": ["model_name", "jnli_exact_match_jaster_ja_0shot", "jnli_exact_match_jaster_ja_4shot"],
        "data": [["m", 1.0, 0.0]],
    }

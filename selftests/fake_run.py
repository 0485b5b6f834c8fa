"""Crafted run directories for the intervals, report, compare and gate tests.

Records have the shape the task runners produce (`row` for jaster, two `rows` for MT-Bench), and the tables and
leaderboard row are built by the real aggregation (`aggregate.jaster`, `aggregate.mtbench`), so a fake run looks
exactly like a real one on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nejumi_plugin.aggregate import mtbench
from nejumi_plugin.aggregate.jaster import build_task_tables, leaderboard_row
from nejumi_plugin.metrics import char_f1, exact, set_f1
from nejumi_plugin.sinks.files import write_run
from nejumi_plugin.tasks.jaster.cases import JasterSetting
from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA
from nejumi_plugin.aggregate.samples import default_metrics

MODEL = "fake/model-1b"
MT_CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")
OUTPUT_COLUMNS = (
    "question_id", "category", "answer_id", "model", "question", "answer", "judge", "user_prompt", "judgment",
    "score", "turn", "tstamp",
)  # fmt: skip


def jaster_record(
    dataset: str, shots: int, index: int, pred: str, true: str, *, language: str = "ja", split: str = "test"
) -> dict[str, Any]:
    """One scored jaster sample as `JasterRunner.score` returns it."""
    row = {
        "run_name": "fake-run", "model_name": MODEL, "target_dataset": dataset, "num_few_shots": shots,
        "data_type": split, "id": index, "input": f"入力 {dataset} {index}", "pred": pred, "true": true,
        "prompt": f"### 指示:\n{dataset} の問題 {index}\n### 応答:\n", "exact": exact(pred, true),
        "char_f1": char_f1(pred, true), "set_f1": set_f1(pred, true), "latency": 0.01,
    }  # fmt: skip
    task = f"jaster_{language}_{shots}shot"
    return {"key": f"{task}/{dataset}/{split}/{index}", "task": task, "language": language, "shots": shots,
            "metrics": list(default_metrics(dataset)), "row": row}  # fmt: skip


def _sample(dataset: str, rng: np.random.Generator, good: bool) -> tuple[str, str]:
    """(pred, true) in the style of the dataset's metric; `good` makes the prediction right."""
    metric = default_metrics(dataset)[0]
    if dataset == "jsts":
        true = f"{rng.uniform(0, 5):.1f}"
        return (f"{float(true) + rng.normal(0, 0.5 if good else 2):.1f}", true)
    if metric == "char_f1":
        true = "東京 都庁 の 本庁舎"
        return (true if good else "東京 タワー", true)
    if metric == "set_f1":
        true = "山田 太郎（人名）\n東京（地名）"
        return (true if good else "東京（地名）\n大阪（地名）", true)
    if dataset.startswith("mmlu_en"):
        return ("A" if good else "B", "A")
    return ("entailment" if good else "neutral", "entailment")


def synthetic_jaster(
    language: str, shots: int, *, n: int = 100, accuracy: float = 0.6, seed: int = 0,
    datasets: Sequence[str] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """`n` test samples per dataset (all-ja + jsts, or the 57 MMLU subjects), right with probability `accuracy`."""
    names = datasets or ((*ALL_JA, "jsts") if language == "ja" else ALL_EN)
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        for i in range(n):
            pred, true = _sample(name, rng, bool(rng.random() < accuracy))
            out.append(jaster_record(name, shots, i, pred, true, language=language))
    return out


def mtbench_record(
    qid: int, category: str, scores: tuple[float, float], *, answers: tuple[str, str] = ("答え1", "答え2")
) -> dict[str, Any]:
    """One judged MT-Bench question (two output rows) as `MtbenchRunner.score` returns it."""
    rows = []
    for turn, (score, answer) in enumerate(zip(scores, answers), start=1):
        judgment = "解析できない判定" if score == -1 else f"良い回答です。 Rating: [[{score}]]"
        rows.append(dict(zip(OUTPUT_COLUMNS, (
            qid, category, f"a{qid}", MODEL, f"質問 {qid} ターン {turn} <b>太字</b>", answer,
            ["gpt-4", "single-v1"], "judge prompt", judgment, score, turn, 1.0e9,
        ))))  # fmt: skip
    return {"question_id": qid, "category": category, "rows": rows, "judge_calls": 2}


def synthetic_mtbench(language: str, *, per_category: int = 10, seed: int = 0) -> list[dict[str, Any]]:
    """`per_category` questions in each of the 8 categories, ratings 1-10 and a few -1 (unreadable judgments)."""
    rng = np.random.default_rng(seed)
    first = 1 if language == "ja" else 81
    out = []
    for c, category in enumerate(MT_CATEGORIES):
        for j in range(per_category):
            scores = tuple(-1 if rng.random() < 0.05 else int(rng.integers(1, 11)) for _ in range(2))
            out.append(mtbench_record(first + c * per_category + j, category, scores))  # type: ignore[arg-type]
    return out


def write_fake_run(
    run_dir: Path,
    jaster: Mapping[tuple[str, int], Iterable[Mapping[str, Any]]] = {},
    mt: Mapping[str, Iterable[Mapping[str, Any]]] = {},
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Tables and leaderboard.json for the given records ({(language, shots): jaster records}, {language: MT-Bench
    records}), through the real aggregation. Returns the leaderboard (row and meta)."""
    tables: dict[str, Any] = {}
    tasks = []
    for (language, shots), records in jaster.items():
        task = build_task_tables(JasterSetting(language, shots), list(records), MODEL)
        tasks.append(task)
        tables.update(task.tables)
    row = leaderboard_row(MODEL, tasks)
    for language, records in mt.items():
        task_mt = mtbench.build_task_tables(language, list(records), MODEL)
        tables.update(task_mt.tables)
        block = mtbench.leaderboard_columns(task_mt.leaderboard, language)
        row["columns"] += list(block)
        row["data"][0] += list(block.values())
    board = {**row, "meta": {"model_name": MODEL, "run_name": run_dir.name, "complete": True, **(meta or {})}}
    write_run(run_dir, tables, board)
    return board


def tables_of(jaster: Mapping[tuple[str, int], Iterable[Mapping[str, Any]]] = {},
              mt: Mapping[str, Iterable[Mapping[str, Any]]] = {}) -> dict[str, Any]:  # fmt: skip
    """The tables a run with these records logs (no files written)."""
    tables: dict[str, Any] = {}
    for (language, shots), records in jaster.items():
        tables.update(build_task_tables(JasterSetting(language, shots), list(records), MODEL).tables)
    for language, records in mt.items():
        tables.update(mtbench.build_task_tables(language, list(records), MODEL).tables)
    return tables

"""Crafted run directories for the intervals, report, compare and gate tests.

Records are the `Scored` the families' runners produce (one row for jaster, two for MT-Bench), and the tables and
leaderboard row are built by the families' real aggregation, so a fake run looks exactly like a real one on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nejumi_plugin.config import RunConfig
from nejumi_plugin.family import Built, Scored, live_block
from nejumi_plugin.registry import builtin_families
from nejumi_plugin.sinks.files import write_run
from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA
from nejumi_plugin.tasks.jaster.metrics import char_f1, exact, set_f1
from nejumi_plugin.tasks.jaster.samples import default_metrics

MODEL = "fake/model-1b"
MT_CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")
OUTPUT_COLUMNS = (
    "question_id",
    "category",
    "answer_id",
    "model",
    "question",
    "answer",
    "judge",
    "user_prompt",
    "judgment",
    "score",
    "turn",
    "tstamp",
)


def jaster_record(
    dataset: str, shots: int, index: int, pred: str, true: str, *, language: str = "ja", split: str = "test"
) -> Scored:
    """One scored jaster sample as `JasterRunner.score` returns it."""
    row = {
        "run_name": "fake-run",
        "model_name": MODEL,
        "target_dataset": dataset,
        "num_few_shots": shots,
        "data_type": split,
        "id": index,
        "input": f"入力 {dataset} {index}",
        "pred": pred,
        "true": true,
        "prompt": f"### 指示:\n{dataset} の問題 {index}\n### 応答:\n",
        "exact": exact(pred, true),
        "char_f1": char_f1(pred, true),
        "set_f1": set_f1(pred, true),
        "latency": 0.01,
    }
    task = f"jaster_{language}_{shots}shot"
    return Scored(f"{task}/{dataset}/{split}/{index}", task, (row,), {"metrics": list(default_metrics(dataset))})


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
    language: str,
    shots: int,
    *,
    n: int = 100,
    accuracy: float = 0.6,
    seed: int = 0,
    datasets: Sequence[str] | None = None,
) -> list[Scored]:
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
    qid: int,
    category: str,
    scores: tuple[float, float],
    *,
    answers: tuple[str, str] = ("答え1", "答え2"),
    language: str = "ja",
) -> Scored:
    """One judged MT-Bench question (two output rows) as `MtbenchRunner.score` returns it."""
    rows = []
    for turn, (score, answer) in enumerate(zip(scores, answers), start=1):
        judgment = "解析できない判定" if score == -1 else f"良い回答です。 Rating: [[{score}]]"
        rows.append(
            dict(
                zip(
                    OUTPUT_COLUMNS,
                    (
                        qid,
                        category,
                        f"a{qid}",
                        MODEL,
                        f"質問 {qid} ターン {turn} <b>太字</b>",
                        answer,
                        ["gpt-4", "single-v1"],
                        "judge prompt",
                        judgment,
                        score,
                        turn,
                        1.0e9,
                    ),
                )
            )
        )
    return Scored(
        f"mtbench_{language}/{qid}",
        f"mtbench_{language}",
        tuple(rows),
        {"question_id": qid, "category": category, "judge_calls": 2},
    )


def synthetic_mtbench(language: str, *, per_category: int = 10, seed: int = 0) -> list[Scored]:
    """`per_category` questions in each of the 8 categories, ratings 1-10 and a few -1 (unreadable judgments)."""
    rng = np.random.default_rng(seed)
    first = 1 if language == "ja" else 81
    out = []
    for c, category in enumerate(MT_CATEGORIES):
        for j in range(per_category):
            scores = tuple(-1 if rng.random() < 0.05 else int(rng.integers(1, 11)) for _ in range(2))
            out.append(
                mtbench_record(
                    first + c * per_category + j,
                    category,
                    scores,  # type: ignore[arg-type]
                    language=language,
                )
            )
    return out


def built_tasks(
    jaster: Mapping[tuple[str, int], Iterable[Scored]] = {}, mt: Mapping[str, Iterable[Scored]] = {}
) -> list[Built]:
    """The tasks a run with these records builds ({(language, shots): jaster records}, {language: MT-Bench records}),
    through the families' real aggregation."""
    cfg = RunConfig.model_validate({"model_name": MODEL})
    jaster_family, mtbench_family = builtin_families()
    out = []
    for (language, shots), records in jaster.items():
        (task,) = jaster_family.found([f"jaster_output_table_{language}_{shots}shot"])
        out.append(jaster_family.build(task, list(records), cfg))
    for language, records in mt.items():
        (task,) = mtbench_family.found([f"mtbench_output_table_{language}"])
        out.append(mtbench_family.build(task, list(records), cfg))
    return out


def write_fake_run(
    run_dir: Path,
    jaster: Mapping[tuple[str, int], Iterable[Scored]] = {},
    mt: Mapping[str, Iterable[Scored]] = {},
    meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Tables and leaderboard.json for the given records (see `built_tasks`). Returns the leaderboard (row and
    meta)."""
    tables: dict[str, Any] = {}
    columns, values = ["model_name"], [MODEL]
    for built in built_tasks(jaster, mt):
        tables.update(built.tables)
        block = live_block(built.task, built.block)
        columns += list(block)
        values += list(block.values())
    board = {
        "columns": columns,
        "data": [values],
        "meta": {"model_name": MODEL, "run_name": run_dir.name, "complete": True, **(meta or {})},
    }
    write_run(run_dir, tables, board)
    return board


def tables_of(
    jaster: Mapping[tuple[str, int], Iterable[Scored]] = {}, mt: Mapping[str, Iterable[Scored]] = {}
) -> dict[str, Any]:
    """The tables a run with these records logs (no files written)."""
    return {name: table for built in built_tasks(jaster, mt) for name, table in built.tables.items()}

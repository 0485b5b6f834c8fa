"""MT-Bench aggregation against the golden files: recorded GPT-4 judgments -> Neo's tables, to 6 decimals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nejumi_plugin.family import live_block
from nejumi_plugin.tasks.mtbench.names import task_of
from nejumi_plugin.tasks.mtbench.tables import category_scores, leaderboard_table, radar_table, show_result

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "mtbench-golden"  # vendored: selftests/data/README.md


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cases(block: str) -> list[tuple[str, str]]:
    """(dataset, model) for every model of a block of expected_scores.json."""
    expected = json.loads((GOLDEN / "expected_scores.json").read_text(encoding="utf-8"))["datasets"]
    return [(name, model) for name, ds in expected.items() for model in ds[block]]


@pytest.mark.parametrize(("dataset", "model"), cases("B_nejumi_neo_mtbench_eval"))
def test_neo_tables_reproduce_the_golden_scores(dataset: str, model: str) -> None:
    spec = json.loads((GOLDEN / "expected_scores.json").read_text(encoding="utf-8"))["datasets"][dataset]
    want = spec["B_nejumi_neo_mtbench_eval"][model]
    root = GOLDEN.parent
    category_of = {int(q["question_id"]): q["category"] for q in read_jsonl(root / spec["question_file"])}
    judgments = [j for j in read_jsonl(root / spec["judgment_file"]) if j["model"] == model]
    scores = category_scores(judgments, category_of)
    radar = radar_table(scores)
    assert [r[0] for r in radar["data"]] == sorted(want["radar_table(mtbench_radar_table_{lang})"])
    assert {c: round(s, 6) for c, s in radar["data"]} == want["radar_table(mtbench_radar_table_{lang})"]
    board = leaderboard_table(model, scores)
    golden = want["leaderboard_table(mtbench_leaderboard_table_{lang})"]
    assert board["columns"] == golden["columns"]
    assert [board["data"][0][0]] + [round(v, 6) for v in board["data"][0][1:]] == golden["row"]
    block = dict(zip(board["columns"][1:], board["data"][0][1:]))
    renamed = {k: round(v, 6) for k, v in live_block(task_of(spec["language"]), block).items()}
    assert renamed == want["leaderboard_table_columns_after_rename"]


def test_minus_one_rows_are_dropped_and_duplicates_averaged_first() -> None:
    category_of = {1: "math", 2: "math", 3: "writing"}
    judgments = [
        {"question_id": 1, "turn": 1, "score": 4},
        {"question_id": 1, "turn": 1, "score": 8},  # one cell: 6
        {"question_id": 2, "turn": 1, "score": 9},
        {"question_id": 2, "turn": 2, "score": -1},  # -1 dropped
        {"question_id": 3, "turn": 1, "score": 7.5},
    ]
    scores = category_scores(judgments, category_of)
    assert scores == {"math": 7.5, "writing": 7.5}  # math = mean(6, 9), not mean(4, 8, 9)
    assert leaderboard_table("m", scores)["data"] == [["m", 7.5, 7.5, 7.5]]


@pytest.mark.parametrize(("dataset", "model"), cases("A_fastchat_show_result_single"))
def test_show_result_reproduces_the_golden_scores(dataset: str, model: str) -> None:
    spec = json.loads((GOLDEN / "expected_scores.json").read_text(encoding="utf-8"))["datasets"][dataset]
    judgments = [j for j in read_jsonl(GOLDEN.parent / spec["judgment_file"]) if j["model"] == model]
    got = {k: round(v, 6) if isinstance(v, float) else v for k, v in show_result(judgments).items()}
    assert got == spec["A_fastchat_show_result_single"][model]


SECTIONS = {"First turn": "turn1", "Second turn": "turn2", "Average": "average"}


@pytest.mark.parametrize("output", sorted(p.name for p in (GOLDEN / "show_result_outputs").glob("*.txt")))
def test_show_result_matches_the_original_programs_stdout(output: str) -> None:
    """Every number FastChat's own show_result.py printed (pandas display: 6 decimals, long names cut with '...')."""
    text = (GOLDEN / "show_result_outputs" / output).read_text(encoding="utf-8")
    judgments = read_jsonl(GOLDEN.parent / re.search(r"^Input file: (.+)$", text, re.M).group(1))
    models = sorted({j["model"] for j in judgments})
    printed: dict[tuple[str, str], float] = {}
    for title, block in re.findall(r"#+ (.+?) #+\n(.*?)(?=\n\n|\Z)", text, re.S):
        for name, cut, value in re.findall(r"^(\S+?)(\.\.\.)?\s+(?:[12]\s+)?(\d+\.\d+)$", block, re.M):
            (model,) = [m for m in models if m == name or (cut and m.startswith(name))]
            printed[(model, SECTIONS[title])] = float(value)
    assert len(printed) >= len(models)
    for (model, key), value in printed.items():
        assert round(show_result([j for j in judgments if j["model"] == model])[key], 6) == value


def test_show_result_counts_duplicates_twice_and_drops_minus_one() -> None:
    judgments = [
        {"question_id": 1, "turn": 1, "score": 4},
        {"question_id": 1, "turn": 1, "score": 8},  # both rows count
        {"question_id": 2, "turn": 1, "score": 9},
        {"question_id": 2, "turn": 2, "score": -1},  # -1 dropped
    ]
    assert show_result(judgments) == {"turn1": 7.0, "average": 7.0, "n_rows_used": 3, "n_rows_dropped_minus1": 1}
    judgments.append({"question_id": 2, "turn": 2, "score": 7.5})
    got = show_result(judgments)
    assert (got["turn2"], got["average"], got["n_rows_used"]) == (7.5, 7.125, 4)
    assert show_result([]) == {"n_rows_used": 0, "n_rows_dropped_minus1": 0}

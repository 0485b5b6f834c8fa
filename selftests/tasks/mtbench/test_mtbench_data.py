"""Loading MT-Bench data: the real ja/en/small sets load; every broken file fails with a message naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nejumi_plugin.tasks.mtbench.data import (
    CATEGORIES,
    JUDGE_PROMPTS,
    MtbenchDataError,
    find_file,
    load_judge_prompts,
    load_mtbench,
    load_questions,
    load_references,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "mtbench"  # vendored: selftests/data/README.md
KEYS = {
    "questions": "mtbench.dataset.ja.question_artifacts_path",
    "references": "mtbench.dataset.ja.referenceanswer_artifacts_path",
    "judge_prompts": "mtbench.dataset.ja.judge_prompt_artifacts_path",
}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def q(qid: int, category: str = "writing", turns: object = ("a", "b")) -> dict:
    return {"question_id": qid, "category": category, "turns": list(turns) if isinstance(turns, tuple) else turns}


def ref(qid: int, turns: tuple[str, ...] = ("r1", "r2")) -> dict:
    return {"question_id": qid, "answer_id": "x", "model_id": "gpt-4", "choices": [{"index": 0, "turns": list(turns)}]}


def prompt(name: str, **kw: str) -> dict:
    base = {
        "name": name,
        "type": "single",
        "system_prompt": "s",
        "prompt_template": "{question}",
        "description": "d",
        "category": "general",
        "output_format": "[[rating]]",
    }
    return {**base, **kw}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A minimal valid set: one writing and one math question, a reference for the math one, all four prompts."""
    write_jsonl(tmp_path / "q" / "question.jsonl", [q(1), q(2, "math")])
    write_jsonl(tmp_path / "r" / "gpt-4.jsonl", [ref(2)])
    write_jsonl(
        tmp_path / "p" / "judge_prompts.jsonl",
        [prompt("pair-v2", type="pairwise", output_format="[[A]]")] + [prompt(n) for n in JUDGE_PROMPTS],
    )
    return tmp_path


def load(root: Path, judge_model: str = "gpt-4"):
    return load_mtbench("ja", root / "q", root / "r", root / "p", judge_model, KEYS)


# --- the real data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "first_id", "n_refs"), [("ja", 1, 80), ("en", 81, 30)])
def test_real_sets_load(lang: str, first_id: int, n_refs: int) -> None:
    d = DATA / lang
    data = load_mtbench(lang, d, d, d, "gpt-4")
    assert len(data.questions) == 80 and data.questions[0].question_id == first_id
    assert sorted({x.category for x in data.questions}) == sorted(CATEGORIES[:8])
    assert all(sum(x.category == c for x in data.questions) == 10 for c in CATEGORIES[:8])
    assert len(data.references) == n_refs
    assert sum(data.needs_reference(x) for x in data.questions) == 30
    assert tuple(data.prompts) == JUDGE_PROMPTS
    assert data.files["references"] == str(d / "reference_answer" / "gpt-4.jsonl")
    if lang == "en":
        assert sorted(data.references) == list(range(101, 131))
    else:
        assert data.references[47][0] == "" and data.references[47][1]  # empty turn-1 reference is data
        assert all(
            "The expected language is Japanese." in p.prompt_template + p.system_prompt for p in data.prompts.values()
        )


@pytest.mark.parametrize(
    ("folder", "lang", "ids"),
    [
        ("ja_derived_v1.2", "ja", [1, 11, 21, 31, 41, 51, 61, 71]),
        ("ja_wandb_fastchat", "ja", [1, 11, 21, 31, 41, 51, 61, 71]),
        ("en_derived", "en", [81, 91, 101, 111, 121, 131, 141, 151]),
    ],
)
def test_small_sets_load(folder: str, lang: str, ids: list[int]) -> None:
    d = DATA / "small_for_test" / folder
    data = load_mtbench(lang, d, d, DATA / lang, "gpt-4")
    assert [x.question_id for x in data.questions] == ids
    assert len({x.category for x in data.questions}) == 8


def test_nejumi3_small_set_needs_its_reference_name() -> None:
    d = DATA / "small_for_test" / "ja_nejumi3"
    with pytest.raises(
        MtbenchDataError,
        match=rf"reference answer file not found in {d}: looked for gpt-4.jsonl.*"
        rf"set {KEYS['references']} to",
    ):
        load_mtbench("ja", d, d, DATA / "ja", "gpt-4", KEYS)
    data = load_mtbench("ja", d, d, DATA / "ja", "base-gpt4o-with-human-annotation")
    assert len(data.questions) == 8  # no trailing newline in that file
    assert data.files["references"].endswith("base-gpt4o-with-human-annotation.jsonl")


def test_raw_9f220b6_question_file_names_line_50() -> None:
    path = DATA / "ja" / "alt" / "question_v1.2_raw_9f220b6.jsonl"
    with pytest.raises(
        MtbenchDataError,
        match=rf"{path}:50: not valid JSON .*near '.*d\) \"3人の男の子.*'\); "
        rf"the line starts '\{{\"question_id\": 50",
    ):
        load_questions(path)


# --- layout ---------------------------------------------------------------------------------------------------


def test_reference_file_search_order(dataset: Path) -> None:
    assert load(dataset).files["references"] == str(dataset / "r" / "gpt-4.jsonl")
    write_jsonl(dataset / "r" / "reference_answer" / "gpt-4-0613.jsonl", [ref(2, ("x", "y"))])
    data = load(dataset, "gpt-4-0613")  # the judge's own name wins, even one folder down
    assert data.references[2] == ("x", "y")
    (dataset / "r" / "gpt-4.jsonl").rename(dataset / "r" / "reference_answer" / "gpt-4.jsonl")
    assert load(dataset).files["references"] == str(dataset / "r" / "reference_answer" / "gpt-4.jsonl")


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        (
            "q/question.jsonl",
            r"question file not found in .*/q: looked for question.jsonl; set mtbench.dataset.ja."
            r"question_artifacts_path",
        ),
        (
            "r/gpt-4.jsonl",
            r"reference answer file not found in .*/r: looked for gpt-4.jsonl, reference_answer/gpt-4."
            r"jsonl; set mtbench.dataset.ja.referenceanswer_artifacts_path",
        ),
        (
            "p/judge_prompts.jsonl",
            r"judge prompt file not found in .*/p: looked for judge_prompts.jsonl; set mtbench."
            r"dataset.ja.judge_prompt_artifacts_path",
        ),
    ],
)
def test_missing_files_name_folder_and_config_key(dataset: Path, remove: str, message: str) -> None:
    (dataset / remove).unlink()
    with pytest.raises(MtbenchDataError, match=message):
        load(dataset)


def test_without_keys_messages_name_the_argument(dataset: Path) -> None:
    with pytest.raises(MtbenchDataError, match=r"looked for judge_prompts.jsonl; set prompt_dir to the folder"):
        load_mtbench("ja", dataset / "q", dataset / "r", dataset / "q", "gpt-4")


def test_find_file_says_when_the_folder_is_missing(tmp_path: Path) -> None:
    message = r"nope \(the folder does not exist\): looked for a.jsonl, b.jsonl; set k"
    with pytest.raises(MtbenchDataError, match=message):
        find_file(tmp_path / "nope", ["a.jsonl", "b.jsonl"], "x file", "k")
    with pytest.raises(MtbenchDataError, match=r"question.jsonl: file not found"):
        load_questions(tmp_path / "question.jsonl")


# --- questions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([q(1), q(12, turns=["only one"])], r":2: question 12 has 1 turn; MT-Bench needs 2"),
        ([q(12, turns=["a", ""])], r":1: question 12 has an empty turn 2; MT-Bench needs 2 non-empty turns"),
        ([q(12, turns=["a", "b", "c"])], r":1: question 12 has 3 turns; MT-Bench needs 2"),
        ([q(12, turns="a")], r":1: question 12: 'turns' must be a list of 2 strings"),
        ([q(3, "poetry")], r":1: question 3 has unknown category 'poetry'; known: writing, roleplay, .*arena-hard-200"),
        ([q(1), q(2), q(1)], r":3: question 1 appears twice \(lines 1 and 3\); ids must be unique"),
        ([{"category": "math", "turns": ["a", "b"]}], r":1: missing key 'question_id'"),
        ([{"question_id": "x1", "category": "math", "turns": ["a", "b"]}], r":1: question_id 'x1' is not an integer"),
        ([{"question_id": 4, "turns": ["a", "b"]}], r":1: question 4 is missing key\(s\) category"),
        (
            [q(1), "", '{"question_id": 2, "category": "math" "turns": []}'],
            r":3: not valid JSON \(Expecting ',' "
            r"delimiter at column 39, near '.*math\" \"turns.*'\)",
        ),
        (["[1, 2]"], r":1: expected a JSON object, got list"),
    ],
)
def test_bad_question_files_name_file_line_and_question(tmp_path: Path, rows: list, message: str) -> None:
    path = write_jsonl(tmp_path / "question.jsonl", rows)
    with pytest.raises(MtbenchDataError, match=f"{path}{message}"):
        load_questions(path)


def test_questions_keep_file_order_cast_ids_and_ignore_extra_fields(tmp_path: Path) -> None:
    rows = [{**q("95", "roleplay"), "reference": ["ignored"]}, "", "   ", q(3, "math")]
    got = load_questions(write_jsonl(tmp_path / "question.jsonl", rows))
    want = [(95, "roleplay", ("a", "b")), (3, "math", ("a", "b"))]
    assert [(x.question_id, x.category, x.turns) for x in got] == want


# --- references and prompts -------------------------------------------------------------------------------------


def test_references_later_line_overwrites_and_empty_turns_are_data(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "gpt-4.jsonl", [ref(1, ("old", "old")), ref("2", ("", "t2")), ref(1, ("new", "n2"))])
    assert load_references(path) == {1: ("new", "n2"), 2: ("", "t2")}
    bad = write_jsonl(tmp_path / "bad.jsonl", [ref(1), {"question_id": 2, "choices": []}])
    with pytest.raises(MtbenchDataError, match=rf"{bad}:2: question 2: expected FastChat answer format"):
        load_references(bad)


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        (
            [],
            r"gpt-4.jsonl: no reference for question\(s\) 2, 3 \(math/reasoning/coding questions are judged against a "
            r"2-turn reference\); point mtbench.dataset.ja.referenceanswer_artifacts_path at",
        ),
        ([ref(2, ("only",)), ref(3)], r"gpt-4.jsonl: question\(s\) 2 have a reference without exactly 2 turns"),
    ],
)
def test_missing_reference_for_a_math_question(dataset: Path, refs: list, message: str) -> None:
    write_jsonl(dataset / "q" / "question.jsonl", [q(1), q(2, "math"), q(3, "coding")])
    write_jsonl(dataset / "r" / "gpt-4.jsonl", refs or [ref(1)])  # q1 is writing: its reference does not count
    with pytest.raises(MtbenchDataError, match=message):
        load(dataset)


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        (
            [prompt("single-v1"), prompt("single-math-v1")],
            r"judge_prompts.jsonl: missing judge prompt\(s\) "
            r"single-v1-multi-turn, single-math-v1-multi-turn",
        ),
        (
            [prompt(n, output_format="[[A]]" if n == "single-v1" else "[[rating]]") for n in JUDGE_PROMPTS],
            r"judge prompt 'single-v1' has output_format '\[\[A\]\]'; FastChat accepts only "
            r"\[\[rating\]\] or \[\[評価\]\]",
        ),
        (
            [prompt(n, type="pairwise" if n == "single-math-v1" else "single") for n in JUDGE_PROMPTS],
            r"judge prompt 'single-math-v1' has type 'pairwise'; expected 'single'",
        ),
    ],
)
def test_bad_prompt_sets(dataset: Path, prompts: list, message: str) -> None:
    write_jsonl(dataset / "p" / "judge_prompts.jsonl", prompts)
    with pytest.raises(MtbenchDataError, match=message):
        load(dataset)


def test_judge_prompts_parse_and_japanese_output_format_is_allowed(dataset: Path) -> None:
    write_jsonl(dataset / "p" / "judge_prompts.jsonl", [prompt(n, output_format="[[評価]]") for n in JUDGE_PROMPTS])
    data = load(dataset)
    assert data.prompts["single-math-v1"].output_format == "[[評価]]"
    assert data.needs_reference(data.questions[1]) and not data.needs_reference(data.questions[0])
    path = write_jsonl(dataset / "bad.jsonl", [prompt("single-v1", system_prompt=None), {"type": "single"}])
    message = rf"{path}:1: judge prompt 'single-v1': missing or non-string system_prompt"
    with pytest.raises(MtbenchDataError, match=message):
        load_judge_prompts(path)
    only_unknown = write_jsonl(dataset / "other.jsonl", [prompt("pair-v2", system_prompt=None)])
    assert load_judge_prompts(only_unknown) == {}  # prompts Neo does not use are not validated


def test_the_loaded_data_is_immutable(dataset: Path) -> None:
    data = load(dataset)
    with pytest.raises(AttributeError):
        data.questions[0].category = "math"  # type: ignore[misc]
    shutil.rmtree(dataset / "q")
    assert data.questions[0].turns == ("a", "b")

"""The judge calibration set: provenance and licence, counts as documented, prompts rebuilt byte for byte."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from nejumi_plugin.tasks.mtbench.calibration import (
    CALIBRATION_DIR,
    CalibrationDataError,
    CalibrationItem,
    load_calibration,
)
from nejumi_plugin.tasks.mtbench.data import CATEGORIES, MtbenchData, load_judge_prompts
from nejumi_plugin.tasks.mtbench.judge import JudgeSettings, make_matches

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "nejumi_plugin" / "demo_data" / "mtbench"
GOLDEN = REPO / "selftests" / "data" / "mtbench-golden"  # vendored: selftests/data/README.md
GOLDEN_FILES = {
    "ja-judgments": GOLDEN / "ja_wandb_fastchat_g-leaderboard" / "model_judgment" / "gpt-4_single.jsonl",
    "en-judgments": GOLDEN / "en_third_party_dreaming-panda_MTBench" / "model_judgment" / "gpt-4_single-origin.jsonl",
}
BUCKETS = ("1-2", "3-4", "5-6", "7-8", "9-10")


@pytest.fixture(scope="module")
def items() -> tuple[CalibrationItem, ...]:
    return load_calibration()


def provenance_table(heading: str) -> list[dict[str, str]]:
    """The first markdown table under `## <heading>` of PROVENANCE.md, as one dict per row."""
    text = (CALIBRATION_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    start = section.index("\n|") + 1
    lines = section[start:].split("\n\n", 1)[0].splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]


def bucket(rating: int) -> str:
    return BUCKETS[(rating - 1) // 2]


def test_the_set_covers_both_languages_every_category_and_the_whole_scale(items: tuple[CalibrationItem, ...]) -> None:
    assert 200 <= len(items) <= 500
    for language, turns in (("ja", {1}), ("en", {1, 2})):  # the Japanese judgments were made for turn 1 only
        mine = [i for i in items if i.language == language]
        assert {i.category for i in mine} == set(CATEGORIES[:8])
        assert {i.turn for i in mine} == turns
        assert {i.gpt4_rating for i in mine} == set(range(1, 11))
        assert len({i.model for i in mine}) == (7 if language == "ja" else 2)
    assert all(isinstance(i.gpt4_rating, int) and 1 <= i.gpt4_rating <= 10 for i in items)
    assert len({i.id for i in items}) == len(items)


def test_counts_per_language_category_turn_and_bucket_are_the_documented_ones(
    items: tuple[CalibrationItem, ...],
) -> None:
    rows = provenance_table("Counts")
    documented = {(r["language"], r["category"], int(r["turn"]), b): int(r[b]) for r in rows for b in BUCKETS}
    counted = Counter((i.language, i.category, i.turn, bucket(i.gpt4_rating)) for i in items)
    assert {k: v for k, v in documented.items() if v} == dict(counted)
    assert sum(int(r["total"]) for r in rows) == len(items)
    assert all(int(r["total"]) == sum(int(r[b]) for b in BUCKETS) for r in rows)


def test_provenance_names_every_source_as_a_shared_file_with_its_sha256_and_the_licence_is_there(
    items: tuple[CalibrationItem, ...],
) -> None:
    """Every source is a file of the shared reference data (a path relative to it, never a repository), every item
    names only listed sources, and the vendored judge prompts are byte copies of theirs."""
    sources = {r["id"]: r for r in provenance_table("Sources")}
    for row in sources.values():
        assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"]), row["id"]
        path = row["path"].strip("`")
        assert re.fullmatch(r"mtbench(-golden)?/[\w./+-]+\.jsonl", path) and ".." not in path, row["id"]
    used = {i.source for i in items} | {f"{i.language}-answers/{i.model}" for i in items}
    used |= {f"{lang}-{what}" for lang in ("ja", "en") for what in ("questions", "references")}
    prompt_files = sorted((CALIBRATION_DIR / "judge_prompts").glob("*.jsonl"))
    named = {
        json.loads(line)["judge_prompt_set"]
        for lang in ("ja", "en")
        for line in (CALIBRATION_DIR / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert {p.stem for p in prompt_files} == named
    used |= {p.stem for p in prompt_files}
    assert used <= set(sources)
    for path in prompt_files:  # byte copies: the same digests as their sources
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sources[path.stem]["sha256"]
    licence = (CALIBRATION_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    notice = (CALIBRATION_DIR / "NOTICE").read_text(encoding="utf-8")
    assert all(name in notice for name in ("lm-sys/FastChat", "Stability-AI/FastChat", "dreaming-panda/MTBench"))


def test_items_carry_the_texts_up_to_the_judged_turn(items: tuple[CalibrationItem, ...]) -> None:
    """A turn-1 item has no turn-2 question: it is not in the judged prompt (and not recorded for Japanese)."""
    for item in items:
        assert len(item.answers) == item.turn and (item.references is None or len(item.references) == item.turn)
        assert item.question.turns[0] and bool(item.question.turns[1]) == (item.turn == 2), item.id


def test_every_item_rebuilds_the_recorded_user_prompt_byte_for_byte(items: tuple[CalibrationItem, ...]) -> None:
    """The harness's `Match.user_prompt()` with the prompt GPT-4 was given hashes to the recorded prompt's sha256,
    and that digest and the rating are the ones of the recorded judgment row in the vendored golden file."""
    recorded: dict[tuple[str, str, int, int], dict] = {}
    for source, path in GOLDEN_FILES.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = (source, row["model"], int(row["question_id"]), row["turn"])
            if row["score"] != -1 and key not in recorded:  # the first readable row, as the build keeps
                recorded[key] = row
    for item in items:
        prompt = item.match().user_prompt()
        assert hashlib.sha256(prompt.encode("utf-8")).hexdigest() == item.recorded_user_prompt_sha256, item.id
        row = recorded[(item.source, item.model, item.question.question_id, item.turn)]
        assert row["user_prompt_sha256"] == item.recorded_user_prompt_sha256
        assert (row["score"], row["judge"][1]) == (item.gpt4_rating, item.judge_prompt)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_with_neo_prompts_the_match_is_the_one_a_run_makes(items: tuple[CalibrationItem, ...], language: str) -> None:
    prompts = load_judge_prompts(DEMO / language / "judge_prompts.jsonl")
    settings = JudgeSettings()
    for item in (i for i in items if i.language == language):
        q = item.question
        refs = {q.question_id: item.references} if item.references else {}
        data = MtbenchData(language, (q,), refs, prompts, {})
        answers = (item.answers[0], item.answers[1] if item.turn == 2 else "")
        want = make_matches(data, q, answers)[item.turn - 1]
        got = item.match(prompts)
        assert got.prompt == want.prompt and got.user_prompt() == want.user_prompt()
        assert got.request(settings) == want.request(settings)


def test_recorded_judge_prompts_against_neo_prompts(items: tuple[CalibrationItem, ...]) -> None:
    """English: GPT-4 was given Neo's prompts. Japanese: Stability's Japanese prompts, not Neo's (PROVENANCE.md)."""
    folder = CALIBRATION_DIR / "judge_prompts"
    assert (folder / "en-prompts-4ec7524.jsonl").read_bytes() == (DEMO / "en" / "judge_prompts.jsonl").read_bytes()
    neo_ja = load_judge_prompts(DEMO / "ja" / "judge_prompts.jsonl")
    for item in items:
        if item.language == "en":
            assert (
                item.match().user_prompt()
                == item.match(load_judge_prompts(DEMO / "en" / "judge_prompts.jsonl")).user_prompt()
            )
        else:
            assert item.recorded_prompt.output_format == "[[評価]]" and neo_ja[item.judge_prompt].output_format == (
                "[[rating]]"
            )


def test_items_are_immutable(items: tuple[CalibrationItem, ...]) -> None:
    with pytest.raises(AttributeError):
        items[0].gpt4_rating = 5  # type: ignore[misc]


def first_row(language: str) -> dict:
    return json.loads((CALIBRATION_DIR / f"{language}.jsonl").read_text(encoding="utf-8").split("\n", 1)[0])


def with_rows(tmp_path: Path, rows: list[object], language: str = "en") -> Path:
    (tmp_path / "judge_prompts").mkdir(exist_ok=True)
    for path in (CALIBRATION_DIR / "judge_prompts").glob("*.jsonl"):
        (tmp_path / "judge_prompts" / path.name).write_bytes(path.read_bytes())
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    (tmp_path / f"{language}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gpt4_rating": -1}, r"gpt4_rating -1 \(GPT-4's ratings are 1..10"),
        ({"gpt4_rating": 8.5}, r"missing or mistyped field\(s\) gpt4_rating"),
        ({"turn": 2}, r"needs 2 question\(s\) and 2 answer\(s\)"),
        ({"questions": ["q1", "q2"]}, r"needs 1 question\(s\) and 1 answer\(s\)"),
        ({"category": "poetry"}, r"unknown category 'poetry'"),
        ({"language": "ja"}, r"language 'ja' in the en file"),
        ({"judge_prompt": "pair-v2"}, r"unknown judge_prompt 'pair-v2'"),
        ({"judge_prompt_set": "ja-nope"}, r"judge_prompt_set 'ja-nope': .*ja-nope.jsonl not found"),
        ({"judge_prompt_set": "../x"}, r"judge_prompt_set '../x'"),
        ({"answers": None}, r"mistyped field\(s\) answers"),
    ],
)
def test_a_broken_item_names_file_line_and_problem(tmp_path: Path, change: dict, message: str) -> None:
    good = first_row("en")
    folder = with_rows(tmp_path, [good, "", {**good, "id": "x", **change}])
    with pytest.raises(CalibrationDataError, match=rf"en.jsonl:3: .*{message}"):
        load_calibration(["en"], folder)


def test_duplicate_ids_bad_json_and_missing_files_are_errors(tmp_path: Path) -> None:
    good = first_row("en")
    with pytest.raises(CalibrationDataError, match=r"en.jsonl:2: item '.*' appears twice"):
        load_calibration(["en"], with_rows(tmp_path, [good, good]))
    with pytest.raises(CalibrationDataError, match=r"en.jsonl:1: not valid JSON"):
        load_calibration(["en"], with_rows(tmp_path, ["{"]))
    with pytest.raises(CalibrationDataError, match=r"ja.jsonl: file not found"):
        load_calibration(["ja"], with_rows(tmp_path, [good]))
    ja = first_row("ja")
    with pytest.raises(CalibrationDataError, match=r"judge prompt set 'ja-prompts-6006cf5' has no 'single-v1-multi"):
        load_calibration(["ja"], with_rows(tmp_path, [{**ja, "judge_prompt": "single-v1-multi-turn"}], "ja"))

"""The calibration build's own logic (bench/calibration): splitting a recorded prompt back into its values, and the
balanced, seeded selection. The shared data itself is not read here (a clone has none)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.calibration.fields import AmbiguousSplit, split_prompt
from bench.calibration.selection import CAP, select
from nejumi_plugin.tasks.mtbench.data import JUDGE_PROMPTS, Question, load_judge_prompts
from nejumi_plugin.tasks.mtbench.judge import Match

PROMPTS = Path(__file__).resolve().parents[1] / "nejumi_plugin/tasks/mtbench/calibration_data/judge_prompts"
TEXTS = {
    "question": ("Q1 with {braces} and [Question]\n", "Q2 {x}"),
    "answer": ("A1 {answer_1}\n\n", "A2 [[8]]"),
    "reference": ("R1 {ref_answer_1}", "R2"),
}


def match(template_file: str, name: str) -> Match:
    prompt = load_judge_prompts(PROMPTS / template_file)[name]
    turn = 2 if "multi-turn" in name else 1
    refs = TEXTS["reference"] if "math" in name else None
    return Match(Question(1, "math", TEXTS["question"]), turn, prompt, TEXTS["answer"], refs)


@pytest.mark.parametrize("name", JUDGE_PROMPTS)
def test_a_rebuilt_prompt_splits_back_into_the_values_it_was_built_from(name: str) -> None:
    m = match("en-prompts-4ec7524.jsonl", name)
    values = split_prompt(m.prompt.prompt_template, m.user_prompt())
    q, a, r = TEXTS["question"], TEXTS["answer"], TEXTS["reference"]
    if m.turn == 1:
        want = {"question": q[0], "answer": a[0]} | ({"ref_answer_1": r[0]} if m.references else {})
    else:
        want = {"question_1": q[0], "question_2": q[1], "answer_1": a[0], "answer_2": a[1]}
        want |= {"ref_answer_1": r[0], "ref_answer_2": r[1]} if m.references else {}
    assert values == want


def test_a_prompt_of_another_template_does_not_split() -> None:
    en = match("en-prompts-4ec7524.jsonl", "single-v1")
    for other in ("ja-prompts-6006cf5.jsonl", "ja-prompts-9ade766.jsonl"):
        template = load_judge_prompts(PROMPTS / other)["single-v1"].prompt_template
        assert split_prompt(template, en.user_prompt()) is None
    math = match("en-prompts-4ec7524.jsonl", "single-math-v1")
    assert split_prompt(en.prompt.prompt_template, math.user_prompt()) is None
    # a placeholder used twice must hold the same text twice
    multi = match("en-prompts-4ec7524.jsonl", "single-math-v1-multi-turn")
    tampered = multi.user_prompt().replace("Q2 {x}", "Q2 {y}", 1)
    assert split_prompt(multi.prompt.prompt_template, tampered) is None


def test_a_prompt_whose_values_hold_the_template_pieces_is_ambiguous() -> None:
    """An answer that contains the template's text between question and answer could belong to either."""
    prompt = load_judge_prompts(PROMPTS / "ja-prompts-6006cf5.jsonl")["single-v1"]
    built = prompt.prompt_template.format(question="質問", answer="前半\n\n[アシスタントの回答の開始]\n後半")
    with pytest.raises(AmbiguousSplit):
        split_prompt(prompt.prompt_template, built)
    plain = prompt.prompt_template.format(question="質問", answer="回答")
    assert split_prompt(prompt.prompt_template, plain) == {"question": "質問", "answer": "回答"}


def pool(language: str, turns: int) -> list[dict]:
    """Two models x 12 questions x the turns, ratings 1 and 2 (one stratum per turn), every item distinct."""
    return [
        {
            "id": f"{language}-q{q}-t{t}-{m}",
            "language": language,
            "question_id": q,
            "category": "writing",
            "turn": t,
            "model": m,
            "gpt4_rating": 1 + (q % 2),
        }
        for q in range(12)
        for t in range(1, turns + 1)
        for m in ("a", "b")
    ]


@pytest.mark.parametrize(("language", "turns"), [("ja", 1), ("en", 2)])
def test_selection_caps_each_stratum_spreads_ratings_and_models_and_ignores_input_order(
    language: str, turns: int
) -> None:
    items = pool(language, turns)
    chosen = select(items, turns)
    shuffled = items[:]
    random.Random(0).shuffle(shuffled)
    assert select(shuffled, turns) == chosen
    for turn in range(1, turns + 1):
        mine = [i for i in chosen if i["turn"] == turn]
        assert len(mine) == CAP // turns
        ratings = [i["gpt4_rating"] for i in mine]
        models = [i["model"] for i in mine]
        assert abs(ratings.count(1) - ratings.count(2)) <= 1 and abs(models.count("a") - models.count("b")) <= 1
        assert len({i["question_id"] for i in mine}) == len(mine)


def test_a_stratum_with_fewer_items_than_the_cap_is_taken_whole() -> None:
    items = pool("ja", 1)[:4]
    assert sorted(i["id"] for i in select(items, 1)) == sorted(i["id"] for i in items)

"""The judge: the exact requests sent (docs/scoring-mtbench.md, "The judge request"), Neo's retry rule, replays from the CallStore."""

from __future__ import annotations

from pathlib import Path

import pytest

from nejumi_plugin.backends.base import BackendError, GenerationRequest
from nejumi_plugin.backends.mock import MockBackend
from nejumi_plugin.engine import Engine
from nejumi_plugin.store import CallStore
from nejumi_plugin.tasks.mtbench.data import MtbenchData, load_mtbench
from nejumi_plugin.tasks.mtbench.judge import JudgeSettings, judge_all, make_matches

DEMO = Path(__file__).resolve().parents[3] / "nejumi_plugin" / "demo_data" / "mtbench"
JA_SENTENCE = (
    " The expected language is Japanese. Responses in languages other than Japanese will incur score deductions "
    "unless specifically required. Failure to use Japanese at all will result in the lowest evaluation. However, "
    "using Japanese is not mandatory when providing only Python scripts or calculation results, where Japanese is "
    "not essential. Additionally, your explanation of judgement should be in Japanese."
)
FORMAT = (
    " After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following "
    'this format: "[[rating]]", for example: "Rating: [[5]]".'
)
GENERAL = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the "
    "user question displayed below. Your evaluation should consider factors such as the helpfulness, relevance, "
    "accuracy, depth, creativity, and level of detail of the response."
)
MATH = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the "
    "user question displayed below. Your evaluation should consider correctness and helpfulness. You will be given "
    "a reference answer and the assistant's answer."
)
MATH_MT = MATH.replace("the user question displayed below", "the user question")


def data(language: str) -> MtbenchData:
    folder = DEMO / language
    return load_mtbench(language, folder, folder, folder, "gpt-4")


def sent(language: str, question_id: int, turn: int) -> GenerationRequest:
    d = data(language)
    question = next(q for q in d.questions if q.question_id == question_id)
    return make_matches(d, question, ("A1 {not a field}", "A2"))[turn - 1].request(JudgeSettings())


@pytest.mark.parametrize("language", ["ja", "en"])
def test_single_v1_turn_1_is_sent_byte_for_byte(language: str) -> None:
    qid = {"ja": 71, "en": 81}[language]
    q1 = next(q for q in data(language).questions if q.question_id == qid).turns[0]
    extra = JA_SENTENCE if language == "ja" else ""
    user = (
        f"[Instruction]\n{GENERAL} Begin your evaluation by providing a short explanation. Be as objective as possible."
        f"{extra}{FORMAT}\n\n[Question]\n{q1}\n\n[The Start of Assistant's Answer]\nA1 {{not a field}}\n"
        "[The End of Assistant's Answer]"
    )
    request = sent(language, qid, 1)
    assert request.messages == (("system", "You are a helpful assistant."), ("user", user))
    assert (request.temperature, request.max_new_tokens, request.prompt) == (0.0, 2048, "")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_single_math_v1_turn_1_carries_the_turn_1_reference(language: str) -> None:
    d = data(language)
    qid = {"ja": 1, "en": 101}[language]
    q1 = next(q for q in d.questions if q.question_id == qid).turns[0]
    extra = JA_SENTENCE if language == "ja" else ""
    user = (
        f"[Instruction]\n{MATH} Begin your evaluation by comparing the assistant's answer with the reference answer. "
        f"Identify and correct any mistakes. Be as objective as possible.{extra}{FORMAT}\n\n[Question]\n{q1}\n\n"
        f"[The Start of Reference Answer]\n{d.references[qid][0]}\n[The End of Reference Answer]\n\n"
        "[The Start of Assistant's Answer]\nA1 {not a field}\n[The End of Assistant's Answer]"
    )
    assert sent(language, qid, 1).messages == (("system", "You are a helpful assistant."), ("user", user))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_multi_turn_prompts_are_sent_byte_for_byte(language: str) -> None:
    d = data(language)
    extra = JA_SENTENCE if language == "ja" else ""
    general_id, math_id = {"ja": (71, 41), "en": (81, 111)}[language]
    q = next(q for q in d.questions if q.question_id == general_id).turns
    system = (
        f"{GENERAL} You evaluation should focus on the assistant's answer to the second user question. Begin your "
        f"evaluation by providing a short explanation. Be as objective as possible.{extra}{FORMAT}\n\n"
    )
    conversation = (
        f"<|The Start of Assistant A's Conversation with User|>\n\n### User:\n{q[0]}\n\n### Assistant A:\n"
        f"A1 {{not a field}}\n\n### User:\n{q[1]}\n\n### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation "
        "with User|>"
    )
    assert sent(language, general_id, 2).messages == (("system", system), ("user", conversation))
    q = next(q for q in d.questions if q.question_id == math_id).turns
    ref = d.references[math_id]
    system = (
        f"{MATH_MT} You evaluation should focus on the assistant's answer to the second question. Begin your "
        "evaluation by comparing the assistant's answer with the reference answer. Identify and correct any "
        f"mistakes. Be as objective as possible.{extra}{FORMAT}\n\n"
    )
    user = (
        f"<|The Start of Reference Answer|>\n\n### User:\n{q[0]}\n\n### Reference answer:\n{ref[0]}\n\n### User:\n"
        f"{q[1]}\n\n### Reference answer:\n{ref[1]}\n\n<|The End of Reference Answer|>\n\n\n"
        f"<|The Start of Assistant A's Conversation with User|>\n\n### User:\n{q[0]}\n\n### Assistant A:\n"
        f"A1 {{not a field}}\n\n### User:\n{q[1]}\n\n### Assistant A:\nA2\n\n<|The End of Assistant A's Conversation "
        "with User|>"
    )
    assert sent(language, math_id, 2).messages == (("system", system), ("user", user))


def judge_setup(tmp_path: Path, reply) -> tuple[MockBackend, Engine, dict]:
    backend = MockBackend(reply=reply)
    engine = Engine(backend, CallStore(tmp_path / "calls.sqlite"))
    d = data("en")
    matches = {f"{q.question_id}/{m.turn}": m for q in d.questions[:2] for m in make_matches(d, q, ("a", "b"))}
    return backend, engine, matches


def test_the_judge_is_asked_again_while_the_rating_is_not_1_to_10(tmp_path: Path) -> None:
    script = {0: "Rating: [[7.5]]", 1: "no rating", 2: "[[0]]"}
    backend, engine, matches = judge_setup(tmp_path, lambda r: script[r.draw])
    verdicts = judge_all(engine, matches, JudgeSettings())
    assert len(backend.seen) == 3 * len(matches)  # every match used all three attempts
    # the last answer and its rating are kept
    assert all(
        (v.judgment, v.score, v.calls, v.made, len(v.replies)) == ("[[0]]", 0, 3, 3, 3) for v in verdicts.values()
    )


def test_a_final_rating_stops_the_retries_and_a_rerun_replays_every_attempt(tmp_path: Path) -> None:
    backend, engine, matches = judge_setup(tmp_path, lambda r: "[[11]]" if r.draw == 0 else "Rating: [[6]]")
    first = judge_all(engine, matches, JudgeSettings())
    assert {v.score for v in first.values()} == {6} and len(backend.seen) == 2 * len(matches)
    again = judge_all(engine, matches, JudgeSettings())
    assert len(backend.seen) == 2 * len(matches)  # nothing asked twice
    assert all(v.made == 0 and v.calls == 2 and v.score == 6 for v in again.values())


def test_a_deterministic_judge_is_asked_once_and_a_failing_judge_fails_the_match(tmp_path: Path) -> None:
    backend, engine, matches = judge_setup(tmp_path, lambda r: "no rating")
    verdicts = judge_all(engine, matches, JudgeSettings(max_calls=1))
    assert len(backend.seen) == len(matches) and {v.score for v in verdicts.values()} == {-1}
    _, failing, _ = judge_setup(tmp_path / "f", lambda r: BackendError("503 from the judge"))
    assert all(isinstance(v, BackendError) for v in judge_all(failing, matches, JudgeSettings()).values())

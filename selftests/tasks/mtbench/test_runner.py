"""Answer generation in two rounds, FastChat's post-processing, then the judge; a failure fails only its question."""

from __future__ import annotations

from pathlib import Path

import pytest

from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest
from nejumi_plugin.backends.mock import MockBackend
from nejumi_plugin.engine import Engine
from nejumi_plugin.store import CallStore
from nejumi_plugin.tasks.mtbench.cases import MtbenchCase
from nejumi_plugin.tasks.mtbench.conversation import CustomTemplate, TokenizerTemplate
from nejumi_plugin.tasks.mtbench.data import load_mtbench
from nejumi_plugin.tasks.mtbench.judge import JudgeSettings
from nejumi_plugin.tasks.mtbench.runner import OUTPUT_COLUMNS, MtbenchOptions, MtbenchRunner, QuestionError

DEMO = Path(__file__).resolve().parents[3] / "nejumi_plugin" / "demo_data" / "mtbench" / "ja"
TEMPLATE = CustomTemplate("SYS", ("指示", "応答"), "\n### ", "###", (2,), ": ", ": ")


def turn_of(request: GenerationRequest) -> int:
    text = request.prompt or "".join(c for _, c in request.messages)
    return text.count("指示") if request.prompt else sum(1 for role, _ in request.messages if role == "user")


def make_runner(tmp_path: Path, answer, judge=lambda r: "Rating: [[7]]", api: bool = False, template=TEMPLATE):
    data = load_mtbench("ja", DEMO, DEMO, DEMO, "gpt-4")
    answerer, judge_backend = MockBackend(reply=answer, name="model"), MockBackend(reply=judge, name="judge")
    calls = CallStore(tmp_path / "calls.sqlite")
    options = MtbenchOptions("ja", "org/model", template, api, 0.1, 32, JudgeSettings())
    runner = MtbenchRunner(data, Engine(answerer, calls), Engine(judge_backend, calls), options)
    cases = [MtbenchCase("ja", q.question_id, q.category) for q in data.questions]
    return runner, cases, answerer, judge_backend


def test_turn_two_is_conditioned_on_the_post_processed_turn_one_answer(tmp_path: Path) -> None:
    runner, cases, answerer, judge = make_runner(tmp_path, lambda r: f" answer {turn_of(r)} ###\n### 指示: junk")
    runner.prepare(cases)
    assert len(answerer.seen) == 16 and len(judge.seen) == 16  # 8 turn-1 answers, then 8 turn-2, then 16 judgments
    assert [turn_of(r) for r in answerer.seen] == [1] * 8 + [2] * 8
    second = answerer.seen[8]
    assert second.prompt.endswith("### 応答: answer 1\n### 指示: " + runner.data.questions[0].turns[1] + "\n### 応答: ")
    assert second.add_special_tokens and second.model_eos and second.stop == ("###",) and second.stop_token_ids == (2,)
    record = runner.score(cases[0])
    assert [row["answer"] for row in record.rows] == ["answer 1", "answer 2"]
    assert list(record.rows[0]) == list(OUTPUT_COLUMNS)
    assert record.rows[1]["judge"] == ["gpt-4", "single-math-v1-multi-turn"]  # q1 is coding: reference-based
    assert record.rows[0]["model"] == "org/model" and record.rows[0]["score"] == 7


def test_local_temperatures_follow_fastchat_and_api_models_use_one(tmp_path: Path) -> None:
    runner, cases, answerer, _ = make_runner(tmp_path, lambda r: "x")
    runner.prepare(cases)
    by_category = {c.category: r.temperature for c, r in zip(cases, answerer.seen[:8])}
    assert by_category == {
        "coding": 0.0,
        "extraction": 0.0,
        "humanities": 0.1,
        "math": 0.0,
        "reasoning": 0.0,
        "roleplay": 0.7,
        "stem": 0.1,
        "writing": 0.7,
    }
    runner, cases, answerer, _ = make_runner(tmp_path / "api", lambda r: "x", api=True)
    runner.prepare(cases)
    assert {r.temperature for r in answerer.seen} == {0.1}
    assert all(r.messages and not r.stop and not r.model_eos for r in answerer.seen)
    assert answerer.seen[8].messages[:4] == (
        ("system", "SYS"),
        ("user", runner.data.questions[0].turns[0]),
        ("assistant", "x"),
        ("user", runner.data.questions[0].turns[1]),
    )


def test_a_stop_string_at_index_zero_is_generated_again_without_stops(tmp_path: Path) -> None:
    def answer(request: GenerationRequest) -> Completion:
        if request.stop:
            return Completion("###", 0.1, "stop")
        return Completion("### heading\nbody ###", 0.1, "eos")

    runner, cases, answerer, _ = make_runner(tmp_path, answer)
    runner.prepare(cases[:1])
    assert [bool(r.stop) for r in answerer.seen] == [True, False, True, False]
    assert runner.score(cases[0]).rows[0]["answer"] == "### heading\nbody ###"  # FastChat keeps it all


def test_the_tokenizer_template_sends_messages(tmp_path: Path) -> None:
    runner, cases, answerer, _ = make_runner(tmp_path, lambda r: "x", template=TokenizerTemplate())
    runner.prepare(cases[:1])
    assert answerer.seen[0].messages == (("user", runner.data.questions[0].turns[0]),)
    assert not answerer.seen[0].add_special_tokens and answerer.seen[0].model_eos


def test_a_failed_answer_or_judgment_fails_only_its_question(tmp_path: Path) -> None:
    last = load_mtbench("ja", DEMO, DEMO, DEMO, "gpt-4").questions[-1].turns[0]
    runner, cases, _, _ = make_runner(tmp_path, lambda r: BackendError("out of memory") if last in r.prompt else "ok")
    runner.prepare(cases)
    with pytest.raises(QuestionError, match="no answer: out of memory"):
        runner.score(cases[-1])
    assert runner.score(cases[0]).rows[1]["answer"] == "ok"
    runner, cases, _, _ = make_runner(tmp_path / "j", lambda r: "a", judge=lambda r: BackendError("judge down"))
    with pytest.raises(QuestionError, match="the judge failed: judge down"):
        runner.score(cases[0])

"""`api: mock`: rules from the config, answers a function of the request, rule errors naming their key."""

from __future__ import annotations

from typing import Any

from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest, Thinking
from nejumi_plugin.backends.factory import judge_backend, model_backend
from nejumi_plugin.backends.mock import MockBackend
from nejumi_plugin.config import RunConfig

RULES = {
    "answers": [
        {"match": "Rating", "choices": ["Rating: [[3]]", "Rating: [[7]]"]},
        {"match": "^Question: (?P<q>.*)$", "answer": "{q}!", "thinking": "let me see"},
        {"match": "flaky", "error": "a 503"},
    ],
    "default": "no idea",
}


def mock(rules: dict[str, Any] = RULES, name: str = "rules-v1") -> MockBackend:
    cfg = RunConfig.model_validate({"model": {"api": "mock", "pretrained_model_name_or_path": name, "options": rules}})
    backend = model_backend(cfg, name)
    assert isinstance(backend, MockBackend)
    return backend


def answers(backend: MockBackend, *requests: GenerationRequest) -> list[Completion | BackendError]:
    out = dict(backend.generate(requests))
    return [out[i] for i in range(len(requests))]


def test_the_first_matching_rule_answers() -> None:
    chat = GenerationRequest("", 8, messages=(("system", "Rating"), ("user", "Question: two plus two")))
    done = answers(
        mock(),
        GenerationRequest("intro\nQuestion: why\nmore", 8),
        chat,
        GenerationRequest("a flaky one", 8),
        GenerationRequest("anything", 8),
    )
    assert [getattr(c, "text", None) for c in done] == ["why!", "two plus two!", None, "no idea"]
    assert isinstance(done[2], BackendError) and str(done[2]) == "a 503"  # fails alone; the next is answered
    assert all(c.finish_reason == "eos" and c.thinking == "" for c in done if isinstance(c, Completion))


def test_choices_are_picked_by_the_text_alone() -> None:
    prompts = [f"Rating prompt {i}" for i in range(40)]
    first = [c.text for c in answers(mock(), *(GenerationRequest(p, 8) for p in prompts))]  # type: ignore[union-attr]
    again = [c.text for c in answers(mock(), *(GenerationRequest(p, 8) for p in reversed(prompts)))]  # type: ignore[union-attr]
    assert first == again[::-1] and set(first) == {"Rating: [[3]]", "Rating: [[7]]"}


def test_thinking_only_when_asked_to_think() -> None:
    asked = GenerationRequest("Question: q", 8, thinking=Thinking(64))
    (thought,), (plain,) = answers(mock(), asked), answers(mock(), GenerationRequest("Question: q", 8))
    assert isinstance(thought, Completion) and (thought.text, thought.thinking) == ("q!", "let me see")
    assert isinstance(plain, Completion) and plain.thinking == ""


def test_other_rules_are_another_model() -> None:
    other = {**RULES, "default": "still no idea"}
    assert mock().identity() == mock().identity() != mock(other).identity()
    assert mock().identity()["model"] == "rules-v1"


def test_a_judge_can_be_a_mock() -> None:
    cfg = RunConfig.model_validate({"mtbench": {"judge": {"api": "mock", "model": "j", "options": RULES}}})
    (verdict,) = answers(judge_backend(cfg, "j"), GenerationRequest("Rating please", 8))  # type: ignore[arg-type]
    assert isinstance(verdict, Completion) and verdict.text in ("Rating: [[3]]", "Rating: [[7]]")


def test_a_test_double_from_a_function() -> None:
    backend = MockBackend(reply=lambda r: BackendError("no") if r.prompt == "bad" else r.prompt.upper(), name="echo")
    done = answers(backend, GenerationRequest("bad", 4), GenerationRequest("ok", 4))
    assert isinstance(done[0], BackendError) and isinstance(done[1], Completion) and done[1].text == "OK"
    assert [r.prompt for r in backend.seen] == ["bad", "ok"] and backend.identity() == {
        "backend": "mock",
        "model": "echo",
    }

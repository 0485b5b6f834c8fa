"""The engine answers from the CallStore first and stores every completion the moment it arrives."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest
from nejumi_plugin.engine import Engine
from nejumi_plugin.store import CallStore


class EchoBackend:
    """Answers with the prompt upper-cased; can be told to fail after `fail_after` completions."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.seen: list[str] = []
        self.fail_after = fail_after

    def identity(self) -> dict[str, Any]:
        return {"backend": "echo"}

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        for i, req in enumerate(requests):
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise BackendError("boom")
            self.seen.append(req.prompt)
            yield i, Completion(req.prompt.upper(), 0.01, output_tokens=1)

    def close(self) -> None:
        pass


def req(prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt, 3, ("\n\n",))


def test_cached_requests_are_not_generated_again(tmp_path: Path) -> None:
    backend = EchoBackend()
    engine = Engine(backend, CallStore(tmp_path / "calls.sqlite"))
    first = engine.answer({"a": req("x"), "b": req("y"), "c": req("x")})
    assert backend.seen == ["x", "y"]  # the duplicate prompt is generated once
    assert first["a"].text == first["c"].text == "X" and not first["a"].cached
    second = Engine(EchoBackend(), CallStore(tmp_path / "calls.sqlite"))  # a new process, same run directory
    again = second.answer({"a": req("x"), "d": req("z")})
    assert again["a"].cached and again["a"].text == "X" and not again["d"].cached
    assert second.backend.seen == ["z"] and second.stats.cached == 1 and second.stats.generated == 1


def test_identity_and_request_fields_are_part_of_the_key(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.sqlite")
    Engine(EchoBackend(), store).answer({"a": req("x")})
    other = EchoBackend()
    other.identity = lambda: {"backend": "echo", "model": "other"}  # type: ignore[method-assign]
    Engine(other, store).answer({"a": req("x")})
    engine = Engine(EchoBackend(), store)
    engine.answer({"a": GenerationRequest("x", 4, ("\n\n",))})
    assert other.seen == ["x"] and engine.backend.seen == ["x"] and len(store) == 3


def test_a_failing_backend_keeps_what_was_already_generated(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.sqlite")
    engine = Engine(EchoBackend(fail_after=1), store)
    out = engine.answer({"a": req("x"), "b": req("y")})
    assert out["a"].text == "X" and isinstance(out["b"], BackendError)
    assert len(store) == 1 and engine.stats.failed == 1


def test_a_request_that_fails_alone_fails_alone_and_is_not_stored(tmp_path: Path) -> None:
    from nejumi_plugin.backends.mock import MockBackend

    one_bad = MockBackend(reply=lambda r: BackendError("refused") if r.prompt == "bad" else r.prompt)
    store = CallStore(tmp_path / "calls.sqlite")
    engine = Engine(one_bad, store)
    out = engine.answer({"a": req("bad"), "b": req("good"), "c": req("bad")})
    assert isinstance(out["a"], BackendError) and out["a"] is out["c"] and out["b"].text == "good"
    assert len(store) == 1 and engine.stats.failed == 2 and engine.stats.generated == 1


def test_replay_never_asks_the_backend(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.sqlite")
    Engine(EchoBackend(), store).answer({"a": req("x")})
    backend = EchoBackend()
    out = Engine(backend, store, replay=True).answer({"a": req("x"), "b": req("y")})
    assert out["a"].text == "X" and backend.seen == []
    assert isinstance(out["b"], BackendError) and str(out["b"]).startswith("--replay: b has no stored call in")


class InFlightBackend(EchoBackend):
    """Yields its answers; told to stop (Ctrl-C), it still hands over the one it had in flight, then stops."""

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        try:
            for i in range(len(requests) - 1):
                yield i, Completion(requests[i].prompt.upper(), 0.01)
        except KeyboardInterrupt:
            last = len(requests) - 1
            yield last, Completion(requests[last].prompt.upper(), 0.01)
            raise


class CtrlCOnce(CallStore):
    """A store that is interrupted in the middle of its `interrupt_at`-th write (the write is rolled back)."""

    interrupt_at = 2
    writes = 0

    def put(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        if self.writes == self.interrupt_at:
            raise KeyboardInterrupt
        super().put(*args, **kwargs)


def test_ctrl_c_while_storing_keeps_that_answer_and_those_in_flight(tmp_path: Path) -> None:
    store = CtrlCOnce(tmp_path / "calls.sqlite")
    engine = Engine(InFlightBackend(), store)
    with pytest.raises(KeyboardInterrupt):
        engine.answer({p: req(p) for p in ("a", "b", "c", "d")})
    again = Engine(EchoBackend(), CallStore(tmp_path / "calls.sqlite"))
    answers = again.answer({p: req(p) for p in ("a", "b", "c", "d")})
    assert again.backend.seen == ["c"]  # a (stored), b (its write interrupted, then stored), d (in flight) kept
    assert {name: a.text for name, a in answers.items()} == {"a": "A", "b": "B", "c": "C", "d": "D"}

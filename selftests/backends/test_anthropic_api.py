"""The Anthropic backend against recorded Messages API exchanges, served by a real local HTTP server
(pytest-httpserver): request shape, retries, errors, timeouts, malformed answers, refusals and keys."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import results, sent
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from nejumi_plugin.backends.anthropic_api import AnthropicBackend
from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest

MODEL = "claude-3-5-sonnet-20241022"
KEY = "sk-ant-test-key-123"
PATH = "/v1/messages"  # the SDK appends "v1/messages" to base_url (a trailing slash is added if missing)
CHAT = GenerationRequest(
    "",
    64,
    stop=("。",),
    temperature=0.0,
    messages=(
        ("system", "簡潔に答えて"),
        ("user", "日本の首都は？"),
        ("assistant", "日本の首都は"),
        ("user", "続けて"),
    ),
)
PLAIN = GenerationRequest("1+1=", 5)


def message(text: str = "東京です", stop_reason: str | None = "end_turn", **kw: Any) -> dict[str, Any]:
    """A Messages API answer as Anthropic documents it."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 4},
        **kw,
    }


def error(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_BASE_URL"):  # read by the SDK
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return KEY


@pytest.fixture
def make(httpserver: HTTPServer) -> Iterator[Callable[..., AnthropicBackend]]:
    backends: list[AnthropicBackend] = []

    def factory(**kw: Any) -> AnthropicBackend:
        kw = {"max_retries": 3, "retry_wait_s": 0.001, "concurrency": 1, **kw}
        base_url = httpserver.url_for("").rstrip("/")
        backends.append(AnthropicBackend(ApiSettings(model=MODEL, provider="anthropic", base_url=base_url, **kw)))
        return backends[-1]

    yield factory
    for backend in backends:
        backend.close()


def test_request_shape_and_completion(key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        message("東京です", "stop_sequence", stop_sequence="。", usage={"input_tokens": 31, "output_tokens": 5})
    )
    backend = make()
    completion = results(backend, [CHAT])[0]
    assert isinstance(completion, Completion) and len(httpserver.log) == 1
    assert (completion.text, completion.finish_reason, completion.prompt_tokens, completion.output_tokens) == (
        "東京です",
        "stop",
        31,
        5,
    )
    assert completion.latency_s > 0
    assert sent(httpserver) == {
        "model": MODEL,
        "max_tokens": 64,
        "temperature": 0.0,
        "system": "簡潔に答えて",
        "stop_sequences": ["。"],
        "messages": [
            {"role": "user", "content": "日本の首都は？"},
            {"role": "assistant", "content": "日本の首都は"},
            {"role": "user", "content": "続けて"},
        ],
    }
    headers = httpserver.log[0][0].headers
    assert headers["x-api-key"] == KEY  # anthropic 2.x also sends it as `Authorization: Bearer`
    assert headers["anthropic-version"] == "2023-06-01"  # pinned: 2026-10-21 (the 2.x default) rejects temperature
    assert backend.identity() == {
        "backend": "api",
        "provider": "anthropic",
        "model": MODEL,
        "base_url": httpserver.url_for("").rstrip("/"),
    }


@pytest.mark.parametrize(
    ("content", "stop_reason", "text", "reason"),
    [
        ([{"type": "text", "text": "東京"}, {"type": "text", "text": "です"}], "end_turn", "東京です", "eos"),
        ([{"type": "text", "text": "東京です"}], "max_tokens", "東京です", "length"),
        ([{"type": "text", "text": "東京です。以上"}], "end_turn", "東京です", "stop"),  # cut client-side as well
        (
            [{"type": "thinking", "thinking": "…", "signature": "s"}, {"type": "text", "text": "x"}],
            "pause_turn",
            "x",
            "pause_turn",
        ),
        ([], None, "", "length"),
    ],
)
def test_text_blocks_and_finish_reasons(
    key: str,
    make: Callable[..., AnthropicBackend],
    httpserver: HTTPServer,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    text: str,
    reason: str,
) -> None:
    httpserver.expect_request(PATH).respond_with_json(message(stop_reason=stop_reason, content=content))
    completion = results(make(), [CHAT])[0]
    assert isinstance(completion, Completion) and (completion.text, completion.finish_reason) == (text, reason)


def test_plain_prompt_is_one_user_turn(key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json(message("2"))
    backend = make()
    assert results(backend, [PLAIN])[0].text == "2"  # type: ignore[union-attr]
    assert sent(httpserver) == {
        "model": MODEL,
        "max_tokens": 5,
        "temperature": 0.0,
        "messages": [{"role": "user", "content": "1+1="}],
    }  # no system, no stop_sequences
    assert results(backend, [GenerationRequest("x", 0)])[0].text == ""  # type: ignore[union-attr]
    assert len(httpserver.log) == 1  # max_tokens=0 is never sent


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (429, error("rate_limit_error", "Number of request tokens has exceeded your rate limit"), {"retry-after": "0"}),
        (529, error("overloaded_error", "Overloaded"), {}),
    ],
)
def test_rate_limit_and_overload_are_retried(
    key: str,
    make: Callable[..., AnthropicBackend],
    httpserver: HTTPServer,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(body, status=status, headers=headers)
    httpserver.expect_request(PATH).respond_with_json(message())
    out = results(make(), [CHAT])
    assert isinstance(out[0], Completion) and out[0].text == "東京です" and len(httpserver.log) == 2


def test_exhausted_retries_fail_that_request_and_the_rest_go_on(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer
) -> None:
    for _ in range(3):
        httpserver.expect_oneshot_request(PATH).respond_with_json(error("api_error", "Internal server error"), 500)
    httpserver.expect_request(PATH).respond_with_json(message("2"))
    out = results(make(), [CHAT, PLAIN])  # concurrency 1: the first takes the three 500s
    assert isinstance(out[0], BackendError) and isinstance(out[1], Completion) and out[1].text == "2"
    expected = (
        rf"request 0 to anthropic model '{MODEL}' at http://\S+ failed after 3 attempts; "
        # the SDK's own wording of the body changes between releases: its type and message, in either order
        r"last error: InternalServerError 500: (?=.*api_error)(?=.*Internal server error)"
    )
    assert re.search(expected, str(out[0])), str(out[0])
    assert len(httpserver.log) == 4


def test_bad_key_fails_the_call_without_showing_it(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer
) -> None:
    httpserver.expect_request(PATH).respond_with_json(error("authentication_error", f"invalid x-api-key {key}"), 401)
    with pytest.raises(BackendError) as info:
        results(make(), [CHAT, PLAIN])
    text = str(info.value)
    assert len(httpserver.log) == 1  # the second request is never sent
    assert "ANTHROPIC_API_KEY" in text and "401" in text and MODEL in text and "invalid x-api-key ***" in text
    assert key not in text


def test_timeouts_are_retried_then_fail(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer
) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)  # longer than timeout_s; let go once the backend has given up
        return Response(json.dumps(message()), content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(slow)
    started = time.perf_counter()
    try:
        out = results(make(timeout_s=0.2, max_retries=2), [CHAT])
    finally:
        release.set()
    assert 0.3 < time.perf_counter() - started < 3
    assert isinstance(out[0], BackendError)
    assert re.search(
        r"failed after 2 attempts; last error: APITimeoutError: Request (to \S+ )?timed out", str(out[0])
    ), out[0]
    deadline = time.monotonic() + 5  # the one-thread server reaches the second request once the first is let go
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("bad", [b'{"foo": 1}', b'{"type": "message", "content": null}', b"{not json"])
def test_a_malformed_answer_fails_that_request_alone(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer, bad: bytes
) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data(bad, content_type="application/json")
    httpserver.expect_request(PATH).respond_with_json(message("2"))
    out = results(make(), [CHAT, PLAIN])
    assert isinstance(out[0], BackendError) and re.search("request 0 to .* unusable answer", str(out[0])), out[0]
    assert isinstance(out[1], Completion) and out[1].text == "2"
    assert len(httpserver.log) == 2  # the bad answer was not retried


@pytest.mark.parametrize("text", ["", "I can't help with that."])
def test_a_refusal_is_the_answer(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer, text: str
) -> None:
    httpserver.expect_request(PATH).respond_with_json(message(text, "refusal"))
    completion = results(make(), [CHAT])[0]
    assert isinstance(completion, Completion) and (completion.text, completion.finish_reason) == (text, "refusal")
    assert len(httpserver.log) == 1


def test_missing_key_fails_at_generate_and_the_key_is_nowhere(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request(PATH).respond_with_json(message())
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    backend = make()  # constructing (e.g. for a fully cached rerun) needs no key
    assert backend.identity()["model"] == MODEL
    with pytest.raises(BackendError, match="set the environment variable ANTHROPIC_API_KEY"):
        results(backend, [CHAT])
    assert len(httpserver.log) == 0
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    assert isinstance(results(backend, [CHAT])[0], Completion)
    assert key not in repr(backend.settings) and key not in json.dumps(backend.identity())
    backend.close()
    backend.close()  # idempotent


def test_without_the_sdk_the_error_names_the_extra(
    key: str, make: Callable[..., AnthropicBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # `import anthropic` raises ImportError
    with pytest.raises(BackendError, match=r"pip install 'nejumi\[api\]'"):
        results(make(), [CHAT])


def test_extended_thinking_request_and_answer(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer
) -> None:
    """Claude with extended thinking, as the Messages API documents it: `thinking` with its budget, `max_tokens` above
    it, the only temperature the API takes with thinking (1), no stop sequence; `thinking` and `redacted_thinking`
    blocks never reach the answer, which the stop string then cuts client-side."""
    from nejumi_plugin.backends.base import Thinking

    thought = "The user asks for the capital.\n\nTokyo is the capital of Japan."
    httpserver.expect_request(PATH).respond_with_json(
        message(
            stop_reason="end_turn",
            content=[
                {"type": "thinking", "thinking": thought, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
                {
                    "type": "redacted_thinking",
                    "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
                },
                {"type": "text", "text": "東京です。\n\n以上"},
            ],
            usage={"input_tokens": 40, "output_tokens": 310},
        )
    )
    request = GenerationRequest(
        "", 64, stop=("。",), messages=(("user", "日本の首都は？"),), thinking=Thinking(2048, effort="high")
    )
    (completion,) = results(make(), [request]).values()
    assert isinstance(completion, Completion)
    assert (completion.text, completion.finish_reason) == ("東京です", "stop")
    assert completion.thinking == thought + "\n\n[1 redacted thinking block(s)]" and not completion.thinking_exhausted
    assert completion.output_tokens == 310 and completion.reasoning_tokens is None  # not broken down by the API
    assert sent(httpserver) == {
        "model": MODEL,
        "max_tokens": 2048 + 64,
        "temperature": 1.0,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"effort": "high"},
        "messages": [{"role": "user", "content": "日本の首都は？"}],
    }


def test_thinking_cut_by_max_tokens_is_an_empty_answer_counted_as_budget_spent(
    key: str, make: Callable[..., AnthropicBackend], httpserver: HTTPServer
) -> None:
    from nejumi_plugin.backends.base import Thinking

    httpserver.expect_request(PATH).respond_with_json(
        message(
            stop_reason="max_tokens",
            content=[{"type": "thinking", "thinking": "Let me consider every prefecture in turn", "signature": "s"}],
        )
    )
    request = GenerationRequest("", 16, messages=(("user", "日本の首都は？"),), thinking=Thinking(1024))
    (completion,) = results(make(), [request]).values()
    assert isinstance(completion, Completion) and completion.text == "" and completion.thinking_exhausted
    assert completion.finish_reason == "length"

"""The Cohere backend against recorded v2 chat exchanges served by a real local HTTP server (pytest-httpserver):
request shape, retries, failure classification, timeouts, unusable answers and key handling."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import results, sent
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest, Thinking
from nejumi_plugin.backends.cohere_api import CohereBackend

KEY = "co-test-key-123"
MODEL = "command-r-plus"
CHAT = "/v2/chat"


def chat_body(text: str = "東京です", reason: str = "COMPLETE") -> dict[str, Any]:
    """A v2 chat response as Cohere documents it (billed_units differ from tokens, to see which one is read)."""
    return {
        "id": "c0ffee",
        "finish_reason": reason,
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "usage": {
            "billed_units": {"input_tokens": 3, "output_tokens": 1},
            "tokens": {"input_tokens": 12, "output_tokens": 4},
        },
    }


def user(text: str, max_new_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest("", max_new_tokens, messages=(("user", text),))


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.delenv("CO_API_KEY", raising=False)
    return KEY


@pytest.fixture
def make(httpserver: HTTPServer) -> Iterator[Callable[..., CohereBackend]]:
    backends: list[CohereBackend] = []

    def make(**kw: Any) -> CohereBackend:
        kw = {
            "model": MODEL,
            "provider": "cohere",
            "base_url": httpserver.url_for("/").rstrip("/"),
            "max_retries": 3,
            "retry_wait_s": 0.001,
            "concurrency": 1,
            **kw,
        }
        backends.append(CohereBackend(ApiSettings(**kw)))
        return backends[-1]

    yield make
    for backend in backends:
        backend.close()


def test_request_shape_headers_and_completion(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    httpserver.expect_request(CHAT, method="POST").respond_with_json(chat_body("東京です。\n\n質問：", "MAX_TOKENS"))
    turns = (("system", "簡潔に"), ("user", "日本の首都は？"), ("assistant", "どうぞ"), ("user", "答えて"))
    req = GenerationRequest("", 32, stop=("\n\n", "###"), messages=turns, temperature=0.7)
    backend = make()
    (completion,) = results(backend, [req]).values()
    assert isinstance(completion, Completion) and len(httpserver.log) == 1
    assert (completion.text, completion.finish_reason) == ("東京です。", "stop")  # cut client-side at the stop string
    assert (completion.prompt_tokens, completion.output_tokens) == (12, 4)  # usage.tokens, not billed_units
    assert completion.latency_s > 0 and not completion.cached
    request = httpserver.log[0][0]
    assert request.path == "/v2/chat" and request.headers["Authorization"] == f"Bearer {KEY}"
    assert sent(httpserver) == {
        "model": MODEL,
        "messages": [{"role": r, "content": c} for r, c in turns],
        "temperature": 0.7,
        "max_tokens": 32,
        "stop_sequences": ["\n\n", "###"],
        "stream": False,
    }
    assert backend.identity() == {
        "backend": "api",
        "provider": "cohere",
        "model": MODEL,
        "base_url": backend.settings.base_url,
    }


def test_plain_prompt_is_one_user_turn_and_no_stop_is_omitted(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    httpserver.expect_request(CHAT).respond_with_json(chat_body("2"))
    completion = results(make(), [GenerationRequest("1+1=", 5)])[0]
    assert isinstance(completion, Completion) and (completion.text, completion.finish_reason) == ("2", "eos")
    assert sent(httpserver) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "1+1="}],
        "temperature": 0.0,
        "max_tokens": 5,
        "stream": False,
    }


def test_a_thinking_request_has_its_budget_and_no_stop_and_the_thinking_is_kept_apart(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    """Command A Reasoning: `thinking` with its token budget, `max_tokens` over thinking and answer, no stop
    sequence (it would end the thinking); thinking items are not the answer, which is cut at the stop client-side."""
    body = chat_body("東京です。\n\n質問：")
    body["message"]["content"].insert(0, {"type": "thinking", "thinking": "首都を思い出す。"})
    httpserver.expect_request(CHAT).respond_with_json(body)
    request = GenerationRequest("", 16, stop=("\n\n",), messages=(("user", "日本の首都は？"),), thinking=Thinking(256))
    (completion,) = results(make(model="command-a-reasoning-08-2025"), [request]).values()
    assert isinstance(completion, Completion)
    assert (completion.text, completion.thinking, completion.finish_reason) == (
        "東京です。",
        "首都を思い出す。",
        "stop",
    )
    assert sent(httpserver) == {
        "model": "command-a-reasoning-08-2025",
        "messages": [{"role": "user", "content": "日本の首都は？"}],
        "temperature": 0.0,
        "max_tokens": 256 + 16,
        "thinking": {"type": "enabled", "token_budget": 256},
        "stream": False,
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("COMPLETE", "eos"),
        ("MAX_TOKENS", "length"),
        ("STOP_SEQUENCE", "stop"),
        ("ERROR_TOXIC", "content_filter"),
        ("TOOL_CALL", "tool_call"),
    ],
)
def test_finish_reasons_and_a_toxic_stop_is_the_answer(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str, reason: str, expected: str
) -> None:
    httpserver.expect_request(CHAT).respond_with_json(chat_body("" if reason == "ERROR_TOXIC" else "x", reason))
    completion = results(make(), [user("q")])[0]
    assert isinstance(completion, Completion) and completion.finish_reason == expected
    assert len(httpserver.log) == 1


def test_429_is_retried_after_retry_after(httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str) -> None:
    slow = {"message": "You are using a Trial key, which is limited to 10 API calls / minute."}
    httpserver.expect_ordered_request(CHAT).respond_with_json(slow, status=429, headers={"retry-after": "0.3"})
    httpserver.expect_ordered_request(CHAT).respond_with_json(chat_body())
    started = time.perf_counter()
    out = results(make(), [user("q")])
    assert isinstance(out[0], Completion) and out[0].text == "東京です" and len(httpserver.log) == 2
    assert time.perf_counter() - started >= 0.3  # the wait was the service's Retry-After, not the 1 ms backoff


def test_exhausted_500s_fail_that_request_alone(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    for _ in range(3):
        httpserver.expect_ordered_request(CHAT).respond_with_json({"message": "internal server error"}, status=500)
    httpserver.expect_ordered_request(CHAT).respond_with_json(chat_body())
    backend = make()
    out = results(backend, [user("a"), user("b")])
    expected = (
        f"request 0 to cohere model '{MODEL}' at {backend.settings.base_url} failed after 3 attempts; "
        "last error: InternalServerError 500: internal server error"
    )
    assert isinstance(out[0], BackendError) and str(out[0]) == expected
    assert isinstance(out[1], Completion) and out[1].text == "東京です"
    assert [sent(httpserver, i)["messages"][0]["content"] for i in range(len(httpserver.log))] == list("aaab")


def test_401_fails_the_call_at_once_without_the_key(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    httpserver.expect_request(CHAT).respond_with_json({"message": f"invalid api token: {KEY}"}, status=401)
    with pytest.raises(BackendError) as info:
        results(make(), [user("a"), user("b")])
    message = str(info.value)
    assert len(httpserver.log) == 1
    assert message.endswith(
        "was rejected: UnauthorizedError 401: invalid api token: *** "
        "(check the key in the environment variable COHERE_API_KEY)"
    )
    assert message.startswith(f"request 0 to cohere model '{MODEL}'")
    assert KEY not in message and "Werkzeug" not in message  # the key masked; no dump of the response headers


def test_a_timeout_is_retried_then_fails(httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str) -> None:
    def late(request: Request) -> Response:
        time.sleep(0.5)
        return Response(json.dumps(chat_body()), content_type="application/json")

    httpserver.expect_request(CHAT).respond_with_handler(late)
    out = results(make(timeout_s=0.2), [user("q")])
    assert isinstance(out[0], BackendError)
    assert re.search(r"request 0 to cohere .* failed after 3 attempts; last error: ReadTimeout: timed out", str(out[0]))
    deadline = time.monotonic() + 5  # the server answers one at a time: it sees the abandoned attempts late
    while len(httpserver.log) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(httpserver.log) == 3


def test_a_malformed_answer_fails_that_request_alone(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], key: str
) -> None:
    httpserver.expect_ordered_request(CHAT).respond_with_data("{not json", content_type="application/json")
    httpserver.expect_ordered_request(CHAT).respond_with_json({"id": "x", "text": "a v1 answer"})
    httpserver.expect_ordered_request(CHAT).respond_with_json(chat_body())
    out = results(make(), [user("a"), user("b"), user("c")])
    bad_json = r"request 0 to cohere .* unusable answer: ValueError: the answer is not a v2 chat response: \{not json"
    assert re.search(bad_json, str(out[0]))
    assert re.search(r"request 1 to cohere .* unusable answer: ValueError: .*no message", str(out[1]))
    assert isinstance(out[2], Completion) and out[2].text == "東京です" and len(httpserver.log) == 3


def test_missing_key_fails_at_generate_and_the_key_is_nowhere(
    httpserver: HTTPServer, make: Callable[..., CohereBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    monkeypatch.delenv("CO_API_KEY", raising=False)
    httpserver.expect_request(CHAT).respond_with_json(chat_body())
    backend = make()  # constructing (e.g. for a fully cached rerun) needs no key
    assert backend.identity()["provider"] == "cohere"
    with pytest.raises(BackendError, match="set the environment variable COHERE_API_KEY or CO_API_KEY"):
        results(backend, [user("q")])
    assert len(httpserver.log) == 0
    monkeypatch.setenv("CO_API_KEY", KEY)  # the SDK's own variable is the second place looked
    backend = make()
    assert isinstance(results(backend, [user("q")])[0], Completion)
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(backend.settings) and KEY not in json.dumps(backend.identity())
    backend.close()
    backend.close()  # idempotent


def test_without_the_sdk_the_error_names_the_extra(
    make: Callable[..., CohereBackend], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cohere", None)  # `import cohere` now raises ImportError
    with pytest.raises(BackendError, match=r"pip install 'nejumi\[api\]'"):
        results(make(), [user("q")])

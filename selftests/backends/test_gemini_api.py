"""The Gemini backend (`google-genai`) against recorded HTTP exchanges served by a real local server
(pytest-httpserver): the request it sends, retries, failures, refusals and keys. Each test counts the HTTP calls."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import results, sent
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest
from nejumi_plugin.backends.gemini_api import GeminiBackend

KEY = "AIza-test-key-123"
MODEL = "gemini-1.5-pro"
PATH = f"/v1/models/{MODEL}:generateContent"  # google-genai 3.x defaults to the v1 API (older SDKs: v1beta)
CHAT = GenerationRequest(
    "",
    16,
    stop=("。",),
    temperature=0.0,
    messages=(
        ("system", "簡潔に答えて"),
        ("user", "日本の首都は？"),
        ("assistant", "東京です。"),
        ("user", "大阪は？"),
    ),
)
PLAIN = GenerationRequest("質問：1+1=", 8)


def answer(text: str | None = "大阪府の府庁所在地です。以上", finish: str = "STOP") -> dict[str, Any]:
    """A GenerateContentResponse as Google documents it."""
    content = {"role": "model", "parts": [{"text": text}]} if text is not None else None
    candidate = {"content": content, "finishReason": finish, "index": 0}
    return {
        "candidates": [{k: v for k, v in candidate.items() if v is not None}],
        "usageMetadata": {"promptTokenCount": 21, "candidatesTokenCount": 9, "totalTokenCount": 30},
        "modelVersion": "gemini-1.5-pro-002",
    }


def error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_API_VERSION", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return KEY


@pytest.fixture
def make(httpserver: HTTPServer) -> Iterator[Callable[..., GeminiBackend]]:
    backends: list[GeminiBackend] = []

    def make(server: HTTPServer = httpserver, **kw: Any) -> GeminiBackend:
        kw = {
            "model": MODEL,
            "provider": "google",
            "base_url": server.url_for("/"),
            "max_retries": 3,
            "retry_wait_s": 0.001,
            "concurrency": 1,
            **kw,
        }
        backends.append(GeminiBackend(ApiSettings(**kw)))
        return backends[-1]

    yield make
    for backend in backends:
        backend.close()


def test_request_shape_key_header_and_completion(key: str, httpserver: HTTPServer, make: Any) -> None:
    httpserver.expect_request(PATH, method="POST").respond_with_json(answer())
    backend = make()
    completion = results(backend, [CHAT])[0]
    assert isinstance(completion, Completion) and len(httpserver.log) == 1
    assert (completion.text, completion.finish_reason, completion.prompt_tokens, completion.output_tokens) == (
        "大阪府の府庁所在地です",
        "stop",
        21,
        9,
    )
    # (the recorded answer ran past the stop string: the backend cuts it, as the other API backends do)
    request = httpserver.log[0][0]
    assert request.headers["x-goog-api-key"] == KEY and "key=" not in request.query_string.decode()
    assert sent(httpserver) == {
        "contents": [
            {"role": "user", "parts": [{"text": "日本の首都は？"}]},
            {"role": "model", "parts": [{"text": "東京です。"}]},
            {"role": "user", "parts": [{"text": "大阪は？"}]},
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "簡潔に答えて"}]},
        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 16, "stopSequences": ["。"], "candidateCount": 1},
    }
    assert backend.identity() == {
        "backend": "api",
        "provider": "google",
        "model": MODEL,
        "base_url": httpserver.url_for("/"),
    }


def test_plain_prompt_and_finish_reasons(key: str, httpserver: HTTPServer, make: Any) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(answer("2です", "STOP"))
    httpserver.expect_oneshot_request(PATH).respond_with_json(answer("2", "MAX_TOKENS"))
    httpserver.expect_oneshot_request(PATH).respond_with_json(answer(None, "OTHER"))
    out = results(make(), [PLAIN, PLAIN, PLAIN])
    assert [(c.text, c.finish_reason) for c in out.values()] == [("2です", "eos"), ("2", "length"), ("", "other")]
    assert sent(httpserver, 0) == {
        "contents": [{"role": "user", "parts": [{"text": "質問：1+1="}]}],
        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 8, "candidateCount": 1},
    }
    assert len(httpserver.log) == 3


def test_rate_limit_honours_retry_after_then_succeeds(
    key: str, httpserver: HTTPServer, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tenacity

    def no_backoff(**kw: Any) -> Any:
        raise AssertionError("backoff used although the 429 carried Retry-After")

    monkeypatch.setattr(tenacity, "wait_random_exponential", no_backoff)  # the wait must come from the header
    limited = error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED")
    httpserver.expect_oneshot_request(PATH).respond_with_json(limited, status=429, headers={"retry-after": "0"})
    httpserver.expect_request(PATH).respond_with_json(answer())
    out = results(make(retry_wait_s=30), [PLAIN])
    assert isinstance(out[0], Completion) and out[0].finish_reason == "eos" and len(httpserver.log) == 2


def test_server_errors_exhaust_retries_while_another_request_succeeds(
    key: str, httpserver: HTTPServer, make: Any
) -> None:
    def handler(request: Request) -> Response:
        if "doomed" in request.get_data(as_text=True):
            return Response(
                json.dumps(error(500, "Internal error encountered.", "INTERNAL")), 500, content_type="application/json"
            )
        return Response(json.dumps(answer("ok")), 200, content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(handler)
    out = results(make(), [GenerationRequest("doomed", 4), PLAIN])
    assert str(out[0]) == (
        f"request 0 to google model '{MODEL}' at {httpserver.url_for('/')} failed after 3 "
        "attempts; last error: ServerError 500: Internal error encountered."
    )
    assert isinstance(out[1], Completion) and out[1].text == "ok"
    assert len(httpserver.log) == 3 + 1


@pytest.mark.parametrize("status", [401, 403, 400])
def test_bad_credentials_fail_the_call_at_once_without_the_key(
    key: str, httpserver: HTTPServer, make: Any, status: int
) -> None:
    echo = error(
        status,
        f"API key not valid: {KEY}. Please pass a valid API key.",
        "INVALID_ARGUMENT" if status == 400 else "PERMISSION_DENIED",
    )
    if status == 400:  # what Gemini really answers to a bad key
        echo["error"]["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
        ]
    httpserver.expect_request(PATH).respond_with_json(echo, status=status)
    with pytest.raises(BackendError) as info:
        results(make(), [PLAIN, PLAIN])
    message = str(info.value)
    assert message == (
        f"request 0 to google model '{MODEL}' at {httpserver.url_for('/')} was rejected: ClientError "
        f"{status}: API key not valid: ***. Please pass a valid API key. (check the key in the "
        "environment variable GEMINI_API_KEY)"
    )
    assert KEY not in message and len(httpserver.log) == 1


def test_an_ordinary_bad_request_fails_alone(key: str, httpserver: HTTPServer, make: Any) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        error(400, "Invalid value at 'contents'", "INVALID_ARGUMENT"), status=400
    )
    httpserver.expect_request(PATH).respond_with_json(answer("ok"))
    out = results(make(), [PLAIN, PLAIN])
    assert re.search(r"request 0 .* was rejected: ClientError 400: Invalid value", str(out[0]))
    assert isinstance(out[1], Completion) and len(httpserver.log) == 2


@pytest.fixture
def threaded() -> Iterator[HTTPServer]:
    """A server that answers while an earlier (abandoned) request is still sleeping."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_timeouts_are_retried_then_fail(key: str, threaded: HTTPServer, make: Any) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response(json.dumps(answer()), 200, content_type="application/json")

    threaded.expect_request(PATH).respond_with_handler(slow)
    started = time.perf_counter()
    out = results(make(threaded, timeout_s=0.2, max_retries=2), [PLAIN])
    assert time.perf_counter() - started < 2  # two attempts of 0.2 s each, not the handler's 0.6 s
    assert re.fullmatch(r"request 0 to .* failed after 2 attempts; last error: ReadTimeout: timed out", str(out[0]))
    deadline = time.monotonic() + 3
    while len(threaded.log) < 2 and time.monotonic() < deadline:  # the server logs a call when its handler returns
        time.sleep(0.05)
    assert len(threaded.log) == 2


def test_a_refused_connection_is_retried(key: str, make: Any) -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = results(make(base_url=f"http://127.0.0.1:{port}/", max_retries=2), [PLAIN])
    assert re.search(r"failed after 2 attempts; last error: ConnectError", str(out[0]))  # httpx2's, not httpx's


@pytest.mark.parametrize("reply", ["{not json", json.dumps({"unexpected": [1, 2]})])
def test_a_malformed_answer_fails_its_request_alone(key: str, httpserver: HTTPServer, make: Any, reply: str) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_data(reply, content_type="application/json")
    httpserver.expect_request(PATH).respond_with_json(answer("ok"))
    out = results(make(), [PLAIN, PLAIN])
    cause = "JSONDecodeError" if reply.startswith("{not") else "ValueError: the answer has no candidates"
    assert re.search(rf"request 0 to .* got an unusable answer: {cause}", str(out[0]))
    assert isinstance(out[1], Completion) and out[1].text == "ok"
    assert len(httpserver.log) == 2  # an unusable answer is not retried


def test_blocked_prompt_and_safety_stop_are_answers(key: str, httpserver: HTTPServer, make: Any) -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}}
    httpserver.expect_oneshot_request(PATH).respond_with_json(blocked)
    httpserver.expect_oneshot_request(PATH).respond_with_json(answer(None, "SAFETY"))
    httpserver.expect_oneshot_request(PATH).respond_with_json(answer("途中", "RECITATION"))
    out = results(make(), [PLAIN, PLAIN, PLAIN])
    assert [(c.text, c.finish_reason) for c in out.values()] == [
        ("", "content_filter"),
        ("", "content_filter"),
        ("途中", "content_filter"),
    ]
    assert out[0].extra == {"refusal": "SAFETY"} and out[0].prompt_tokens == 5
    assert len(httpserver.log) == 3


def test_missing_key_fails_at_generate_and_google_api_key_is_accepted(
    monkeypatch: pytest.MonkeyPatch, key: str, httpserver: HTTPServer, make: Any
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    httpserver.expect_request(PATH).respond_with_json(answer("ok"))
    backend = make()  # constructing (e.g. for a fully cached rerun) needs no key
    assert backend.identity()["model"] == MODEL
    with pytest.raises(BackendError, match="set the environment variable GEMINI_API_KEY or GOOGLE_API_KEY"):
        results(backend, [PLAIN])
    assert len(httpserver.log) == 0
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-google-key-456")
    backend = make()
    assert results(backend, [PLAIN])[0].text == "ok"  # type: ignore[union-attr]
    assert httpserver.log[0][0].headers["x-goog-api-key"] == "AIza-google-key-456"
    for secret in (KEY, "AIza-google-key-456"):
        assert secret not in repr(backend.settings) and secret not in json.dumps(backend.identity())
    backend.close()
    backend.close()  # idempotent


def test_zero_tokens_are_never_sent(key: str, httpserver: HTTPServer, make: Any) -> None:
    out = results(make(), [GenerationRequest("x", 0)])
    assert isinstance(out[0], Completion) and out[0].text == "" and len(httpserver.log) == 0


def _thinking_answer(text: str | None, thought: str, finish: str = "STOP") -> dict[str, Any]:
    """A GenerateContentResponse of a thinking model with `include_thoughts`: thought parts carry `thought: true`."""
    parts = [{"text": thought, "thought": True}] + ([{"text": text}] if text is not None else [])
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": {
            "promptTokenCount": 21,
            "candidatesTokenCount": 9,
            "thoughtsTokenCount": 412,
            "totalTokenCount": 442,
        },
        "modelVersion": "gemini-2.5-flash",
    }


def test_a_thinking_budget_and_thoughts_kept_apart(key: str, httpserver: HTTPServer, make: Any) -> None:
    from nejumi_plugin.backends.base import Thinking

    path = PATH.replace(MODEL, "gemini-2.5-flash")
    thought = "**Finding the capital**\n\nThe user wants a one-word answer."
    httpserver.expect_oneshot_request(path).respond_with_json(_thinking_answer("東京です。以上", thought))
    httpserver.expect_oneshot_request(path).respond_with_json(_thinking_answer(None, thought, "MAX_TOKENS"))
    request = GenerationRequest("", 16, stop=("。",), messages=(("user", "日本の首都は？"),), thinking=Thinking(1024))
    out = results(make(model="gemini-2.5-flash"), [request, request])
    first, spent = out[0], out[1]
    assert isinstance(first, Completion) and (first.text, first.finish_reason) == ("東京です", "stop")
    assert first.thinking == thought and first.reasoning_tokens == 412 and not first.thinking_exhausted
    assert isinstance(spent, Completion) and spent.text == "" and spent.thinking_exhausted
    # no stop sequence (thinking has blank lines); the thinking config's keys as google-genai sends them (the API's
    # JSON takes proto field names as well as camelCase)
    assert sent(httpserver, 0)["generationConfig"] == {
        "temperature": 0.0,
        "maxOutputTokens": 1024 + 16,
        "candidateCount": 1,
        "thinkingConfig": {"include_thoughts": True, "thinking_budget": 1024},
    }


def test_an_effort_becomes_gemini_s_thinking_level(key: str, httpserver: HTTPServer, make: Any) -> None:
    from nejumi_plugin.backends.base import Thinking

    path = PATH.replace(MODEL, "gemini-3-pro")
    httpserver.expect_request(path).respond_with_json(_thinking_answer("東京", "…"))
    results(
        make(model="gemini-3-pro"),
        [GenerationRequest("", 16, messages=(("user", "首都？"),), thinking=Thinking(1024, effort="low"))],
    )
    assert sent(httpserver)["generationConfig"]["thinkingConfig"] == {"include_thoughts": True, "thinking_level": "LOW"}

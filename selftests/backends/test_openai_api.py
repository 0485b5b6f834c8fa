"""The OpenAI backend: against a real `transformers serve` on the tiny model, and against in-process fake servers
(httpx.MockTransport) for retries, errors, keys and Azure URLs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from api_helpers import results

from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest, cut_at_stop
from nejumi_plugin.backends.openai_api import OpenAIBackend

SECRET = "sk-test-do-not-leak-0123456789"
PROMPT = "### 指示:\n"


def run(backend: OpenAIBackend, requests: list[GenerationRequest]) -> dict[int, Completion]:
    out: dict[int, Completion] = {}
    for index, completion in backend.generate(requests):
        assert index not in out
        out[index] = completion
    return out


# ---------------------------------------------------------------------------------------------- a real server


@pytest.fixture
def served(openai_server: Any) -> Iterator[Callable[..., OpenAIBackend]]:
    backends: list[OpenAIBackend] = []

    def make(**kw: Any) -> OpenAIBackend:
        settings = ApiSettings(
            openai_server.model,
            provider="openai_compatible",
            base_url=openai_server.base_url,
            max_retries=2,
            retry_wait_s=0.01,
            timeout_s=60,
            **kw,
        )
        backends.append(OpenAIBackend(settings))
        return backends[-1]

    yield make
    for backend in backends:
        backend.close()


def test_chat_request_returns_text_and_usage(served: Callable[..., OpenAIBackend]) -> None:
    backend = served()
    req = GenerationRequest("", 8, messages=(("system", "be brief"), ("user", "質問：日本の首都は？")))
    (completion,) = run(backend, [req]).values()
    assert completion.text  # the random model says something
    assert completion.finish_reason == "length"
    assert completion.prompt_tokens and completion.prompt_tokens > 5 and completion.output_tokens == 8
    assert completion.latency_s > 0
    assert backend.identity() == {
        "backend": "openai",
        "provider": "openai_compatible",
        "model": backend.settings.model,
        "base_url": backend.settings.base_url,
        "endpoint": "chat",
    }


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_plain_prompt_through_either_endpoint(served: Callable[..., OpenAIBackend], endpoint: str) -> None:
    (completion,) = run(served(endpoint=endpoint), [GenerationRequest(PROMPT, 6)]).values()
    assert completion.text and completion.output_tokens == 6 and completion.prompt_tokens


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_stop_string_is_cut_although_the_server_keeps_it(
    served: Callable[..., OpenAIBackend], openai_server: Any, endpoint: str
) -> None:
    backend = served(endpoint=endpoint)
    free = run(backend, [GenerationRequest(PROMPT, 16)])[0].text
    # a stop string taken from the greedy answer itself (not its first character, not a stray replacement char)
    stop = next(ch for ch in free[1:] if ch != "\ufffd" and not ch.isspace())
    expected = free[: free.index(stop)]
    stopped = run(backend, [GenerationRequest(PROMPT, 16, stop=(stop,))])[0]
    assert stopped.text == expected and stop not in stopped.text
    assert stopped.finish_reason == "stop"

    import openai  # the server itself keeps the stop string: the backend is what cuts it

    raw = openai.OpenAI(base_url=openai_server.base_url, api_key="EMPTY", max_retries=0)
    kw = {"model": openai_server.model, "max_tokens": 16, "temperature": 0.0, "stop": [stop]}
    if endpoint == "chat":
        messages = [{"role": "user", "content": PROMPT}]
        text = raw.chat.completions.create(messages=messages, **kw).choices[0].message.content
    else:
        text = raw.completions.create(prompt=PROMPT, **kw).choices[0].text
    raw.close()
    assert text.startswith(expected) and len(text) >= len(expected)


def test_concurrent_requests_yield_every_index_once(served: Callable[..., OpenAIBackend]) -> None:
    backend = served(concurrency=2)
    prompts = ["前提：猫", "質問：日本の首都は？\n回答：", "x", "### 応答:\n"]
    out = run(backend, [GenerationRequest(p, 4) for p in prompts])
    assert sorted(out) == [0, 1, 2, 3]
    alone = served()
    assert [out[i].text for i in range(4)] == [run(alone, [GenerationRequest(p, 4)])[0].text for p in prompts]


def test_unknown_model_is_rejected_at_once(openai_server: Any) -> None:
    settings = ApiSettings(
        "no/such-model", provider="openai_compatible", base_url=openai_server.base_url, max_retries=5, retry_wait_s=5
    )
    backend = OpenAIBackend(settings)
    expected = r"request 0 to openai_compatible model 'no/such-model' .* rejected: BadRequestError 400: .*no/such"
    error = results(backend, [GenerationRequest("x", 2)])[0]  # a 400 fails its request alone
    assert isinstance(error, BackendError) and re.search(expected, str(error))
    backend.close()


# ------------------------------------------------------------------------------------------ fake servers


def chat_body(text: str = "東京です", reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": reason, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


class FakeServer:
    """Answers with the queued `(status, body)` pairs in turn (the last one repeats) and records each request."""

    def __init__(self, *responses: tuple[int, dict[str, Any]]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return httpx.Response(status, json=body)

    def backend(self, **kw: Any) -> OpenAIBackend:
        kw = {"model": "gpt-4", "max_retries": 4, "retry_wait_s": 0.001, **kw}
        return OpenAIBackend(ApiSettings(**kw), http_client=httpx.Client(transport=httpx.MockTransport(self)))

    def body(self, n: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[n].content)


ERROR = {"error": {"message": "boom", "type": "server_error"}}
CHAT = GenerationRequest("", 16, messages=(("user", "日本の首都は？"),), stop=("です",))


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return SECRET


def test_request_shape_and_server_errors_retried_until_success(key: str) -> None:
    server = FakeServer((500, ERROR), (503, ERROR), (200, chat_body("東京です。", "stop")))
    completion = run(server.backend(), [CHAT])[0]
    assert len(server.requests) == 3
    assert (completion.text, completion.finish_reason, completion.prompt_tokens, completion.output_tokens) == (
        "東京",
        "stop",
        7,
        3,
    )
    assert str(server.requests[-1].url) == "https://api.openai.com/v1/chat/completions"
    assert server.requests[-1].headers["authorization"] == f"Bearer {key}"
    messages = [{"role": "user", "content": "日本の首都は？"}]
    assert server.body() == {
        "model": "gpt-4",
        "messages": messages,
        "n": 1,
        "temperature": 0.0,
        "max_tokens": 16,
        "stop": ["です"],
    }


def test_plain_prompt_through_completions_and_no_stop_omitted(key: str) -> None:
    body = {
        "id": "x",
        "object": "text_completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "length", "text": None, "logprobs": None}],
    }
    server = FakeServer((200, body))
    completion = run(server.backend(endpoint="completions"), [GenerationRequest("1+1=", 5)])[0]
    assert (completion.text, completion.finish_reason, completion.prompt_tokens) == ("", "length", None)
    assert server.requests[0].url.path == "/v1/completions"
    assert server.body() == {"model": "gpt-4", "prompt": "1+1=", "n": 1, "temperature": 0.0, "max_tokens": 5}
    assert run(server.backend(), [GenerationRequest("1+1=", 0)])[0].text == ""  # max_tokens=0 is never sent
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_fail_at_once_without_the_key(key: str, status: int) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}}
    server = FakeServer((status, echo))
    if status == 400:  # this request's content was refused: it alone fails
        error = results(server.backend(), [CHAT])[0]
    else:  # the key or the model is wrong: every request would fail, so the whole call does
        with pytest.raises(BackendError) as info:
            run(server.backend(), [CHAT])
        error = info.value
    assert isinstance(error, BackendError) and len(server.requests) == 1
    message = str(error)
    assert "Incorrect API key provided: ***" in message  # the server's message, with the key masked
    assert key not in message and "gpt-4" in message and "request 0" in message and str(status) in message
    if status == 401:
        assert "OPENAI_API_KEY" in message


def test_exhausted_retries_fail_the_request_and_a_dead_service_stops_the_call(key: str) -> None:
    server = FakeServer((429, {"error": {"message": "slow down", "type": "rate_limit"}}))
    out = results(server.backend(max_retries=3, concurrency=1), [GenerationRequest("a", 4), GenerationRequest("b", 4)])
    assert re.search(r"request 0 to .* failed after 3 attempts; last error: RateLimitError 429", str(out[0]))
    assert isinstance(out[1], BackendError) and len(server.requests) == 6  # each request: its own three attempts
    dead = FakeServer((503, {"error": {"message": "down"}}))
    with pytest.raises(BackendError, match=r"3 requests in a row failed, so the rest were not sent"):
        run(dead.backend(max_retries=2, concurrency=1), [GenerationRequest(p, 4) for p in "abcdef"])
    assert len(dead.requests) == 6  # three requests x two attempts; the other three were never sent


def test_connection_errors_are_retried(key: str) -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=chat_body())

    backend = OpenAIBackend(
        ApiSettings("gpt-4", retry_wait_s=0.001), http_client=httpx.Client(transport=httpx.MockTransport(flaky))
    )
    assert run(backend, [CHAT])[0].text == "東京" and len(calls) == 3


def test_an_answer_without_choices_is_a_backend_error(key: str) -> None:
    server = FakeServer((200, {**chat_body(), "choices": []}), (200, chat_body()))
    out = results(
        server.backend(concurrency=1), [CHAT, CHAT]
    )  # concurrency 1: the first gets no choices, the second does
    assert re.search("request 0 to .* unusable answer: IndexError", str(out[0]))
    assert out[1].text == "東京" and len(server.requests) == 2  # CHAT stops at "です"


def test_missing_key_fails_at_first_generate_not_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = FakeServer((200, chat_body()))
    backend = server.backend()  # constructing (e.g. for a fully cached rerun) needs no key
    assert backend.identity()["model"] == "gpt-4"
    with pytest.raises(BackendError, match="set the environment variable OPENAI_API_KEY"):
        run(backend, [CHAT])
    assert not server.requests
    monkeypatch.setenv("MY_KEY", "k")
    assert run(FakeServer((200, chat_body())).backend(api_key_env="MY_KEY"), [CHAT])[0].text == "東京"


def test_openai_compatible_sends_a_placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # never sent to a third-party server unless named
    server = FakeServer((200, chat_body()))
    run(server.backend(provider="openai_compatible", base_url="http://10.0.0.1:8000/v1"), [CHAT])
    assert str(server.requests[0].url) == "http://10.0.0.1:8000/v1/chat/completions"
    assert server.requests[0].headers["authorization"] == "Bearer EMPTY"
    with pytest.raises(BackendError, match="base_url"):
        OpenAIBackend(ApiSettings("m", provider="openai_compatible"))


def test_azure_url_deployment_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_KEY", SECRET)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://neo.openai.azure.com")
    server = FakeServer((200, chat_body()))
    backend = server.backend(model="azure-gpt-4-32k", provider="azure")
    assert run(backend, [CHAT])[0].text == "東京"
    url = server.requests[0].url
    assert (url.host, url.path) == ("neo.openai.azure.com", "/openai/deployments/gpt-4-32k/chat/completions")
    assert url.params["api-version"] == "2023-07-01-preview"
    assert server.requests[0].headers["api-key"] == SECRET
    assert backend.identity() == {
        "backend": "openai",
        "provider": "azure",
        "model": "gpt-4-32k",
        "base_url": "https://neo.openai.azure.com",
        "endpoint": "chat",
    }
    monkeypatch.delenv("AZURE_OPENAI_KEY")
    with pytest.raises(BackendError, match="AZURE_OPENAI_KEY"):
        run(FakeServer((200, chat_body())).backend(model="gpt-4", provider="azure"), [CHAT])


def test_the_key_is_nowhere_in_settings_or_identity(key: str) -> None:
    server = FakeServer((200, chat_body()))
    backend = server.backend()
    run(backend, [CHAT])
    assert key not in repr(backend.settings) and key not in json.dumps(backend.identity())
    backend.close()
    backend.close()  # idempotent


def test_cut_at_stop() -> None:
    assert cut_at_stop("a###b\n\nc", ["\n\n", "###"]) == ("a", True)
    assert cut_at_stop("abc", ["x", ""]) == ("abc", False)
    assert cut_at_stop("###abc", ["###"]) == ("", True)


def test_requests_are_in_flight_together_up_to_the_limit() -> None:
    from scripted_judge import ScriptedJudge, serve

    server = ScriptedJudge(delay_s=0.2)
    with serve(server) as url:
        backend = OpenAIBackend(ApiSettings("j", provider="openai_compatible", base_url=url, concurrency=3))
        requests = [GenerationRequest("", 4, messages=(("user", f"[Instruction] q{i}"),)) for i in range(9)]
        out = run(backend, requests)
        backend.close()
    assert sorted(out) == list(range(9)) and server.requests == 9
    assert server.max_in_flight == 3  # never more than the limit, and the limit is used


def test_credentials_in_a_base_url_never_leave_it() -> None:
    backend = OpenAIBackend(ApiSettings("m", provider="openai_compatible", base_url="https://u:pw@h:8443/v1?key=k"))
    assert backend.identity()["base_url"] == "https://h:8443/v1"
    assert "pw" not in backend.where() and "key=k" not in backend.where()


def test_a_slow_server_times_out_and_is_retried() -> None:
    from scripted_judge import ScriptedJudge, serve

    server = ScriptedJudge(delay_s=0.5)
    with serve(server) as url:
        backend = OpenAIBackend(
            ApiSettings(
                "j", provider="openai_compatible", base_url=url, timeout_s=0.1, max_retries=2, retry_wait_s=0.001
            )
        )
        error = results(backend, [GenerationRequest("", 4, messages=(("user", "[Instruction] q"),))])[0]
        backend.close()
    assert isinstance(error, BackendError) and "failed after 2 attempts; last error: APITimeoutError" in str(error)
    assert len(server.bodies) == 2

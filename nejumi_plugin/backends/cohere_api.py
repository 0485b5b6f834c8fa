"""Cohere's hosted models through the official `cohere` SDK's v2 chat (`cohere.ClientV2`).

Retries, concurrency and key handling are `api_common.ApiBackend`'s: the SDK's own retries are off. Requests are sent
as v2 chat turns (system, user, assistant). Stop strings are normalized: the text always ends before the first stop
string found in it. A toxicity stop (`ERROR_TOXIC`) is that sample's answer ("content_filter"), not a failure.
"""

from __future__ import annotations

import time
from typing import Any

from .api_common import ApiBackend, chat_messages
from .base import BackendError, Completion, GenerationRequest, cut_at_stop
from .thinking import completion, take_apart

_MAX_STOP = 5  # Cohere takes up to 5 stop sequences; the rest are still cut client-side
_FINISH = {"COMPLETE": "eos", "MAX_TOKENS": "length", "STOP_SEQUENCE": "stop", "ERROR_TOXIC": "content_filter"}


class CohereBackend(ApiBackend):
    """Generation through `cohere.ClientV2(...).chat`; the key is read from COHERE_API_KEY (or the SDK's CO_API_KEY)."""

    key_envs = ("COHERE_API_KEY", "CO_API_KEY")

    def _make_client(self, key: str | None) -> Any:
        try:
            import cohere
        except ImportError as err:
            raise BackendError(f"API models need the api extra: pip install 'nejumi[api]' ({err})") from None
        s = self.settings
        kw: dict[str, Any] = {"timeout": s.timeout_s, "max_retries": 0, "log_warning_experimental_features": False}
        if s.base_url:  # else the SDK's https://api.cohere.com (CO_API_URL is not read: the identity names the URL)
            kw["base_url"] = s.base_url
        if self._http_client is not None:
            kw["httpx_client"] = self._http_client
        return cohere.ClientV2(api_key=key, **kw)

    def _warm(self, client: Any) -> None:
        from cohere.core.api_error import ApiError  # noqa: F401  (the error path of `_once`)
        from cohere.core.parse_error import ParsingError  # noqa: F401

    def _once(self, request: GenerationRequest) -> Completion:
        from cohere.core.api_error import ApiError
        from cohere.core.parse_error import ParsingError

        messages = [{"role": role, "content": content} for role, content in chat_messages(request)]
        kw: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": request.total_tokens,
        }
        stop, thinking = list(request.stop), request.thinking
        if thinking is not None:  # Command A Reasoning: its thinking budget; no stop string during the thinking
            kw["thinking"] = {"type": "enabled", "token_budget": thinking.budget_tokens}
        elif stop:
            kw["stop_sequences"] = stop[:_MAX_STOP]
        started = time.perf_counter()
        try:
            response = self._client.chat(**kw, request_options={"max_retries": 0})
        except (ApiError, ParsingError) as err:
            status = getattr(err, "status_code", None)
            if isinstance(status, int) and 200 <= status < 300:  # a 2xx whose body is not JSON: unusable, not an error
                raise ValueError(f"the answer is not a v2 chat response: {_message(err)}") from None
            setattr(err, "message", _message(err))  # noqa: B010 - `describe` shows it, not the headers dump
            raise
        latency = time.perf_counter() - started
        reason = str(getattr(response, "finish_reason", None) or "length")
        reason = _FINISH.get(reason, reason.lower())
        usage = getattr(getattr(response, "usage", None), "tokens", None)
        tokens = (_int(getattr(usage, "input_tokens", None)), _int(getattr(usage, "output_tokens", None)))
        if thinking is not None:
            answer = take_apart(_text(response), thinking, request.stop, reason, _text(response, kind="thinking"))
            return completion(answer, latency, reason, *tokens)
        text, cut = cut_at_stop(_text(response), stop)
        return Completion(text, latency, "stop" if cut else reason, *tokens)

    def close(self) -> None:
        """Close the SDK's own HTTP client (one handed in stays the caller's); `ClientV2` has no `close`."""
        if self._client is not None and self._http_client is None:
            wrapper = getattr(self._client, "_client_wrapper", None)
            inner = getattr(getattr(wrapper, "httpx_client", None), "httpx_client", None)
            if inner is not None:
                inner.close()
        self._client = None


def _text(response: Any, kind: str = "text") -> str:
    """The concatenated `kind` items of the assistant message: its text (thinking and tool-call items left out), or
    its thinking."""
    message = getattr(response, "message", None)
    if message is None or getattr(response, "finish_reason", None) is None:
        raise ValueError(f"the answer has no message or finish_reason: {str(response)[:200]}")
    return "".join(
        getattr(item, kind, None) or "" for item in message.content or () if getattr(item, "type", "text") == kind
    )


def _message(err: Any) -> str:
    """The service's message from an SDK error's body (JSON `message`, or the raw text), without the headers."""
    body = getattr(err, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:300] if body else f"HTTP {getattr(err, 'status_code', '?')}"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None

"""Anthropic's Messages API (Claude), through the official `anthropic` SDK.

Retries, concurrency and key handling are `api_common.ApiBackend`'s (the SDK's own retries are off). System turns
go to the `system` parameter, as the API has no system role; stop strings go to `stop_sequences` (the API leaves
them out of the text; the text is cut client-side as well). A refusal (`stop_reason: "refusal"`) is that sample's
answer, not a failure. Overloaded (529) and other 5xx answers are transient and retried.

The `anthropic` SDK dropped `temperature` from `messages.create` (1.0), and its 2.x releases send API version
2026-10-21, which rejects every sampling parameter. An evaluation needs its temperature (greedy for most tasks), so
it goes in the body (`extra_body`, the same JSON with every SDK) and the client pins API version 2023-06-01, under
which the models that take a temperature still honour it. The key also goes as `x-api-key` (SDK < 2 sent only that;
2.x sends `Authorization: Bearer`), which proxies and compatible servers read.
"""

from __future__ import annotations

import time
from typing import Any

from .api_common import ApiBackend, chat_messages
from .base import BackendError, Completion, GenerationRequest, cut_at_stop
from .thinking import completion, take_apart

API_VERSION = "2023-06-01"  # the last `anthropic-version` that accepts `temperature`
THINKING_TEMPERATURE = 1.0  # the only temperature the Messages API accepts with extended thinking
FINISH_REASONS = {"end_turn": "eos", "max_tokens": "length", "stop_sequence": "stop", "refusal": "refusal"}


class AnthropicBackend(ApiBackend):
    """Generation through `anthropic.Anthropic(...).messages.create`, one request per call."""

    key_envs = ("ANTHROPIC_API_KEY",)

    def _make_client(self, key: str | None) -> Any:
        """The SDK client; `http_client` (if given) must be an `httpx2.Client`, the transport this SDK uses."""
        try:
            import anthropic
        except ImportError as err:
            raise BackendError(f"API models need the api extra: pip install 'nejumi[api]' ({err})") from None
        s = self.settings
        headers = {"anthropic-version": API_VERSION, **({"x-api-key": key} if key else {})}
        kw: dict[str, Any] = {
            "api_key": key,
            "base_url": s.base_url,
            "max_retries": 0,
            "timeout": s.timeout_s,
            "default_headers": headers,
        }
        if self._http_client is not None:
            kw["http_client"] = self._http_client
        return anthropic.Anthropic(**kw)

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        import anthropic

        return (anthropic.APIConnectionError, *super()._connection_errors())  # APIConnectionError covers timeouts

    def _warm(self, client: Any) -> None:
        client.messages  # noqa: B018  (the SDK imports its resources on first access)

    def _once(self, request: GenerationRequest) -> Completion:
        turns = chat_messages(request)
        system = [content for role, content in turns if role == "system"]
        kw: dict[str, Any] = {
            "model": self.deployment,
            "max_tokens": request.max_new_tokens,
            "messages": [{"role": role, "content": content} for role, content in turns if role != "system"],
            "extra_body": {"temperature": request.temperature},  # not a keyword of `create` since anthropic 1.0
        }
        if system:
            kw["system"] = "\n\n".join(system)
        thinking, stop = request.thinking, list(request.stop)
        if thinking is not None:  # extended thinking: max_tokens covers it, and the API takes only temperature 1
            kw.update(
                max_tokens=request.total_tokens,
                extra_body={"temperature": THINKING_TEMPERATURE},
                thinking={"type": "enabled", "budget_tokens": thinking.budget_tokens},
            )
            if thinking.effort:
                kw["output_config"] = {"effort": thinking.effort}
        elif stop:
            kw["stop_sequences"] = stop
        started = time.perf_counter()
        response = self._client.messages.create(**kw)
        latency = time.perf_counter() - started
        kind, content = getattr(response, "type", None), getattr(response, "content", None)
        if kind not in ("message", None) or not isinstance(content, list):  # e.g. a proxy's own JSON, or `{}`
            raise ValueError(f"not a Messages API answer (type {kind!r}, content {type(content).__name__})")
        text = "".join(block.text for block in content if getattr(block, "type", None) == "text")
        reason = FINISH_REASONS.get(response.stop_reason, response.stop_reason) or "length"
        usage = getattr(response, "usage", None)
        tokens = (getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None))
        if thinking is not None:  # `thinking` and `redacted_thinking` blocks never reach the answer
            thought = "\n\n".join(getattr(b, "thinking", "") for b in content if getattr(b, "type", None) == "thinking")
            redacted = sum(1 for b in content if getattr(b, "type", None) == "redacted_thinking")
            thought += f"\n\n[{redacted} redacted thinking block(s)]" * bool(redacted)
            answer = take_apart(text, thinking, request.stop, reason, thought.strip())
            return completion(answer, latency, reason, *tokens)
        text, cut = cut_at_stop(text, stop)
        reason = "stop" if cut and reason != "refusal" else reason
        return Completion(text, latency, reason, *tokens)

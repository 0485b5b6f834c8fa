"""Google Gemini through the maintained `google-genai` SDK (`genai.Client`, the Gemini Developer API, not Vertex).

Retries, concurrency and key handling are `api_common.ApiBackend`'s: the SDK's own retries stay off (no
`retry_options`) so tenacity there is the only retry layer. System messages become `system_instruction`, assistant
turns the role "model". A blocked prompt or a safety stop is that sample's answer (`content_filter`), not a failure.
The SDK talks through `httpx2` (a fork of httpx whose errors are not httpx's) unless handed an httpx client.
"""

from __future__ import annotations

import time
from typing import Any

from .api_common import ApiBackend, chat_messages
from .base import BackendError, Completion, GenerationRequest, cut_at_stop
from .thinking import completion, take_apart

_FINISH = {"STOP": "eos", "MAX_TOKENS": "length"}
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})


class GeminiBackend(ApiBackend):
    """Generation through `google.genai.Client(api_key=...).models.generate_content`, one candidate per call."""

    key_envs = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    def _make_client(self, key: str | None) -> Any:
        try:
            from google import genai
            from google.genai import types
        except ImportError as err:
            raise BackendError(f"Gemini models need the api extra: pip install 'nejumi[api]' ({err})") from None
        s = self.settings
        options = types.HttpOptions(base_url=s.base_url, timeout=max(1, round(s.timeout_s * 1000)))  # milliseconds
        if self._http_client is not None:
            options.httpx_client = self._http_client
        return genai.Client(api_key=key, vertexai=False, http_options=options)  # vertexai: ignore GOOGLE_GENAI_*

    def _warm(self, client: Any) -> None:
        client.models  # noqa: B018  (the SDK builds its resources on first access)

    def _status(self, err: BaseException) -> int | None:
        """As the base; Gemini's answer to a bad key (400 INVALID_ARGUMENT, reason API_KEY_INVALID) counts as 401."""
        status = super()._status(err)
        return 401 if status == 400 and "API_KEY_INVALID" in str(getattr(err, "details", "")) else status

    def _once(self, request: GenerationRequest) -> Completion:
        from google.genai import types

        turns = chat_messages(request)
        system = "\n\n".join(c for r, c in turns if r == "system")
        contents = [
            types.Content(role="model" if r == "assistant" else "user", parts=[types.Part(text=c)])
            for r, c in turns
            if r != "system"
        ]
        thinking, extra = request.thinking, {}
        if thinking is not None:  # a thinking level (effort) or budget; the thoughts come back apart from the answer
            how = (
                {"thinking_level": thinking.effort.upper()}
                if thinking.effort
                else {"thinking_budget": thinking.budget_tokens}
            )  # the API takes one of the two
            extra["thinking_config"] = types.ThinkingConfig(include_thoughts=True, **how)
        config = types.GenerateContentConfig(
            temperature=request.temperature,
            max_output_tokens=request.total_tokens,
            stop_sequences=(list(request.stop) or None) if thinking is None else None,  # thinking has blank lines
            system_instruction=system or None,
            candidate_count=1,
            **extra,
        )
        started = time.perf_counter()
        response = self._client.models.generate_content(model=self.settings.model, contents=contents, config=config)
        latency = time.perf_counter() - started
        usage = response.usage_metadata
        tokens = (getattr(usage, "prompt_token_count", None), getattr(usage, "candidates_token_count", None))
        if not response.candidates:
            blocked = getattr(response.prompt_feedback, "block_reason", None)
            if blocked is None:  # neither an answer nor a refusal
                raise ValueError("the answer has no candidates and no promptFeedback.blockReason")
            return Completion("", latency, "content_filter", *tokens, extra={"refusal": _name(blocked)})
        finish = _name(response.candidates[0].finish_reason)
        reason = "content_filter" if finish in _FILTERED else _FINISH.get(finish, finish.lower())
        if thinking is not None:
            parts = getattr(response.candidates[0].content, "parts", None) or []
            text = "".join(p.text or "" for p in parts if not getattr(p, "thought", False))
            thought = "".join(p.text or "" for p in parts if getattr(p, "thought", False))
            spent = getattr(usage, "thoughts_token_count", None)
            answer = take_apart(text, thinking, request.stop, reason, thought, spent)
            return completion(answer, latency, reason, *tokens, spent)
        text, cut = cut_at_stop(response.text or "", request.stop)
        return Completion(text, latency, "stop" if cut else reason, *tokens)


def _name(value: Any) -> str:
    """An SDK enum's (or a raw string's) name, e.g. `FinishReason.MAX_TOKENS` -> "MAX_TOKENS"."""
    if value is None:
        return "FINISH_REASON_UNSPECIFIED"
    return str(getattr(value, "name", None) or value)

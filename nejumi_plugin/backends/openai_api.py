"""OpenAI, Azure OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, SGLang, `transformers serve`).

Retries, concurrency and key handling are `api_common.ApiBackend`'s. Stop strings are normalized: the text always
ends before the first stop string found in it (OpenAI trims it, `transformers serve` keeps it). A content filter
(Azure's 400 `content_filter`, or `finish_reason: content_filter`) is that sample's answer, not a failure.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from .api_common import ApiBackend, ApiSettings, chat_messages
from .base import BackendError, Completion, GenerationRequest, Thinking, cut_at_stop
from .thinking import completion, take_apart

_AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
RESPONSES_ONLY = re.compile(r"^(o\d+|gpt-5[\w.]*)-pro\b", re.I)  # reasoning models served only by the Responses API
_OPENAI_MAX_STOP = 4  # OpenAI and Azure reject more than 4 stop sequences; the rest are still cut client-side


class OpenAIBackend(ApiBackend):
    """Generation through the official `openai` SDK (`OpenAI`, `AzureOpenAI`, or `OpenAI(base_url=...)`)."""

    def __init__(self, settings: ApiSettings, http_client: Any = None) -> None:
        if settings.provider == "openai_compatible" and not settings.base_url:
            raise BackendError(f"provider openai_compatible needs base_url, the server's /v1 URL ({settings.model!r})")
        super().__init__(settings, http_client)

    @property
    def key_envs(self) -> tuple[str, ...]:  # type: ignore[override]
        return {"openai": ("OPENAI_API_KEY",), "azure": ("AZURE_OPENAI_KEY",)}.get(self.settings.provider, ())

    @property
    def needs_key(self) -> bool:  # type: ignore[override]
        return self.settings.provider != "openai_compatible"  # a local server: the placeholder key "EMPTY"

    @property
    def deployment(self) -> str:
        """The model name sent to the API (azure: the deployment, "azure-" dropped as FastChat did)."""
        s = self.settings
        return s.model.removeprefix("azure-") if s.provider == "azure" else s.model

    def base_url(self) -> str | None:
        s = self.settings
        return (s.base_url or os.environ.get(_AZURE_ENDPOINT_ENV)) if s.provider == "azure" else s.base_url

    def missing_key(self) -> str | None:
        problem = super().missing_key()
        if problem is None and self.settings.provider == "azure" and not self.base_url():
            problem = (
                f"no endpoint for azure deployment {self.deployment!r}: set base_url or the environment "
                f"variable {_AZURE_ENDPOINT_ENV}"
            )
        return problem

    def _make_client(self, key: str | None) -> Any:
        try:
            import openai
        except ImportError as err:
            raise BackendError(f"API models need the api extra: pip install 'nejumi[api]' ({err})") from None
        s = self.settings
        common: dict[str, Any] = {"api_key": key or "EMPTY", "max_retries": 0, "timeout": s.timeout_s}
        if self._http_client is not None:
            common["http_client"] = self._http_client
        if s.provider == "azure":
            return openai.AzureOpenAI(azure_endpoint=self.base_url(), api_version=s.api_version, **common)
        return openai.OpenAI(base_url=s.base_url, **common)

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        import openai

        return (openai.APIConnectionError, *super()._connection_errors())  # APIConnectionError covers timeouts

    def _warm(self, client: Any) -> None:
        client.chat.completions, client.completions, client.responses  # noqa: B018  (imported on first access)

    def _hint(self, err: Exception) -> str:
        if self._status(err) == 404:
            return " (check the model or deployment name, base_url and, for azure, api_version)"
        return super()._hint(err)

    def _once(self, request: GenerationRequest) -> Completion:
        import openai

        if (
            request.thinking is not None
            and self.settings.provider != "openai_compatible"
            and RESPONSES_ONLY.match(self.deployment)
        ):
            return self._once_responses(request, request.thinking)
        started = time.perf_counter()
        try:
            if request.messages or self.settings.endpoint == "chat":
                messages = [{"role": r, "content": c} for r, c in chat_messages(request)]
                response = self._client.chat.completions.create(messages=messages, **self._parameters(request))
                choice = response.choices[0]
                text, separate = choice.message.content, _reasoning_field(choice.message)
            else:
                response = self._client.completions.create(prompt=request.prompt, **self._parameters(request))
                choice = response.choices[0]
                text, separate = choice.text, ""
        except openai.BadRequestError as err:
            if _content_filter(err):  # the service refused this prompt: the refusal is the answer
                return Completion("", time.perf_counter() - started, "content_filter", extra={"refusal": str(err)})
            raise
        latency, usage = time.perf_counter() - started, response.usage
        tokens = (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
        reason = choice.finish_reason or "length"
        if request.thinking is not None:
            thought = getattr(getattr(usage, "completion_tokens_details", None), "reasoning_tokens", None)
            return _thought(request, request.thinking, text or "", reason, separate, thought, latency, tokens)
        text, cut = cut_at_stop(text or "", request.stop)
        return Completion(text, latency, "stop" if cut else reason, *tokens)

    def _parameters(self, request: GenerationRequest) -> dict[str, Any]:
        """The call's keywords. A thinking request to OpenAI or Azure takes `max_completion_tokens` (the thinking and
        the answer) and `reasoning_effort`, and neither `temperature` (only the default is accepted) nor `stop`; a
        compatible server takes `max_tokens` and the temperature; no stop string ever goes with a thinking request
        (see `reasoning`: the answer is cut client-side)."""
        s = self.settings
        common: dict[str, Any] = {"model": self.deployment, "n": 1}
        thinking = request.thinking
        if thinking is None:
            common.update(temperature=request.temperature, max_tokens=request.max_new_tokens)
            if request.stop:
                common["stop"] = (
                    list(request.stop)[:_OPENAI_MAX_STOP] if s.provider != "openai_compatible" else list(request.stop)
                )
            return common
        if s.provider == "openai_compatible":
            common.update(temperature=request.temperature, max_tokens=request.total_tokens)
        else:
            common["max_completion_tokens"] = request.total_tokens
        if thinking.effort:
            common["reasoning_effort"] = thinking.effort
        return common

    def _once_responses(self, request: GenerationRequest, thinking: Thinking) -> Completion:
        """OpenAI's Responses API (the `-pro` reasoning models are served only there): the same budgets and
        accounting as a chat completion."""
        kw: dict[str, Any] = {
            "model": self.deployment,
            "max_output_tokens": request.total_tokens,
            "input": [{"role": r, "content": c} for r, c in chat_messages(request)],
        }
        if thinking.effort:
            kw["reasoning"] = {"effort": thinking.effort}
        started = time.perf_counter()
        response = self._client.responses.create(**kw)
        latency, usage = time.perf_counter() - started, response.usage
        incomplete = getattr(getattr(response, "incomplete_details", None), "reason", None)
        reason = (
            "length"
            if incomplete == "max_output_tokens"
            else "eos"
            if response.status == "completed"
            else (incomplete or str(response.status))
        )
        thought = getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None)
        tokens = (getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None))
        return _thought(request, thinking, response.output_text or "", reason, "", thought, latency, tokens)


def _reasoning_field(message: Any) -> str:
    """The thinking an OpenAI-compatible server returns beside the answer: vLLM and SGLang's `reasoning_content`
    (newer vLLM: `reasoning`)."""
    for name in ("reasoning_content", "reasoning"):
        value = getattr(message, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _thought(
    request: GenerationRequest,
    thinking: Thinking,
    text: str,
    reason: str,
    separate: str,
    reasoning_tokens: int | None,
    latency: float,
    tokens: tuple[int | None, int | None],
) -> Completion:
    answer = take_apart(text, thinking, request.stop, reason, separate, reasoning_tokens)
    return completion(answer, latency, reason, *tokens, reasoning_tokens)


def _content_filter(err: Any) -> bool:
    """Azure OpenAI's (and OpenAI's) refusal of a prompt: a 400 whose error code is `content_filter`."""
    body = getattr(err, "body", None)
    code = body.get("code") if isinstance(body, dict) else None
    return code == "content_filter" or getattr(err, "code", None) == "content_filter"

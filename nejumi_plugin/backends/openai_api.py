"""OpenAI, Azure OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, SGLang, `transformers serve`).

Retries, concurrency and key handling are `api_common.ApiBackend`'s. Stop strings are normalized: the text always
ends before the first stop string found in it (OpenAI trims it, `transformers serve` keeps it). A content filter
(Azure's 400 `content_filter`, or `finish_reason: content_filter`) is that sample's answer, not a failure.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .api_common import ApiBackend, ApiSettings, chat_messages, cut_at_stop
from .base import BackendError, Completion, GenerationRequest

OpenAISettings = ApiSettings  # the settings of every API backend
_AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
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
            problem = (f"no endpoint for azure deployment {self.deployment!r}: set base_url or the environment "
                       f"variable {_AZURE_ENDPOINT_ENV}")  # fmt: skip
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
        client.chat.completions, client.completions  # noqa: B018  (the SDK imports its resources on first access)

    def _hint(self, err: Exception) -> str:
        if self._status(err) == 404:
            return " (check the model or deployment name, base_url and, for azure, api_version)"
        return super()._hint(err)

    def _once(self, request: GenerationRequest) -> Completion:
        import openai

        s, client = self.settings, self._client
        common: dict[str, Any] = {"model": self.deployment, "n": 1, "temperature": request.temperature,
                                  "max_tokens": request.max_new_tokens}  # fmt: skip
        stop = list(request.stop)
        if stop:
            common["stop"] = stop[:_OPENAI_MAX_STOP] if s.provider != "openai_compatible" else stop
        started = time.perf_counter()
        try:
            if request.messages or s.endpoint == "chat":
                messages = [{"role": r, "content": c} for r, c in chat_messages(request)]
                response = client.chat.completions.create(messages=messages, **common)
                choice = response.choices[0]
                text = choice.message.content
            else:
                response = client.completions.create(prompt=request.prompt, **common)
                choice = response.choices[0]
                text = choice.text
        except openai.BadRequestError as err:
            if _content_filter(err):  # the service refused this prompt: the refusal is the answer
                return Completion("", time.perf_counter() - started, "content_filter", extra={"refusal": str(err)})
            raise
        latency = time.perf_counter() - started
        text, cut = cut_at_stop(text or "", stop)
        reason = "stop" if cut else (choice.finish_reason or "length")
        usage = response.usage
        return Completion(text, latency, reason, getattr(usage, "prompt_tokens", None),
                          getattr(usage, "completion_tokens", None))  # fmt: skip


def _content_filter(err: Any) -> bool:
    """Azure OpenAI's (and OpenAI's) refusal of a prompt: a 400 whose error code is `content_filter`."""
    body = getattr(err, "body", None)
    code = body.get("code") if isinstance(body, dict) else None
    return code == "content_filter" or getattr(err, "code", None) == "content_filter"

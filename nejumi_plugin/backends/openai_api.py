"""OpenAI, Azure OpenAI and OpenAI-compatible servers (vLLM, llama.cpp, SGLang, `transformers serve`).

One request per call (no prompt lists, no `n>1`: servers differ there), bounded concurrency, tenacity retries on
transient errors only, and stop strings normalized: the text always ends before the first stop string found in it.
The API key is read from its environment variable when the client is created and never appears in an identity,
a setting, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from .base import BackendError, Completion, GenerationRequest

log = logging.getLogger(__name__)

_KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_KEY"}
_AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"
_OPENAI_MAX_STOP = 4  # OpenAI and Azure reject more than 4 stop sequences; the rest are still cut client-side
_TRANSIENT_STATUS = {408, 409, 429}  # plus every 5xx
_REQUEST_STATUS = {400, 413, 422}  # the request itself was refused (e.g. a content filter): it alone fails


@dataclass(frozen=True)
class OpenAISettings:
    """Where and how to call the API. Holds the *name* of the key's environment variable, never the key."""

    model: str  # azure: the deployment name (a leading "azure-" is dropped, as FastChat did)
    provider: Literal["openai", "azure", "openai_compatible"] = "openai"
    base_url: str | None = None  # azure: the endpoint (default: $AZURE_OPENAI_ENDPOINT)
    api_key_env: str | None = None  # default: OPENAI_API_KEY / AZURE_OPENAI_KEY; openai_compatible: none ("EMPTY")
    api_version: str = "2023-07-01-preview"  # azure only (Neo's judge)
    concurrency: int = 1  # requests in flight at once
    max_retries: int = 16  # attempts per request, transient errors only
    retry_wait_s: float = 10.0  # cap of the exponential, jittered wait between attempts
    timeout_s: float = 600
    endpoint: Literal["chat", "completions"] = "chat"  # for plain prompts; chat requests always use chat

    @property
    def deployment(self) -> str:
        """The model name sent to the API."""
        return self.model.removeprefix("azure-") if self.provider == "azure" else self.model

    @property
    def key_env(self) -> str | None:
        return self.api_key_env or _KEY_ENV.get(self.provider)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """The text before the first stop string found in it, and whether one was found."""
    found = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


class _Cancelled(Exception):
    """A queued request given up because another failed."""


class _RequestFailed(Exception):
    """One request failed on its own (e.g. its content was refused); the others go on."""

    def __init__(self, error: BackendError) -> None:
        super().__init__(str(error))
        self.error = error


class OpenAIBackend:
    """Generation through the official `openai` SDK; completions are yielded as each request finishes."""

    def __init__(self, settings: OpenAISettings, http_client: Any = None) -> None:
        """`http_client`: an `httpx.Client` handed to the SDK (for tests with a mock transport, or proxies)."""
        if settings.provider == "openai_compatible" and not settings.base_url:
            raise BackendError(f"provider openai_compatible needs base_url, the server's /v1 URL ({settings.model!r})")
        self.settings = settings
        self._http_client = http_client
        self._client: Any = None

    def _base_url(self) -> str | None:
        s = self.settings
        return (s.base_url or os.environ.get(_AZURE_ENDPOINT_ENV)) if s.provider == "azure" else s.base_url

    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {"backend": "openai", "provider": s.provider, "model": s.deployment, "base_url": self._base_url(),
                "endpoint": s.endpoint}  # fmt: skip

    def _where(self) -> str:
        return f"{self.settings.provider} model {self.settings.deployment!r} at {self._base_url() or 'api.openai.com'}"

    def _make_client(self) -> Any:
        try:
            import openai
        except ImportError as err:
            raise BackendError(f"API models need the api extra: pip install 'nejumi[api]' ({err})") from None
        s, env = self.settings, self.settings.key_env
        key = os.environ.get(env) if env else None
        if not key:
            if s.provider != "openai_compatible":
                raise BackendError(f"no API key for {self._where()}: set the environment variable {env}")
            if env:
                log.warning("%s is not set; sending the placeholder key 'EMPTY' to %s", env, s.base_url)
            key = "EMPTY"
        common: dict[str, Any] = {"api_key": key, "max_retries": 0, "timeout": s.timeout_s}
        if self._http_client is not None:
            common["http_client"] = self._http_client
        if s.provider == "azure":
            endpoint = self._base_url()
            if not endpoint:
                raise BackendError(f"no endpoint for azure deployment {s.deployment!r}: set base_url or "
                                   f"the environment variable {_AZURE_ENDPOINT_ENV}")  # fmt: skip
            return openai.AzureOpenAI(azure_endpoint=endpoint, api_version=s.api_version, **common)
        return openai.OpenAI(base_url=s.base_url, **common)

    def _redact(self, text: str) -> str:
        key = getattr(self._client, "api_key", None)
        return text.replace(key, "***") if key and key != "EMPTY" else text

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        if not requests:
            return
        if self._client is None:
            self._client = self._make_client()
        abort = threading.Event()  # set when the caller stops early or a request fails: the others give up
        pool = ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency), thread_name_prefix="openai")
        try:
            pending = {pool.submit(self._call, i, r, abort): i for i, r in enumerate(requests)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    error = future.exception()
                    if isinstance(error, _RequestFailed):
                        yield index, error.error  # this request alone: the others go on
                    elif not isinstance(error, _Cancelled):  # the failure that cancelled it follows
                        yield index, future.result()
        finally:
            abort.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _call(self, index: int, request: GenerationRequest, abort: threading.Event) -> Completion:
        """One request with retries; a `BackendError` names the request and the (key-free) cause."""
        import openai
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_when_event_set
        from tenacity import wait_random_exponential

        if abort.is_set():
            raise _Cancelled
        s = self.settings
        retrying = Retrying(
            stop=stop_after_attempt(max(1, s.max_retries)) | stop_when_event_set(abort),
            sleep=abort.wait,  # an abort cuts the wait short
            wait=wait_random_exponential(multiplier=1, max=s.retry_wait_s),
            retry=retry_if_exception(_transient),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "request %d to %s failed (attempt %d): %s; retrying", index, self._where(), state.attempt_number,
                self._redact(_describe(state.outcome.exception())),
            ),
        )  # fmt: skip
        try:
            return retrying(self._once, request)
        except Exception as err:
            where, cause = f"request {index} to {self._where()}", self._redact(_describe(err))
            if not isinstance(err, openai.OpenAIError):  # e.g. an answer without choices
                raise _RequestFailed(BackendError(f"{where} got an unusable answer: {cause}")) from None
            if getattr(err, "status_code", None) in _REQUEST_STATUS:  # this request's content was refused
                raise _RequestFailed(BackendError(f"{where} was rejected: {cause}")) from None
            # the server or the credentials are unusable: every other request would fail the same way
            abort.set()  # set here, not only in `generate`: a worker must not start the next request first
            if _transient(err):
                attempts = retrying.statistics.get("attempt_number")
                raise BackendError(f"{where} failed after {attempts} attempts; last error: {cause}") from None
            raise BackendError(f"{where} was rejected: {cause}{self._hint(err)}") from None

    def _hint(self, err: Exception) -> str:
        status = getattr(err, "status_code", None)
        if status in (401, 403):
            env = self.settings.key_env
            return f" (check the key in the environment variable {env})" if env else " (does the server need a key?)"
        if status == 404:
            return " (check the model or deployment name, base_url and, for azure, api_version)"
        return ""

    def _once(self, request: GenerationRequest) -> Completion:
        if request.max_new_tokens <= 0:  # servers reject max_tokens=0 (transformers serve: with a 500)
            return Completion("", 0.0, "length", None, 0)
        s, client = self.settings, self._client
        common: dict[str, Any] = {"model": s.deployment, "n": 1, "temperature": request.temperature,
                                  "max_tokens": request.max_new_tokens}  # fmt: skip
        stop = list(request.stop)
        if stop:
            common["stop"] = stop[:_OPENAI_MAX_STOP] if s.provider != "openai_compatible" else stop
        started = time.perf_counter()
        if request.messages or s.endpoint == "chat":
            messages = [{"role": r, "content": c} for r, c in request.messages] or [
                {"role": "user", "content": request.prompt}
            ]
            response = client.chat.completions.create(messages=messages, **common)
            choice = response.choices[0]
            text = choice.message.content
        else:
            response = client.completions.create(prompt=request.prompt, **common)
            choice = response.choices[0]
            text = choice.text
        latency = time.perf_counter() - started
        text, cut = cut_at_stop(text or "", stop)
        reason = "stop" if cut else (choice.finish_reason or "length")
        usage = response.usage
        return Completion(text, latency, reason, getattr(usage, "prompt_tokens", None),
                          getattr(usage, "completion_tokens", None))  # fmt: skip

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _transient(err: BaseException) -> bool:
    """Worth another attempt: connection trouble, timeouts, rate limits, conflicts and server errors."""
    import openai

    if isinstance(err, openai.APIConnectionError):  # includes APITimeoutError
        return True
    status = getattr(err, "status_code", None)
    return isinstance(err, openai.APIStatusError) and (status in _TRANSIENT_STATUS or status >= 500)


def _describe(err: BaseException | None) -> str:
    """The error's type, status and the server's message (shortened)."""
    if err is None:
        return "unknown error"
    status = getattr(err, "status_code", None)
    message = str(getattr(err, "message", None) or err)
    body = getattr(err, "body", None)
    detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None  # FastAPI: "detail"
    if detail and str(detail) not in message:
        message = f"{message}: {detail}"
    text = f"{type(err).__name__}{f' {status}' if status else ''}: {message}"
    return text if len(text) <= 400 else text[:400] + "..."

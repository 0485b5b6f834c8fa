"""What every API backend shares: settings, bounded concurrency, retries, failure classification, key handling.

A provider subclasses `ApiBackend` and supplies the client (`_make_client`), one call (`_once`) and how to read its
SDK's errors (`_status`, `_connection_errors`). One request per call (no prompt lists, no `n>1`); transient
failures (429, 408, 409, 5xx, timeouts, dropped connections) are retried with jittered exponential backoff that
honours `Retry-After`; a request refused on its own (400, 413, 422) fails alone; bad credentials or an unknown model
(401, 403, 404) fail the whole call; three requests in a row that run out of retries with no success between them
mean the service is down, and the rest give up. The key is read from its environment variable when the client is
made and never appears in an identity, a setting, a log line or an error message.

Nothing is first imported on a worker thread. A module being imported is visible, half initialized, in
`sys.modules` to every other thread, and SDKs read `sys.modules` directly (openai's httpx compatibility layer looks
up `httpx` there): so everything the request and error paths need is imported on the caller's thread before the
pool starts (`_prepare`), and a backend's very first request goes alone, so that whatever an SDK imports lazily on
its first request is imported while no other worker runs.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..redact import public_url, redact_text
from .base import BackendError, Completion, GenerationRequest

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 409, 429})  # plus every 5xx
REQUEST_STATUS = frozenset({400, 413, 422})  # the request itself was refused: it alone fails
DOWN_AFTER = 3  # requests in a row out of retries (no success between them): the service is down
MAX_RETRY_AFTER_S = 120.0  # a Retry-After longer than this is capped


NEO_AZURE_API_VERSION = "2023-07-01-preview"  # Neo's judge
REASONING_AZURE_API_VERSION = "2024-12-01-preview"  # the first that serves o-series models with reasoning_effort


def azure_api_version(configured: str | None, thinking: bool) -> str:
    """Azure's api-version: the config's, else Neo's — which Azure refuses for its reasoning deployments, so a
    model or judge that thinks gets the first version that serves them."""
    if configured:
        return configured
    return REASONING_AZURE_API_VERSION if thinking else NEO_AZURE_API_VERSION


@dataclass(frozen=True)
class ApiSettings:
    """Where and how to call a hosted model. Holds the *name* of the key's environment variable, never the key."""

    model: str  # azure: the deployment name (a leading "azure-" is dropped, as FastChat did)
    provider: str = "openai"  # openai, azure, openai_compatible, anthropic, google, cohere
    base_url: str | None = None  # a proxy or a compatible server; azure: the endpoint
    api_key_env: str | None = None  # default: the provider's usual variable
    api_version: str = NEO_AZURE_API_VERSION  # azure only (see azure_api_version)
    concurrency: int = 32  # requests in flight at once
    max_retries: int = 16  # attempts per request, transient errors only
    retry_wait_s: float = 10.0  # cap of the exponential, jittered wait between attempts
    timeout_s: float = 600.0  # per request
    endpoint: str = "chat"  # openai family: "completions" sends plain prompts to /v1/completions
    options: Mapping[str, Any] = field(default_factory=dict)  # what the provider itself reads (`api: mock`'s rules)


def chat_messages(request: GenerationRequest) -> list[tuple[str, str]]:
    """The request as chat turns: its messages, or the whole prompt as one user message (Neo's jaster on APIs)."""
    return list(request.messages) or [("user", request.prompt)]


class _Cancelled(Exception):
    """A queued request given up because the call is failing as a whole."""


class _RequestFailed(Exception):
    """One request failed on its own; the others go on."""

    def __init__(self, error: BackendError) -> None:
        super().__init__(str(error))
        self.error = error


def _finished(done: set[Future], pending: dict[Future, int]) -> Iterator[tuple[int, Completion | BackendError]]:
    """The results of the `done` futures (removed from `pending`): answers and per-request failures."""
    for future in done:
        index = pending.pop(future)
        if future.cancelled():
            continue
        error = future.exception()
        if isinstance(error, _RequestFailed):
            yield index, error.error
        elif not isinstance(error, _Cancelled):  # the failure that cancelled it follows
            yield index, future.result()


class _Health:
    """Counts requests that ran out of retries since the last success."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.exhausted = 0

    def success(self) -> None:
        with self.lock:
            self.exhausted = 0

    def out_of_retries(self) -> bool:
        """Record one; True when the service looks down."""
        with self.lock:
            self.exhausted += 1
            return self.exhausted >= DOWN_AFTER


class ApiBackend:
    """Concurrent calls through a provider's official SDK; completions are yielded as each request finishes."""

    key_envs: ClassVar[tuple[str, ...]] = ()  # where the key may be, in order (the first is named in errors)
    needs_key: ClassVar[bool] = True

    def __init__(self, settings: ApiSettings, http_client: Any = None) -> None:
        """`http_client`: an `httpx.Client` handed to the SDK (tests with a mock transport, or proxies)."""
        self.settings = settings
        self._http_client = http_client
        self._client: Any = None
        self._key: str | None = None
        self._transport_errors: tuple[type[BaseException], ...] = ()
        self._tenacity: Any = None  # the retry library, imported on the caller's thread
        self._piloted = False  # the first request went alone (see the module docstring)

    # -- what a provider supplies ------------------------------------------------------------------------------
    def _make_client(self, key: str | None) -> Any:
        raise NotImplementedError

    def _once(self, request: GenerationRequest) -> Completion:
        raise NotImplementedError

    def _status(self, err: BaseException) -> int | None:
        """The HTTP status of an SDK error (None for transport errors)."""
        status = getattr(err, "status_code", None)
        if status is None:
            status = getattr(err, "code", None)
        return status if isinstance(status, int) else None

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        """Timeouts and dropped connections, from httpx or from its fork httpx2 (which newer SDKs use). Called on the
        caller's thread, once, before any request (see the module docstring)."""
        kinds: list[type[BaseException]] = [TimeoutError, ConnectionError]
        for name in ("httpx", "httpx2"):
            with contextlib.suppress(ImportError):
                kinds.append(importlib.import_module(name).TransportError)
        return tuple(kinds)

    def _warm(self, client: Any) -> None:
        """Touch what the SDK loads lazily on first use (its resource modules), on the caller's thread."""

    def _is_connection_error(self, err: BaseException) -> bool:
        return isinstance(err, self._transport_errors)

    def _is_api_error(self, err: BaseException) -> bool:
        """Whether the error came from the service (else it is a bug or an unusable answer)."""
        return self._status(err) is not None or self._is_connection_error(err)

    # -- shared --------------------------------------------------------------------------------------------------
    @property
    def deployment(self) -> str:
        return self.settings.model

    def identity(self) -> dict[str, Any]:
        s = self.settings
        url = public_url(self.base_url())
        ident = {"backend": "api", "provider": s.provider, "model": self.deployment, "base_url": url}
        if s.provider in ("openai", "azure", "openai_compatible"):
            ident.update(backend="openai", endpoint=s.endpoint)  # the keys of runs made before the refactor
        return ident

    def base_url(self) -> str | None:
        return self.settings.base_url

    def where(self) -> str:
        url = public_url(self.base_url())
        return f"{self.settings.provider} model {self.deployment!r}" + (f" at {url}" if url else "")

    @property
    def key_env(self) -> str | None:
        return self.settings.api_key_env or (self.key_envs[0] if self.key_envs else None)

    def missing_key(self) -> str | None:
        """A message naming the variable to set when the key is missing (checked before any item runs)."""
        if not self.needs_key:
            return None
        names = [self.settings.api_key_env] if self.settings.api_key_env else list(self.key_envs)
        if any(os.environ.get(n) for n in names):
            return None
        return f"no API key for {self.where()}: set the environment variable {' or '.join(names)}"

    def _read_key(self) -> str | None:
        names = [self.settings.api_key_env] if self.settings.api_key_env else list(self.key_envs)
        return next((os.environ[n] for n in names if os.environ.get(n)), None)

    def _redact(self, text: str) -> str:
        """An error's text without the key and without credentials in any URL it quotes."""
        text = redact_text(text)
        return text.replace(self._key, "***") if self._key and len(self._key) > 3 else text

    def _prepare(self) -> None:
        """The client, the error classes and the retry library, on the caller's thread, before any worker starts."""
        if self._client is not None:
            return
        problem = self.missing_key()
        if problem:
            raise BackendError(problem)
        self._tenacity = importlib.import_module("tenacity")
        self._key = self._read_key()
        client = self._make_client(self._key)
        self._transport_errors = self._connection_errors()
        self._warm(client)
        self._client = client

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion | BackendError]]:
        if not requests:
            return
        self._prepare()
        abort, health = threading.Event(), _Health()  # abort: the call fails as a whole, or the caller stopped
        pool = ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency), thread_name_prefix="api")
        queue = list(enumerate(requests))
        if not self._piloted:  # the first request alone: lazy imports of the SDK happen while no other worker runs
            queue, first = queue[1:], queue[:1]
        else:
            first = []
        pending = {pool.submit(self._call, i, r, abort, health): i for i, r in first or queue}
        if not first:
            queue = []
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                yield from _finished(done, pending)
                self._piloted = True
                if queue and not abort.is_set():
                    pending.update({pool.submit(self._call, i, r, abort, health): i for i, r in queue})
                    queue = []
        except KeyboardInterrupt:  # Ctrl-C: send nothing more, but keep (and hand over) the answers being paid for
            abort.set()
            for future in pending:
                future.cancel()
            running = sum(1 for future in pending if not future.cancelled())
            log.warning(
                "interrupted: waiting for %d request(s) in flight to %s (Ctrl-C again drops them)",
                running,
                self.where(),
            )
            done, _ = wait(pending)
            yield from _finished(done, pending)
            raise
        finally:
            abort.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _transient(self, err: BaseException) -> bool:
        status = self._status(err)
        return self._is_connection_error(err) or (status is not None and (status in TRANSIENT_STATUS or status >= 500))

    def _wait(self, state: Any) -> float:
        """Retry-After when the service sends one, else jittered exponential backoff capped at `retry_wait_s`."""
        err = state.outcome.exception() if state.outcome else None
        after = _retry_after(err)
        if after is not None:
            return min(after, MAX_RETRY_AFTER_S)
        return self._tenacity.wait_random_exponential(multiplier=1, max=self.settings.retry_wait_s)(state)

    def _call(self, index: int, request: GenerationRequest, abort: threading.Event, health: _Health) -> Completion:
        """One request with retries; a `BackendError` names the request, the provider, the model and the cause."""
        if abort.is_set():
            raise _Cancelled
        s, tenacity = self.settings, self._tenacity
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, s.max_retries)) | tenacity.stop_when_event_set(abort),
            sleep=abort.wait,  # an abort cuts the wait short
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._transient),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "request %d to %s failed (attempt %d): %s; retrying",
                index,
                self.where(),
                state.attempt_number,
                self._redact(describe(state.outcome.exception())),
            ),
        )
        try:
            completion = retrying(self._once, request) if request.max_new_tokens > 0 else Completion("", 0.0, "length")
        except Exception as err:
            raise self._failure(index, err, retrying, abort, health) from None
        health.success()
        return completion

    def _failure(self, index: int, err: Exception, retrying: Any, abort: threading.Event, health: _Health) -> Exception:
        where, cause = f"request {index} to {self.where()}", self._redact(describe(err))
        if not self._is_api_error(err):  # e.g. an answer without choices
            return _RequestFailed(BackendError(f"{where} got an unusable answer: {cause}"))
        if self._status(err) in REQUEST_STATUS:
            return _RequestFailed(BackendError(f"{where} was rejected: {cause}"))
        if self._transient(err):
            attempts = retrying.statistics.get("attempt_number")
            error = BackendError(f"{where} failed after {attempts} attempts; last error: {cause}")
            if not health.out_of_retries():
                return _RequestFailed(error)
            abort.set()  # the service is down: the queued requests give up
            return BackendError(f"{error}; {DOWN_AFTER} requests in a row failed, so the rest were not sent")
        abort.set()  # credentials or model are wrong: every other request would fail the same way
        return BackendError(f"{where} was rejected: {cause}{self._hint(err)}")

    def _hint(self, err: Exception) -> str:
        status = self._status(err)
        if status in (401, 403):
            env = self.key_env
            return f" (check the key in the environment variable {env})" if env else " (does the server need a key?)"
        if status == 404:
            return " (check the model name and base_url)"
        return ""

    def close(self) -> None:
        if self._client is not None:
            close = getattr(self._client, "close", None)
            if callable(close):
                close()
            self._client = None


def _retry_after(err: BaseException | None) -> float | None:
    """Seconds from a `Retry-After` (or `retry-after-ms`) header on the error's response, if any."""
    headers = getattr(getattr(err, "response", None), "headers", None) or getattr(err, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):  # an HTTP date: fall back to backoff
        return None
    return None


def describe(err: BaseException | None) -> str:
    """The error's type, status and the service's message (shortened)."""
    if err is None:
        return "unknown error"
    status = getattr(err, "status_code", None) or getattr(err, "code", None)
    message = str(getattr(err, "message", None) or err)
    body = getattr(err, "body", None)
    detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None  # FastAPI: "detail"
    if detail and str(detail) not in message:
        message = f"{message}: {detail}"
    text = f"{type(err).__name__}{f' {status}' if isinstance(status, int) else ''}: {message}"
    return text if len(text) <= 400 else text[:400] + "..."

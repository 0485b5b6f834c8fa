"""Answer a set of requests: from the CallStore where possible, the rest from the backend, stored as they arrive."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .backends.base import Backend, BackendError, Completion, GenerationRequest
from .store import CallStore, call_key

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    cached: int = 0
    generated: int = 0
    failed: int = 0
    output_tokens: int = 0
    seconds: float = 0.0  # waiting for the backend to generate (its model's loading excluded)
    load_s: float = 0.0  # loading the backend's model (a local model loads at its first generation)
    prefill_s: float = 0.0  # of `seconds`, a local model's forward passes over the prompts
    decode_s: float = 0.0  # of `seconds`, its token-by-token decoding


@dataclass
class Engine:
    """One per process. Backends load their model at the first generation: a fully cached rerun never loads it."""

    backend: Backend
    calls: CallStore
    progress: Callable[[str, int, int], None] | None = None  # (phase, generated so far, to generate) after each
    stats: EngineStats = field(default_factory=EngineStats)
    replay: bool = False  # answer only from the CallStore: the backend is never asked (`--replay`)

    @property
    def identity(self) -> Mapping[str, object]:
        return self.backend.identity()

    def answer(
        self, requests: Mapping[str, GenerationRequest], phase: str = "answers"
    ) -> dict[str, Completion | BackendError]:
        """Completions for `{name: request}`; a name maps to a `BackendError` when its request could not be served.
        `phase` names the work in the progress display (`answers`, `judgments`)."""
        keys = {name: call_key(self.identity, req) for name, req in requests.items()}
        stored = self.calls.get_many(set(keys.values()))
        results: dict[str, Completion | BackendError] = {
            name: stored[key] for name, key in keys.items() if key in stored
        }
        self.stats.cached += len(results)
        missing = [name for name in requests if name not in results]
        if missing and self.replay:
            for name in missing:
                results[name] = BackendError(f"--replay: {name} has no stored call in {self.calls.path}")
            self.stats.failed += len(missing)
        elif missing:
            self._generate(_Pending.of(requests, keys, missing), results, phase)
        return results

    def _generate(self, pending: _Pending, results: dict[str, Completion | BackendError], phase: str) -> None:
        """Ask the backend for the pending requests and store each answer as it arrives; a Ctrl-C still stores what
        the backend hands over while it stops (paid for)."""

        def take(index: int, completion: Completion | BackendError) -> None:
            if index in pending.taken:
                return
            names = pending.groups[index]
            if isinstance(completion, BackendError):  # this request alone failed: nothing stored, rerun retries
                log.error("%s", completion)
                self.stats.failed += len(names)
            else:  # when it was made travels with it (Neo's `tstamp`), the same when replayed later
                completion = replace(completion, extra={**completion.extra, "created": round(time.time(), 3)})
                self.calls.put(pending.keys[index], self.identity, pending.batch[index], completion)
                self.stats.generated += 1
                self.stats.output_tokens += completion.output_tokens or 0
            pending.taken.add(index)  # after storing: an answer a Ctrl-C interrupted while stored is taken again
            for name in names:
                results[name] = completion
            if self.progress:
                self.progress(phase, len(pending.taken), len(pending.batch))

        if self.progress:  # the line appears when the work starts, so its clock and rate count the first answer too
            self.progress(phase, 0, len(pending.batch))
        with self._timed():
            arrivals = self.backend.generate(pending.batch)
            arrival: tuple[int, Completion | BackendError] | None = None
            try:
                for arrival in arrivals:
                    take(*arrival)
            except KeyboardInterrupt:  # Ctrl-C, maybe while an answer was being stored (its transaction rolled back)
                if arrival is not None:
                    take(*arrival)
                for late in _stopped(arrivals):  # what the backend still had in flight, paid for: stored too
                    take(*late)
                raise
            except BackendError as err:  # the whole batch failed: every request not yet answered gets the error
                log.error("%s", err)
                for name in pending.names():
                    if name not in results:
                        results[name] = err
                        self.stats.failed += 1

    @contextmanager
    def _timed(self) -> Iterator[None]:
        """Book the backend's seconds: loading its model apart, and a local model's prefill and decode."""
        loaded_before, started = getattr(self.backend, "load_s", 0.0), time.perf_counter()
        parts_before = _parts(self.backend)
        try:
            yield
        finally:
            loading = getattr(self.backend, "load_s", 0.0) - loaded_before
            self.stats.load_s += loading
            self.stats.seconds += time.perf_counter() - started - loading
            prefill, decode = _parts(self.backend)
            self.stats.prefill_s += prefill - parts_before[0]
            self.stats.decode_s += decode - parts_before[1]

    def close(self) -> None:
        self.backend.close()
        self.calls.close()


@dataclass
class _Pending:
    """The requests the store could not answer, each distinct one once (the same prompt twice is generated once):
    `batch[i]` is asked for the names `groups[i]`, stored under `keys[i]`; `taken` holds the answers stored."""

    batch: list[GenerationRequest]
    keys: list[str]
    groups: list[list[str]]
    taken: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, requests: Mapping[str, GenerationRequest], keys: Mapping[str, str], missing: list[str]) -> _Pending:
        unique: dict[str, list[str]] = {}
        for name in missing:
            unique.setdefault(keys[name], []).append(name)
        return cls([requests[names[0]] for names in unique.values()], list(unique), list(unique.values()))

    def names(self) -> Iterator[str]:
        return (name for names in self.groups for name in names)


def _parts(backend: Backend) -> tuple[float, float]:
    """A local backend's prefill and decode seconds so far (API backends have neither)."""
    return getattr(backend, "prefill_s", 0.0), getattr(backend, "decode_s", 0.0)


def _stopped(
    arrivals: Iterator[tuple[int, Completion | BackendError]],
) -> Iterator[tuple[int, Completion | BackendError]]:
    """Tell a backend's generator to stop (Ctrl-C) and yield what it still hands over — an API backend awaits the
    requests it has in flight; a local one stops at once."""
    if not isinstance(arrivals, Generator):
        return
    try:
        yield arrivals.throw(KeyboardInterrupt())
        yield from arrivals
    except (KeyboardInterrupt, StopIteration):
        return

"""A backend whose answers a test scripts: a function of the request (and of how often it was asked before)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest

Reply = Callable[[GenerationRequest], "str | Completion | BackendError"]


class ScriptedBackend:
    """Answers each request with `reply(request)`; a returned BackendError is raised. Keeps every request seen."""

    def __init__(self, reply: Reply, name: str = "scripted") -> None:
        self.reply = reply
        self.name = name
        self.seen: list[GenerationRequest] = []

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name}

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion]]:
        for i, request in enumerate(requests):
            self.seen.append(request)
            answer = self.reply(request)
            if isinstance(answer, BackendError):
                raise answer
            yield i, answer if isinstance(answer, Completion) else Completion(answer, 0.01, "eos")

    def close(self) -> None:
        pass

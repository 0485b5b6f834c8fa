"""Shared by the API backend tests: run a `generate` call, read what a recording server received."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nejumi_plugin.backends.base import BackendError, Completion, GenerationRequest


def results(backend: Any, requests: Sequence[GenerationRequest]) -> dict[int, Completion | BackendError]:
    """Every request's completion or own failure, by index (each index exactly once)."""
    out: dict[int, Completion | BackendError] = {}
    for index, result in backend.generate(requests):
        assert index not in out
        out[index] = result
    assert sorted(out) == list(range(len(requests)))
    return out


def sent(server: Any, n: int = -1) -> dict[str, Any]:
    """The JSON body of the `n`-th request a pytest-httpserver received."""
    return json.loads(server.log[n][0].get_data())

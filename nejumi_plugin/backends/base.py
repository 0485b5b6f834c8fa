"""What every backend takes and gives: requests in, completions out, one small Protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

Message = tuple[str, str]  # (role, content); role is "system", "user" or "assistant"


@dataclass(frozen=True)
class Thinking:
    """A request to a reasoning model (see `nejumi_plugin.reasoning`): the thinking budget, on top of
    `max_new_tokens` (the answer's own), the provider's effort value, and the think tags stripped from the answer."""

    budget_tokens: int
    effort: str | None = None
    tags: tuple[str, str] = ("<think>", "</think>")


@dataclass(frozen=True)
class GenerationRequest:
    """One completion: of a plain-text `prompt`, or (when `messages` is set) of a chat conversation.

    A local backend renders `messages` with the tokenizer's chat template; an API backend sends them as they are.
    """

    prompt: str
    max_new_tokens: int
    stop: tuple[str, ...] = ()  # generation may end at the first of these (local: the text keeps it; API: cut)
    add_special_tokens: bool = False  # tokenizer special tokens (BOS); Neo's jaster prompts had none
    messages: tuple[Message, ...] = ()  # a chat request; `prompt` is then ignored (keep it "")
    temperature: float = 0.0  # below 1e-4: greedy (as FastChat's `do_sample = temperature >= 1e-4`)
    stop_token_ids: tuple[int, ...] = ()  # local models: generation ends at these as at EOS (excluded from the text)
    model_eos: bool = False  # local models: also end at the generation config's EOS ids (as `model.generate` does)
    draw: int = 0  # which draw of an otherwise identical request (e.g. a judge's retry): each is cached on its own
    thinking: Thinking | None = None  # a reasoning model: think first (no stop string is sent; see `reasoning`)

    @property
    def greedy(self) -> bool:
        return self.temperature < 1e-4

    @property
    def total_tokens(self) -> int:
        """The whole budget: the thinking's (a reasoning model) plus the answer's."""
        return self.max_new_tokens + (self.thinking.budget_tokens if self.thinking else 0)

    def canonical(self) -> str:
        """A stable JSON form, part of the cache key. Fields at their defaults are left out, so adding a field
        never changes the keys of requests that do not use it."""
        defaults = {f.name: f.default for f in fields(self)}
        data = {k: v for k, v in asdict(self).items() if k in ("prompt", "max_new_tokens") or v != defaults[k]}
        return json.dumps(data, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Completion:
    """A backend's answer to one request."""

    text: str
    latency_s: float  # wall seconds from the start of its request (or of its batch) until it was complete
    finish_reason: str = "length"  # "length", "eos" or "stop"
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cached: bool = False  # served from the CallStore rather than generated in this run
    thinking: str = ""  # a reasoning model's thinking, kept apart from `text` (the answer)
    reasoning_tokens: int | None = None  # tokens spent thinking, as the provider reports them
    thinking_exhausted: bool = False  # the budget ran out while thinking: `text` is empty


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """The text before the first stop string found in it, and whether one was found."""
    found = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(found)], True) if found else (text, False)


class BackendError(Exception):
    """A backend could not produce a completion (after its own retries)."""


class Backend(Protocol):
    """Generates completions. Implementations may batch, reorder or run concurrently."""

    def identity(self) -> dict[str, Any]:
        """What determines this backend's outputs (model, revision, dtype, quantization...): the cache-key part."""
        ...

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion | BackendError]]:
        """Yield `(index into requests, completion)` as soon as each is ready, or `(index, BackendError)` for a
        request that failed on its own (the others go on). Raising `BackendError` fails every unfinished request."""
        ...

    def close(self) -> None:
        """Release memory or connections."""
        ...

"""`api: mock`: a model that answers by rules, with no network and no weights, for trying a pipeline end to end
(a new family, a sink, a CI job) and for the docs' examples.

The rules are the provider's `options` (`model.options` or `mtbench.judge.options`); each request gets the answer
of the first rule whose `match` (a regular expression) is found in its text (the last chat turn, or the prompt):

    model:
      api: mock
      pretrained_model_name_or_path: rules-v1   # the name in the row and in the cache key
      options:
        answers:
          - match: "Rating"                      # a judge prompt
            choices: ["Rating: [[3]]", "Rating: [[7]]"]  # one of them, picked by the text's hash
          - match: "^Question: (?P<q>.*)"        # a named group: `{q}` in the answer
            answer: "{q}"
          - match: "flaky"
            error: "a 503, as a test would have it"  # that request fails alone
        default: "I do not know."               # no rule matched

Everything is a function of the request alone, so two runs answer alike and a rerun is served from the store;
changing the rules changes the backend's identity, so no answer of the old rules is reused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .base import BackendError, Completion, GenerationRequest

if TYPE_CHECKING:
    from .api_common import ApiSettings

Reply = Callable[[GenerationRequest], "str | Completion | BackendError"]


class MockRule(BaseModel):
    """One rule: `answer` (may name the match's groups: `{q}`), or `choices` (one picked by the text's hash), or
    `error` (the request fails alone with this message); `thinking` is returned apart from the answer to a
    request that asks a reasoning model to think."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    match: str = ""  # a regular expression searched in the text (`^`, `$` at each line); empty: every request
    answer: str | None = None
    choices: list[str] = Field(default_factory=list)
    error: str | None = None
    thinking: str = ""
    finish_reason: Literal["eos", "length", "stop"] = "eos"

    @field_validator("match")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression ({err})") from None
        return value


class MockOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    answers: list[MockRule] = Field(default_factory=list)
    default: str = "mock answer"
    seconds: float = Field(0.0, ge=0.0)  # the latency each completion reports


def request_text(request: GenerationRequest) -> str:
    """What the rules match: the last chat turn, or the plain prompt."""
    return request.messages[-1][1] if request.messages else request.prompt


def _pick(choices: list[str], text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return choices[int.from_bytes(digest[:8], "big") % len(choices)]


def rules_reply(options: MockOptions) -> Reply:
    """The reply function of a set of rules."""
    compiled = [(re.compile(rule.match, re.MULTILINE), rule) for rule in options.answers]

    def reply(request: GenerationRequest) -> str | Completion | BackendError:
        text = request_text(request)
        for pattern, rule in compiled:
            found = pattern.search(text)
            if found is None:
                continue
            if rule.error is not None:
                return BackendError(rule.error)
            if rule.choices:
                answer = _pick(rule.choices, text)
            else:
                groups = {k: v or "" for k, v in found.groupdict().items()}
                answer = (rule.answer or "").format(**groups) if groups else rule.answer or ""
            thinking = rule.thinking if request.thinking else ""
            return Completion(answer, options.seconds, rule.finish_reason, thinking=thinking)
        return Completion(options.default, options.seconds, "eos")

    return reply


class MockBackend:
    """Answers each request with `reply(request)`: a string, a `Completion`, or a `BackendError` (that request
    fails alone). Keeps every request it was asked (`seen`), for a test to look at."""

    def __init__(self, settings: ApiSettings | None = None, *, reply: Reply | None = None, name: str = "mock") -> None:
        if settings is not None:
            options = MockOptions.model_validate(dict(settings.options))  # checked when the config was loaded
            reply, name = rules_reply(options), settings.model
            self._rules: str = json.dumps(options.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        else:
            self._rules = ""
        if reply is None:
            raise TypeError("MockBackend needs settings (rules) or a reply function")
        self.reply = reply
        self.name = name
        self.seen: list[GenerationRequest] = []

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": "mock", "model": self.name}
        if self._rules:
            ident["rules"] = hashlib.sha256(self._rules.encode("utf-8")).hexdigest()[:16]
        return ident

    def generate(self, requests: Sequence[GenerationRequest]) -> Iterator[tuple[int, Completion | BackendError]]:
        for i, request in enumerate(requests):
            self.seen.append(request)
            answer = self.reply(request)
            yield i, Completion(answer, 0.0, "eos") if isinstance(answer, str) else answer

    def close(self) -> None:
        pass

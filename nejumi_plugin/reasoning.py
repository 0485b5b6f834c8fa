"""Reasoning models: whether a model thinks before it answers, how a request asks for it, and how the thinking is
kept apart from the answer.

A model thinks when its `reasoning` block says `on`, or `auto` decides so: by name for hosted models that think by
default (a model that thinks only when asked, such as Claude, is `on` only when the config says so), and by chat
template for local ones. A thinking request carries its thinking budget on top of the answer's own budget, never
sends a stop string (thinking has blank lines: Neo's `\\n\\n` stop would end it before any answer) and is answered
with the thinking removed: by the provider's own fields (OpenAI-compatible `reasoning_content`, Anthropic's
`thinking` blocks, Gemini's thought parts) and by stripping inline think tags. Stop strings then cut the answer
client-side. An answer cut inside an unterminated think block is empty — scored as wrong, never as the thinking —
and counted as "budget spent thinking".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .backends.base import Completion, Thinking, cut_at_stop
from .config.reasoning_schema import ReasoningConfig

# Hosted models that think by default, by provider (matched against the model or deployment name, case-insensitive)
THINKING_BY_DEFAULT: dict[str, re.Pattern[str]] = {
    "openai": re.compile(r"^(o\d+(-|$)|gpt-5(?!.*-chat))", re.I),  # o1, o3, o4-mini, gpt-5*, not gpt-5-chat-latest
    "google": re.compile(r"^gemini-(2\.5|[3-9])", re.I),  # Gemini 2.5 and later think unless told not to
    "openai_compatible": re.compile(
        r"(deepseek-r1|\bqwq\b|qwen3(?!.*instruct)|gpt-oss|magistral|phi-4-reasoning|reasoning|thinking|-r1\b)", re.I
    ),
    "cohere": re.compile(r"reasoning", re.I),  # command-a-reasoning
}
THINKING_BY_DEFAULT["azure"] = THINKING_BY_DEFAULT["openai"]  # the deployment name, which users often keep
RESPONSES_ONLY = re.compile(r"^(o\d+|gpt-5[\w.]*)-pro\b", re.I)  # OpenAI models served only by the Responses API


@dataclass(frozen=True)
class Decision:
    """Whether a model thinks in this run, and why (kept in the row's meta)."""

    mode: str
    on: bool
    why: str
    thinking: Thinking | None = None

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "thinking": self.on, "why": self.why}
        if self.thinking is not None:
            out.update(budget_tokens=self.thinking.budget_tokens, effort=self.thinking.effort)
        return out


def decide(cfg: ReasoningConfig, provider: str | None, model: str, chat_template: str | None = None) -> Decision:
    """`provider` None is a local model, judged by its chat template (`chat_template`: its text, None if it has
    none)."""
    thinking = Thinking(cfg.budget_tokens, cfg.effort, (cfg.tags[0], cfg.tags[1]))
    if cfg.mode == "off":
        return Decision("off", False, "reasoning.mode: off")
    if cfg.mode == "on":
        return Decision("on", True, "reasoning.mode: on", thinking)
    if provider is None:
        template = chat_template or ""
        if "enable_thinking" in template:
            return Decision("auto", True, "its chat template takes enable_thinking", thinking)
        if cfg.tags[0] in template:
            return Decision("auto", True, f"its chat template opens {cfg.tags[0]}", thinking)
        return Decision("auto", False, "its chat template neither takes enable_thinking nor opens a think tag")
    pattern = THINKING_BY_DEFAULT.get(provider)
    if pattern is not None and pattern.search(model):
        return Decision("auto", True, f"{provider} model {model!r} thinks by default", thinking)
    return Decision("auto", False, f"{provider} model {model!r} is not known to think by default (reasoning.mode: on "
                                   "switches thinking on)")  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """A thinking model's output taken apart."""

    text: str  # the answer: thinking removed, cut at the request's stop strings
    thinking: str
    exhausted: bool  # the budget ran out while thinking: no answer
    cut: bool = False  # a stop string ended the answer


def split_inline(text: str, tags: tuple[str, str]) -> tuple[str, str, bool]:
    """(answer, thinking, unterminated) of a text that may hold a think block: what precedes the closing tag (an
    opening tag included, or not: some chat templates open it in the prompt) is thinking; an opening tag never
    closed makes the rest thinking and the answer empty."""
    opening, closing = tags
    if closing in text:
        thinking, _, answer = text.partition(closing)
        return answer.lstrip(), thinking.replace(opening, "", 1).strip(), False
    if opening in text:
        before, _, thinking = text.partition(opening)
        return before.strip(), thinking.strip(), not before.strip()
    return text, "", False


def take_apart(text: str, thinking: Thinking, stop: tuple[str, ...], finish_reason: str, separate: str = "",
               reasoning_tokens: int | None = None) -> Answer:  # fmt: skip
    """The answer and thinking of one completion: `separate` is what the provider returned as thinking in a field
    of its own; inline tags in `text` are stripped too; then the stop strings cut the answer."""
    answer, inline, unterminated = split_inline(text, thinking.tags)
    answer, cut = ("", False) if unterminated else cut_at_stop(answer, stop)
    thought = bool(inline or separate.strip() or reasoning_tokens)
    exhausted = finish_reason == "length" and (unterminated or (thought and not answer.strip()))
    return Answer(answer, "\n\n".join(t for t in (separate.strip(), inline) if t), exhausted, cut)


def completion(answer: Answer, latency: float, finish_reason: str, prompt_tokens: int | None,
               output_tokens: int | None, reasoning_tokens: int | None = None) -> Completion:  # fmt: skip
    """The completion of a thinking request: the answer as its text, the thinking beside it."""
    return Completion(answer.text, latency, "stop" if answer.cut else finish_reason, prompt_tokens, output_tokens,
                      thinking=answer.thinking, reasoning_tokens=reasoning_tokens, thinking_exhausted=answer.exhausted)

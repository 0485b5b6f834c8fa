"""Reasoning models: whether a model thinks before it answers, how a request asks for it, and how the thinking is
kept apart from the answer.

A model thinks when its `reasoning` block says `on`, or `auto` decides so: by name for hosted models that think by
default (a model that thinks only when asked, such as Claude, is `on` only when the config says so), and by chat
template for local ones. A thinking request (`backends.base.Thinking`) carries its thinking budget on top of the
answer's own budget; how each backend sends it and takes the thinking apart from the answer is
`backends/thinking.py`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .backends.base import Thinking
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
    return Decision(
        "auto",
        False,
        f"{provider} model {model!r} is not known to think by default (reasoning.mode: on switches thinking on)",
    )

"""The `reasoning` block (under `model` and `mtbench.judge`): whether the model thinks before it answers, and the
budgets. See `nejumi_plugin.reasoning` for what each provider is sent."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ._base import Section

DEFAULT_TAGS = ["<think>", "</think>"]


class ReasoningConfig(Section):
    """`mode`: `auto` (on for models that think by default: OpenAI's o-series and GPT-5, Gemini 2.5 and later, open
    reasoning models by name, local models whose chat template takes `enable_thinking` or opens a think tag; the run's
    meta says what it decided and why), `on` or `off` (exactly today's requests). `effort`: the provider's own value
    (OpenAI `none` … `xhigh`, Anthropic `low` … `max`, Gemini's thinking level). `budget_tokens`: for the thinking,
    on top of `answer_tokens` (default: the dataset's `output_length` for jaster, `mtbench.max_new_token` for
    MT-Bench answers, `mtbench.judge.max_tokens` for the judge). `tags`: the think tags stripped from the answer."""

    mode: Literal["auto", "on", "off"] = "auto"
    effort: str | None = None
    budget_tokens: int = Field(4096, ge=1)
    answer_tokens: int | None = Field(None, ge=1)
    tags: list[str] = Field(default_factory=lambda: list(DEFAULT_TAGS))

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        """YAML 1.1 (PyYAML) reads a bare `on` / `off` as true / false: they mean the modes of those names."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("tags")
    @classmethod
    def _two_tags(cls, value: Any) -> Any:
        if len(value) != 2 or not all(isinstance(tag, str) and tag for tag in value) or value[0] == value[1]:
            raise ValueError(
                'expected two different tags, the opening and the closing one, e.g. ["<think>", "</think>"]'
            )
        return value

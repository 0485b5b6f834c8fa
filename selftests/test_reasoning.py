"""Whether a model thinks (`reasoning.mode`, `auto` by name or chat template) and how its thinking is taken apart
from its answer."""

from __future__ import annotations

import pytest
import yaml

from nejumi_plugin.backends.base import Thinking
from nejumi_plugin.backends.thinking import split_inline, take_apart
from nejumi_plugin.config.reasoning_schema import ReasoningConfig
from nejumi_plugin.reasoning import decide

TAGS = ("<think>", "</think>")


@pytest.mark.parametrize(
    ("provider", "model", "on"),
    [
        ("openai", "o1", True),
        ("openai", "o3-mini", True),
        ("openai", "o4-mini-2025-04-16", True),
        ("openai", "gpt-5", True),
        ("openai", "gpt-5.1-mini", True),
        ("openai", "gpt-5-chat-latest", False),
        ("openai", "gpt-4o", False),
        ("openai", "gpt-4", False),
        ("azure", "o3", True),
        ("google", "gemini-2.5-flash", True),
        ("google", "gemini-3-pro-preview", True),
        ("google", "gemini-1.5-pro", False),
        ("openai_compatible", "Qwen/Qwen3-8B", True),
        ("openai_compatible", "Qwen/Qwen3-30B-A3B-Instruct-2507", False),
        ("openai_compatible", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", True),
        ("openai_compatible", "openai/gpt-oss-20b", True),
        ("openai_compatible", "llm-jp/llm-jp-3-13b-instruct", False),
        ("anthropic", "claude-sonnet-4-5", False),
        ("cohere", "command-a-reasoning-08-2025", True),
        ("cohere", "command-r-plus", False),
    ],
)
def test_auto_follows_what_each_provider_documents(provider: str, model: str, on: bool) -> None:
    decision = decide(ReasoningConfig(), provider, model)
    assert decision.on is on and decision.mode == "auto" and model in decision.why
    assert (decision.thinking is not None) is on


def test_on_and_off_are_what_they_say() -> None:
    config = ReasoningConfig.model_validate({"mode": "on", "effort": "high", "budget_tokens": 1024})
    on = decide(config, "anthropic", "claude-sonnet-4-5")  # Claude thinks only when asked
    assert (
        on.on
        and on.thinking == Thinking(1024, "high", TAGS)
        and on.meta()
        == {"mode": "on", "thinking": True, "why": "reasoning.mode: on", "budget_tokens": 1024, "effort": "high"}
    )
    off = decide(ReasoningConfig.model_validate({"mode": "off"}), "openai", "o3")
    assert (
        not off.on
        and off.thinking is None
        and off.meta() == {"mode": "off", "thinking": False, "why": "reasoning.mode: off"}
    )


def test_a_local_template_that_opens_a_think_tag_thinks() -> None:
    template = "{% if add_generation_prompt %}<｜Assistant｜><think>\\n{% endif %}"  # DeepSeek-R1's distills
    assert decide(ReasoningConfig(), None, "/m", template).why == "its chat template opens <think>"
    assert not decide(ReasoningConfig(), None, "/m", None).on  # no chat template at all


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nstep 1\n\nstep 2\n</think>\n\nentailment", ("entailment", "step 1\n\nstep 2", False)),
        ("step 1\n</think>\n\nentailment", ("entailment", "step 1", False)),  # the template opened the block
        ("<think>\nstep 1\n\nstep 2", ("", "step 1\n\nstep 2", True)),  # cut inside the block
        ("entailment", ("entailment", "", False)),  # no thinking at all
        ("ok <think>later", ("ok", "later", False)),  # an answer before an unclosed tag is an answer
    ],
)
def test_inline_think_blocks(text: str, expected: tuple[str, str, bool]) -> None:
    assert split_inline(text, TAGS) == expected


def test_the_stop_string_cuts_the_answer_after_the_thinking_is_removed() -> None:
    think = Thinking(64)
    answer = take_apart("<think>\na\n\nb\n</think>\n\nneutral\n\n### 入力", think, ("\n\n",), "eos")
    assert (answer.text, answer.thinking, answer.exhausted, answer.cut) == ("neutral", "a\n\nb", False, True)
    spent = take_apart("<think>\na\n\nb", think, ("\n\n",), "length")
    assert (spent.text, spent.exhausted) == ("", True)
    hidden = take_apart("", think, (), "length", reasoning_tokens=64)  # OpenAI: all of it spent thinking, unseen
    assert hidden.exhausted and hidden.text == ""
    short = take_apart("", think, (), "length")  # no sign of thinking: an answer budget too small, not thinking
    assert not short.exhausted
    field = take_apart("contradiction", think, (), "eos", separate="from reasoning_content")
    assert (field.text, field.thinking) == ("contradiction", "from reasoning_content")


def test_tags_must_be_two_different_strings() -> None:
    with pytest.raises(ValueError, match="expected two different tags"):
        ReasoningConfig.model_validate({"tags": ["<think>"]})
    assert ReasoningConfig.model_validate({"tags": ["<reasoning>", "</reasoning>"]}).tags == [
        "<reasoning>",
        "</reasoning>",
    ]


@pytest.mark.parametrize(("text", "mode"), [("mode: on", "on"), ("mode: off", "off"), ("mode: auto", "auto")])
def test_bare_on_and_off_in_yaml_are_the_modes(text: str, mode: str) -> None:
    assert ReasoningConfig.model_validate(yaml.safe_load(text)).mode == mode  # YAML 1.1 reads `on` as true


def test_reasoning_tokens_not_reported_are_counted_apart_never_as_zero() -> None:
    from nejumi_plugin.backends.base import Completion
    from nejumi_plugin.usage import thinking_usage

    calls = [
        Completion("a", 0.1, reasoning_tokens=120),  # OpenAI: completion_tokens_details.reasoning_tokens
        Completion("", 0.1, reasoning_tokens=None, thinking_exhausted=True),  # Anthropic: not broken down
        Completion("b", 0.1, reasoning_tokens=0),  # reported, and none spent
    ]
    assert thinking_usage(calls) == {
        "reasoning_tokens": 120,
        "reasoning_tokens_unreported": 1,
        "budget_spent_thinking": 1,
    }

"""Conversation templates: Neo's custom template byte for byte, FastChat's, the tokenizer's; FastChat's stop cut."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nejumi_plugin.config import ConfigError, load_config
from nejumi_plugin.tasks.mtbench.conversation import (
    CustomTemplate,
    FastChatTemplate,
    TokenizerTemplate,
    neo_cut,
    resolve_template,
    stopped_too_early,
)

JA_SYSTEM = "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。"


def config(make_config: Callable[..., Path], **mtbench: object):
    return load_config(make_config(mtbench=mtbench), [])


def test_custom_template_renders_as_spec_3_2(make_config: Callable[..., Path]) -> None:
    template = resolve_template(config(make_config, custom_conv_template=True), "ja", "any/model")
    assert isinstance(template, CustomTemplate)
    turn1 = template.render(["Q1"], [])
    assert turn1.prompt == JA_SYSTEM + "\n\n### 指示: \nQ1\n\n### 応答: \n"
    turn2 = template.render(["Q1", "Q2"], ["A1"])
    assert turn2.prompt == JA_SYSTEM + "\n\n### 指示: \nQ1\n\n### 応答: \nA1\n\n### 指示: \nQ2\n\n### 応答: \n"
    assert turn2.stop == ("###",) and turn2.stop_token_ids == (2,)
    assert turn2.messages == (("system", JA_SYSTEM), ("user", "Q1"), ("assistant", "A1"), ("user", "Q2"))


def test_custom_template_uses_the_language_and_the_conv_keys(make_config: Callable[..., Path]) -> None:
    cfg = config(
        make_config,
        custom_conv_template=True,
        conv_sep="\n",
        conv_stop_token_ids="[7, 8]",
        conv_role_message_separator=": ",
        conv_role_only_separator=":",
    )
    dialogue = resolve_template(cfg, "en", "m").render(["Q1"], [])
    assert dialogue.prompt.endswith("fulfilling the request.\nInstruction: Q1\nResponse:")
    assert dialogue.stop_token_ids == (7, 8)


def test_an_empty_earlier_answer_renders_as_an_open_slot_as_in_fastchat(make_config: Callable[..., Path]) -> None:
    template = resolve_template(config(make_config, custom_conv_template=True), "ja", "m")
    # FastChat's CUSTOM style: `role + role_only_sep` and no separator, so the next role follows at once
    assert "### 応答: \n指示: \nQ2\n\n### 応答: \n" in template.render(["Q1", "Q2"], [""]).prompt


def test_neo_resolves_a_fastchat_template_from_the_model_name(make_config: Callable[..., Path]) -> None:
    template = resolve_template(config(make_config), "ja", "elyza/ELYZA-japanese-Llama-2-7b-instruct")
    assert isinstance(template, FastChatTemplate) and template.conversation.name == "llama-2"
    assert template.render(["Q1", "Q2"], ["A1"]).prompt == "[INST] Q1 [/INST] A1 </s><s>[INST] Q2 [/INST]"
    fallback = resolve_template(config(make_config), "ja", "tiny-random")  # no adapter matches: FastChat's one_shot
    assert fallback.conversation.name == "one_shot"
    assert fallback.render(["Q1"], []).prompt.endswith("### Human: Q1\n### Assistant:")
    assert fallback.render(["Q1"], []).stop == ("###",)


def test_api_models_get_the_templates_system_message(make_config: Callable[..., Path]) -> None:
    dialogue = resolve_template(config(make_config), "ja", "gpt-4").render(["Q1", "Q2"], ["A1"])
    assert dialogue.prompt == ""  # the chatgpt template has no text form
    assert dialogue.messages == (
        ("system", "You are a helpful assistant."),
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2"),
    )


def test_named_and_tokenizer_templates(make_config: Callable[..., Path]) -> None:
    named = resolve_template(config(make_config, conv_template="llama-2"), "ja", "tiny-random")
    assert named.render(["Q1"], []).prompt == "[INST] Q1 [/INST]"
    tokenizer = resolve_template(config(make_config, conv_template="tokenizer"), "ja", "tiny-random")
    assert isinstance(tokenizer, TokenizerTemplate)
    assert tokenizer.render(["Q1", "Q2"], ["A1"]).messages == (("user", "Q1"), ("assistant", "A1"), ("user", "Q2"))
    with pytest.raises(ConfigError, match="mtbench.conv_template: 'no-such' is not a FastChat conversation"):
        resolve_template(config(make_config, conv_template="no-such"), "ja", "m")


@pytest.mark.parametrize(
    ("text", "stop", "expected"),
    [
        ("  answer ###\n### 指示: more", ("###",), "answer"),
        ("###answer ### more", ("###",), "###answer ### more"),  # found at index 0: FastChat cuts nothing
        ("a <b> c </s> d", ("</s>", "<b>"), "a"),  # a list: the earliest index > 0
        ("plain", (), "plain"),
    ],
)
def test_neo_cut(text: str, stop: tuple[str, ...], expected: str) -> None:
    assert neo_cut(text, stop) == expected


def test_a_stop_at_index_zero_means_generate_again() -> None:
    assert stopped_too_early("###", "stop", ("###",))
    assert not stopped_too_early("ok ###", "stop", ("###",))
    assert not stopped_too_early("###", "eos", ("###",)) and not stopped_too_early("", "stop", ())

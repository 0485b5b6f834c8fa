"""Prompts byte for byte as docs/scoring-jaster.md, "Prompts" (the worked example is generated from the rebuilt jaster files)."""

from __future__ import annotations

import pytest

from nejumi_plugin.tasks.jaster.data import Sample
from nejumi_plugin.tasks.jaster.prompts import PromptTemplates, TemplateError, build_template, render, safe_format

JEMHOPQA_INSTRUCTION = (
    "質問を入力とし、回答を出力してください。回答の他には何も含めないことを厳守してください。"
    "回答が'はい'と'いいえ'で答えることができる場合、'YES'と'NO'で答えてください。"
)
JEMHOPQA_SHOTS = (
    Sample("質問：映画『ダイ・ハード』と『デッドプール2』のうち、公開年が早いほうはどっち？", "ダイ・ハード"),
    Sample("質問：東海旅客鉄道と北海道旅客鉄道はどちらも陸運業ですか？", "YES"),
    Sample("質問：各務原市と飯塚市、岐阜県にあるのは飯塚市ですか？", "NO"),
    Sample("質問：高松自動車道の坂出支線の起点ICのもう一つの所属路線は？", "瀬戸中央自動車道"),
)
JEMHOPQA_TEST0 = "質問：『ダンガンロンパ 希望の学園と絶望の高校生』と『ファイナルファンタジーXIII』、発売日が早いのはどちらでしょう？"

# Neo's worked example (ja, 4-shot, jemhopqa test[0]), copied verbatim
SPEC_EXAMPLE = (
    "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n"
    "質問を入力とし、回答を出力してください。回答の他には何も含めないことを厳守してください。回答が'はい'と'いいえ'で答えることができる場合、'YES'と'NO'で答えてください。"
    "\n\n### 入力:\n質問：映画『ダイ・ハード』と『デッドプール2』のうち、公開年が早いほうはどっち？\n\n### 応答:\nダイ・ハード"
    "\n\n### 入力:\n質問：東海旅客鉄道と北海道旅客鉄道はどちらも陸運業ですか？\n\n### 応答:\nYES"
    "\n\n### 入力:\n質問：各務原市と飯塚市、岐阜県にあるのは飯塚市ですか？\n\n### 応答:\nNO"
    "\n\n### 入力:\n質問：高松自動車道の坂出支線の起点ICのもう一つの所属路線は？\n\n### 応答:\n瀬戸中央自動車道"
    "\n\n### 入力:\n質問：『ダンガンロンパ 希望の学園と絶望の高校生』と『ファイナルファンタジーXIII』、発売日が早いのはどちらでしょう？\n\n### 応答:\n"
)


def test_spec_example_ja_4shot_byte_exact() -> None:
    prompt = render(build_template(JEMHOPQA_INSTRUCTION, JEMHOPQA_SHOTS, "ja"), JEMHOPQA_TEST0, "t")
    assert prompt == SPEC_EXAMPLE


def test_ja_0shot() -> None:
    prompt = render(build_template("指示文", (), "ja"), "入力文", "t")
    assert prompt == (
        "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。"
        "\n\n### 指示:\n指示文\n\n### 入力:\n入力文\n\n### 応答:\n"
    )


def test_en_fewshot() -> None:
    prompt = render(build_template("Pick.", (Sample("Q1", "A"),), "en"), "Q2", "t")
    assert prompt == (
        "Here is a combination of instructions explaining the task and inputs with context. Please write a response "
        "that adequately meets the request.\n\n### Instruction:\nPick.\n\n### Input:\nQ1\n\n### Response:\nA"
        "\n\n### Input:\nQ2\n\n### Response:\n"
    )


def test_braces_in_inputs_survive_like_neo() -> None:
    """Few-shot inputs are brace-escaped before the second formatting; the test input is a value, never parsed."""
    prompt = render(build_template("I", (Sample("f(x) = {x}", "A"),), "en"), "g = {y}", "t")
    assert "### Input:\nf(x) = {x}\n" in prompt and prompt.endswith("### Input:\ng = {y}\n\n### Response:\n")


def test_custom_template_0shot_and_fewshot_appends_to_instruction() -> None:
    custom = PromptTemplates(prompt="<s>[INST] {instruction}\n{input} [/INST]", fewshots="\nQ:{input} A:{output}")
    zero = render(build_template("Do it.", (), "ja", custom), "X", "t")
    assert zero == "<s>[INST] Do it.\nX [/INST]"
    few = render(build_template("Do it.", (Sample("a{1}", "b"),), "ja", custom), "X", "t")
    assert few == "<s>[INST] Do it.\nQ:a{1} A:b\nX [/INST]"


def test_custom_prompt_without_fewshot_template_uses_default_block() -> None:
    custom = PromptTemplates(prompt="{instruction}|{input}")
    few = render(build_template("I", (Sample("q", "a"),), "ja", custom), "X", "t")
    assert few == "I\n\n### 入力:\nq\n\n### 応答:\na|X"


@pytest.mark.parametrize(
    "template",
    ["{instruction.__class__}", "{input[0]}", "{few_shots}", "{instruction!r}", "{input:>10}", "{0}", "{"],
)
def test_unsafe_or_unknown_placeholders_are_rejected(template: str) -> None:
    with pytest.raises(TemplateError, match="llm_jp_eval.ja.custom_prompt_template"):
        build_template("I", (Sample("q", "a"),), "ja", PromptTemplates(prompt=template + "{input}"))


def test_safe_format_escapes() -> None:
    assert safe_format("{{a}} {x}", {"x": "1"}, "w") == "{a} 1"

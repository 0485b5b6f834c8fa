"""Neo's jaster prompts (docs/scoring-jaster.md, "Prompts"), built in the same two stages as Neo.

Stage 1 builds a template with an `{input}` slot (Neo: a LangChain `PromptTemplate`); stage 2 fills the slot with the
sample's input. Both stages use `safe_format`, which accepts only the named placeholders — never attribute or index
access — so a user's template cannot reach into Python objects.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .data import Sample

_HEADINGS = {
    "ja": (
        "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。",
        "指示",
        "入力",
        "応答",
    ),
    "en": (
        "Here is a combination of instructions explaining the task and inputs with context. "
        "Please write a response that adequately meets the request.",
        "Instruction",
        "Input",
        "Response",
    ),
}


class TemplateError(ValueError):
    """A prompt template uses a placeholder it may not use."""


def safe_format(template: str, values: Mapping[str, str], where: str) -> str:
    """`template.format(**values)` restricted to plain `{name}` fields from `values` (`{{`/`}}` escape braces)."""
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise TemplateError(f"{where}: malformed template ({err}); write literal braces as '{{{{' and '}}}}'") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if field not in values or spec or conversion:
            allowed = ", ".join("{" + k + "}" for k in values)
            shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TemplateError(
                f"{where}: placeholder {shown} is not allowed; use only {allowed} "
                "(write literal braces as '{{' and '}}')"
            )
        out.append(values[field])
    return "".join(out)


def replace_braces(text: str) -> str:
    """Escape braces of a few-shot input, which Neo embeds in a template that is formatted once more."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class PromptTemplates:
    """`llm_jp_eval.<lang>.custom_prompt_template` / `custom_fewshots_template` (None = Neo's default)."""

    prompt: str | None = None
    fewshots: str | None = None


def build_template(
    instruction: str, few_shots: Sequence[Sample], language: str, custom: PromptTemplates = PromptTemplates()
) -> str:
    """Stage 1: the prompt with an `{input}` slot, as Neo's `get_evaluation_prompt` builds it."""
    intro, h_instruction, h_input, h_response = _HEADINGS[language]

    def default_shot(shot: Sample) -> str:
        return f"\n\n### {h_input}:\n{replace_braces(shot.input)}\n\n### {h_response}:\n{shot.output}"

    if custom.prompt is None:
        text = f"{intro}\n\n### {h_instruction}:\n{instruction}"
        text += "".join(default_shot(shot) for shot in few_shots)
        return text + f"\n\n### {h_input}:\n{{input}}\n\n### {h_response}:\n"

    where = f"llm_jp_eval.{language}.custom_prompt_template"
    if not few_shots:
        return safe_format(custom.prompt, {"instruction": instruction, "input": "{input}"}, where)
    if custom.fewshots is None:
        shots_text = "".join(default_shot(shot) for shot in few_shots)
    else:
        fs_where = f"llm_jp_eval.{language}.custom_fewshots_template"
        shots_text = "".join(
            safe_format(custom.fewshots, {"input": replace_braces(shot.input), "output": shot.output}, fs_where)
            for shot in few_shots
        )
    # Neo appends the few-shot text to {instruction}; there is no {few_shots} placeholder.
    return safe_format(custom.prompt, {"instruction": instruction + shots_text, "input": "{input}"}, where)


def render(template: str, sample_input: str, where: str) -> str:
    """Stage 2: fill the `{input}` slot (Neo: `PromptTemplate.format_prompt(input=...)`)."""
    return safe_format(template, {"input": sample_input}, where)

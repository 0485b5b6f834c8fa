"""A thinking model's output taken apart: the thinking kept apart from the answer, stop strings applied to the answer.

A thinking request never sends a stop string (thinking has blank lines: Neo's `\\n\\n` stop would end it before any
answer). The answer is what is left once the thinking is removed — the provider's own fields (OpenAI-compatible
`reasoning_content`, Anthropic's `thinking` blocks, Gemini's thought parts) and inline think tags — and the stop
strings then cut it client-side. An answer cut inside an unterminated think block is empty — scored as wrong, never
as the thinking — and counted as "budget spent thinking".
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Completion, Thinking, cut_at_stop


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


def take_apart(
    text: str,
    thinking: Thinking,
    stop: tuple[str, ...],
    finish_reason: str,
    separate: str = "",
    reasoning_tokens: int | None = None,
) -> Answer:
    """The answer and thinking of one completion: `separate` is what the provider returned as thinking in a field
    of its own; inline tags in `text` are stripped too; then the stop strings cut the answer."""
    answer, inline, unterminated = split_inline(text, thinking.tags)
    answer, cut = ("", False) if unterminated else cut_at_stop(answer, stop)
    thought = bool(inline or separate.strip() or reasoning_tokens)
    exhausted = finish_reason == "length" and (unterminated or (thought and not answer.strip()))
    return Answer(answer, "\n\n".join(t for t in (separate.strip(), inline) if t), exhausted, cut)


def completion(
    answer: Answer,
    latency: float,
    finish_reason: str,
    prompt_tokens: int | None,
    output_tokens: int | None,
    reasoning_tokens: int | None = None,
) -> Completion:
    """The completion of a thinking request: the answer as its text, the thinking beside it."""
    return Completion(
        answer.text,
        latency,
        "stop" if answer.cut else finish_reason,
        prompt_tokens,
        output_tokens,
        thinking=answer.thinking,
        reasoning_tokens=reasoning_tokens,
        thinking_exhausted=answer.exhausted,
    )

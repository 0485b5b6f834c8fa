"""The single-answer judge of Neo's MT-Bench (docs/scoring-mtbench.md): matches, the exact prompts, retries.

Each question gives two matches: turn 1 with `single-v1` (or `single-math-v1` and the turn-1 reference for math,
reasoning and coding) and turn 2 with the multi-turn prompts (and both references). The judge is asked again, at
most `MAX_JUDGE_CALLS` times in all, while its rating is not in 1..10; the last answer and its rating are kept,
-1 when no rating could be read. Every call goes through the Engine: attempt n is draw n of the same request, so a
rerun replays the stored attempts and pays for none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...backends.base import BackendError, Completion, GenerationRequest, Thinking
from ...engine import Engine
from .data import JudgePrompt, MtbenchData, Question
from .rating import MAX_JUDGE_CALLS, is_final, parse_rating


@dataclass(frozen=True)
class JudgeSettings:
    """`mtbench.judge`: the judge's name (as it appears in the output table) and its sampling."""

    model: str = "gpt-4"
    temperature: float = 0.0
    max_tokens: int = 2048
    max_calls: int = MAX_JUDGE_CALLS  # 1 when the judge is deterministic: a retry would repeat the same answer
    thinking: Thinking | None = None  # a reasoning judge (its rating is read from the answer, never the thinking)


@dataclass(frozen=True)
class Match:
    """One judgment to make: a question's turn, the prompt that judges it, the answers and the references."""

    question: Question
    turn: int  # 1 or 2
    prompt: JudgePrompt
    answers: tuple[str, str]
    references: tuple[str, ...] | None  # only for math, reasoning and coding

    def user_prompt(self) -> str:
        """FastChat's `template.format(...)`: questions, answers and references are values, so braces in them
        are safe."""
        q = self.question.turns
        refs: dict[str, str] = {}
        if self.references is not None:
            refs["ref_answer_1"] = self.references[0]
            if self.turn == 2:
                refs["ref_answer_2"] = self.references[1]
        if self.turn == 2:
            return self.prompt.prompt_template.format(
                question_1=q[0], question_2=q[1], answer_1=self.answers[0], answer_2=self.answers[1], **refs
            )
        return self.prompt.prompt_template.format(question=q[0], answer=self.answers[0], **refs)

    def request(self, settings: JudgeSettings, draw: int = 0) -> GenerationRequest:
        """The chat request FastChat's `chatgpt` template sends: the prompt's system message, then the user prompt."""
        user = ("user", self.user_prompt())
        messages = (("system", self.prompt.system_prompt), user) if self.prompt.system_prompt else (user,)
        return GenerationRequest(
            "",
            settings.max_tokens,
            messages=messages,
            temperature=settings.temperature,
            draw=draw,
            thinking=settings.thinking,
        )


def make_matches(data: MtbenchData, question: Question, answers: tuple[str, str]) -> tuple[Match, Match]:
    """The question's turn-1 and turn-2 matches (Neo's `make_judge_single` judges)."""
    ref = data.references.get(question.question_id) if data.needs_reference(question) else None
    math = ref is not None
    first = data.prompts["single-math-v1" if math else "single-v1"]
    second = data.prompts["single-math-v1-multi-turn" if math else "single-v1-multi-turn"]
    return Match(question, 1, first, answers, ref), Match(question, 2, second, answers, ref)


@dataclass(frozen=True)
class Verdict:
    """The judge's last answer to a match, the rating read from it and how many calls it took."""

    judgment: str
    score: int | float
    calls: int  # judge answers it took (Neo's attempts)
    made: int  # of which were asked of the judge in this run (the rest came from the CallStore)
    replies: tuple[Completion, ...] = ()  # every attempt's completion (usage, latency)


def judge_all(
    engine: Engine, matches: Mapping[str, Match], settings: JudgeSettings
) -> dict[str, Verdict | BackendError]:
    """Judge every match, in rounds: all first attempts (concurrently or batched by the backend), then the second
    attempts of those whose rating is not final, and so on."""
    results: dict[str, Verdict | BackendError] = {}
    made: dict[str, int] = {}
    replies: dict[str, tuple[Completion, ...]] = {}
    pending = list(matches)
    for draw in range(max(1, settings.max_calls)):
        answers = engine.answer({key: matches[key].request(settings, draw) for key in pending}, "MT-Bench judgments")
        pending = []
        for key, answer in answers.items():
            if isinstance(answer, BackendError):
                results[key] = answer
                continue
            rating = parse_rating(answer.text)
            made[key] = made.get(key, 0) + (not answer.cached)
            replies[key] = (*replies.get(key, ()), answer)
            results[key] = Verdict(answer.text, rating, draw + 1, made[key], replies[key])
            if not is_final(rating):
                pending.append(key)
        if not pending:
            break
    return results

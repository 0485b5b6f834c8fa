"""Runs MT-Bench questions: all turn-1 answers in one batch, then all turn-2 answers, then the judge
(docs/scoring-mtbench.md#answer-generation).

The first item of a language prepares every selected question of it; each item then reads its question's two
judgments. An answer the backend could not produce (after its retries) fails its item; nothing is made up.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...backends.base import BackendError, Completion, GenerationRequest, Thinking
from ...engine import Engine
from ...family import CaseError, Scored
from ...usage import thinking_usage, token_usage
from .canary import canary_items, canary_matches, canary_records
from .cases import MtbenchCase
from .conversation import Template, neo_cut, stopped_too_early
from .data import MtbenchData, Question
from .judge import JudgeSettings, Match, Verdict, judge_all, make_matches

# FastChat's temperature_config (common.py): local answer models sample with these; unknown categories get 0.7
TEMPERATURES = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
    "arena-hard-200": 0.0,
}
DEFAULT_TEMPERATURE = 0.7
OUTPUT_COLUMNS = (
    "question_id",
    "category",
    "answer_id",
    "model",
    "question",
    "answer",
    "judge",
    "user_prompt",
    "judgment",
    "score",
    "turn",
    "tstamp",
)


class QuestionError(CaseError):
    """A question could not be answered or judged; the message says why."""


@dataclass(frozen=True)
class MtbenchOptions:
    """The config values that shape one language's answers and judgments."""

    language: str
    model_id: str  # Neo's `model` column: `mtbench.model_id` or model_name, "--" -> "/", hash suffix dropped
    template: Template
    api: bool  # an API answer model: chat messages and one temperature for every category
    api_temperature: float
    max_new_token: int
    judge: JudgeSettings
    thinking: Thinking | None = None  # a reasoning model: both turns think first; history and judge see answers only
    canary: int = 0  # calibration items judged beside the run's own (`canary`)
    judge_check: Mapping[str, Any] | None = None  # an earlier judge-check of this judge (`judge_check.find_result`)


@dataclass
class Answer:
    text: str  # post-processed
    reply: Completion  # what the backend returned

    @property
    def cached(self) -> bool:
        return self.reply.cached


@dataclass
class MtbenchRunner:
    data: MtbenchData
    answerer: Engine
    judge: Engine
    options: MtbenchOptions
    _answers: dict[int, list[Answer] | BackendError] = field(default_factory=dict)
    _verdicts: dict[str, Verdict | BackendError] = field(default_factory=dict)
    _matches: dict[str, Match] = field(default_factory=dict)
    _canary: list[dict[str, Any]] | None = None  # the canary items' ratings, once judged

    def question(self, case: MtbenchCase) -> Question:
        return next(q for q in self.data.questions if q.question_id == case.question_id)

    def temperature(self, question: Question) -> float:
        if self.options.api:
            return self.options.api_temperature
        return TEMPERATURES.get(question.category, DEFAULT_TEMPERATURE)

    def request(self, question: Question, earlier: Sequence[str]) -> GenerationRequest:
        """The request for the next turn, conditioned on the post-processed earlier answers."""
        dialogue = self.options.template.render(question.turns[: len(earlier) + 1], earlier)
        temperature, budget, thinking = self.temperature(question), self.options.max_new_token, self.options.thinking
        stop = () if thinking else dialogue.stop  # a thinking answer is cut afterwards (`neo_cut`), never mid-thought
        if self.options.api or not dialogue.prompt:  # chat messages (API models, or the tokenizer's template)
            return GenerationRequest(
                "",
                budget,
                messages=dialogue.messages,
                temperature=temperature,
                stop=() if self.options.api else stop,
                stop_token_ids=dialogue.stop_token_ids,
                model_eos=not self.options.api,
                thinking=thinking,
            )
        # FastChat tokenizes the prompt with the tokenizer's defaults (BOS included) and generates with the
        # model's generation config (its EOS), cutting at conv.stop_token_ids and conv.stop_str afterwards
        return GenerationRequest(
            dialogue.prompt,
            budget,
            stop,
            True,
            temperature=temperature,
            stop_token_ids=dialogue.stop_token_ids,
            model_eos=True,
            thinking=thinking,
        )

    def _turn(self, questions: Iterable[Question]) -> None:
        """Answer the next turn of every question (one engine call), post-processed as FastChat does."""
        requests, stops, turn = {}, {}, 1
        for q in questions:
            done = self._answers.get(q.question_id, [])
            assert isinstance(done, list)
            earlier = [a.text for a in done]
            turn = len(earlier) + 1
            requests[str(q.question_id)] = self.request(q, earlier)
            stops[str(q.question_id)] = self.options.template.render(q.turns[: len(earlier) + 1], earlier).stop
        replies = self.answerer.answer(requests, f"MT-Bench answers, turn {turn}")
        again = {
            k: replace(requests[k], stop=())
            for k, r in replies.items()
            if isinstance(r, Completion) and stopped_too_early(r.text, r.finish_reason, requests[k].stop)
        }
        replies.update(self.answerer.answer(again, f"MT-Bench answers, turn {turn}, again") if again else {})
        for key, reply in replies.items():
            qid = int(key)
            if isinstance(reply, BackendError):
                self._answers[qid] = reply
                continue
            text = reply.text if self.options.api else neo_cut(reply.text, stops[key])
            answers = self._answers.setdefault(qid, [])
            assert isinstance(answers, list)
            answers.append(Answer(text, reply))

    def prepare(self, cases: Iterable[MtbenchCase]) -> None:
        """Answer turn 1 of every new question, then turn 2, then judge all their matches."""
        todo = [self.question(c) for c in cases if c.question_id not in self._answers]
        if not todo:
            return
        for _ in range(2):
            self._turn(q for q in todo if isinstance(self._answers.get(q.question_id, []), list))
        matches: dict[str, Match] = {}
        for q in todo:
            answers = self._answers[q.question_id]
            if isinstance(answers, list):
                pair = (answers[0].text, answers[1].text)
                for match in make_matches(self.data, q, pair):
                    matches[f"{q.question_id}/{match.turn}"] = match
        self._matches.update(matches)
        items = canary_items(self.options.language, self.options.canary) if self._canary is None else []
        verdicts = judge_all(self.judge, {**matches, **canary_matches(items, self.data.prompts)}, self.options.judge)
        if self._canary is None:  # judged in the same call as the run's first matches, once per runner
            self._canary = canary_records(items, verdicts)
        self._verdicts.update(verdicts)

    def score(self, case: MtbenchCase) -> Scored:
        """The question's two output-table rows plus what aggregation needs; raises QuestionError if it cannot be
        scored."""
        self.prepare([case])
        answers = self._answers[case.question_id]
        if isinstance(answers, BackendError):
            raise QuestionError(f"no answer: {answers}")
        verdicts = [self._verdicts[f"{case.question_id}/{turn}"] for turn in (1, 2)]
        for verdict in verdicts:
            if isinstance(verdict, BackendError):
                raise QuestionError(f"the judge failed: {verdict}")
        question = self.question(case)
        answer_id = hashlib.sha256(
            "\x00".join([self.options.model_id, str(case.question_id), *(a.text for a in answers)]).encode()
        ).hexdigest()[:22]
        rows = []
        for turn, verdict in zip((1, 2), verdicts):
            assert isinstance(verdict, Verdict)
            match = self._matches[f"{case.question_id}/{turn}"]
            rows.append(
                dict(
                    zip(
                        OUTPUT_COLUMNS,
                        (
                            case.question_id,
                            question.category,
                            answer_id,
                            self.options.model_id,
                            question.turns[turn - 1],
                            answers[turn - 1].text,
                            [self.options.judge.model, match.prompt.name],
                            match.user_prompt(),
                            verdict.judgment,
                            verdict.score,
                            turn,
                            _made_at(verdict),
                        ),
                    )
                )
            )
            if self.options.thinking is not None:  # beside Neo's columns, never in the answer
                rows[-1]["reasoning"] = answers[turn - 1].reply.thinking
        return Scored(
            case.key,
            case.task,
            tuple(rows),
            {
                "question_id": case.question_id,
                "category": question.category,
                "judge_calls": sum(v.calls for v in verdicts if isinstance(v, Verdict)),
                "canary": self._canary or [],  # beside the rows: never in a Neo table
                **({"judge_check": dict(self.options.judge_check)} if self.options.judge_check else {}),
            },
            usage={
                "model": token_usage(a.reply for a in answers),
                "judge": token_usage(c for v in verdicts if isinstance(v, Verdict) for c in v.replies),
            },
            reasoning=thinking_usage(a.reply for a in answers) if self.options.thinking else None,
            cached=all(a.cached for a in answers) and not any(isinstance(v, Verdict) and v.made for v in verdicts),
        )


def _made_at(verdict: Verdict) -> float:
    """Neo's `tstamp`: when the judgment was made (stored with it, so a rerun or a replay gives the same value)."""
    last = verdict.replies[-1] if verdict.replies else None
    return float(last.extra.get("created", time.time())) if last is not None else time.time()

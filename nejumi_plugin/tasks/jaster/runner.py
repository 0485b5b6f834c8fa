"""Runs jaster cases: builds a dataset's requests at its first item, then scores each item from its completion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...backends.base import BackendError, Completion, GenerationRequest, Thinking
from ...engine import Engine
from ...family import CaseError, Scored
from ...usage import thinking_usage, token_usage
from .cases import JasterCase
from .data import DataError, JasterLayout, Sample
from .datasets import get_spec
from .metrics import char_f1, exact, set_f1
from .postprocess import clean_gold, clean_prediction
from .prompts import PromptTemplates, TemplateError, build_template, render

BLANK_LINE = "\n\n"


class SampleError(CaseError):
    """A sample could not be scored; the message says why."""


@dataclass(frozen=True)
class JasterOptions:
    """The config values that shape jaster prompts and requests."""

    run_name: str
    model_name: str
    templates: dict[str, PromptTemplates]
    add_special_tokens: bool = False
    stop_at_blank_line: bool = True
    max_tokens: int | None = None  # the answer's budget: `llm_jp_eval.api_max_tokens` (API models) or
    # `model.reasoning.answer_tokens` (a thinking model); None: the dataset's output_length
    thinking: Thinking | None = None  # a reasoning model: the prompt goes as a chat turn, thinking comes first


@dataclass
class JasterRunner:
    layout: JasterLayout
    engine: Engine
    options: JasterOptions
    _answers: dict[str, Completion | BackendError | SampleError] = field(default_factory=dict)
    _prompts: dict[str, str] = field(default_factory=dict)

    def sample(self, case: JasterCase) -> Sample:
        return self.layout.load(case.dataset, case.split).samples[case.index]

    def prompt(self, case: JasterCase) -> str:
        if case.key not in self._prompts:
            spec = get_spec(case.dataset)
            test_file = self.layout.load(case.dataset, "test")
            shots = self.layout.few_shots(case.dataset, case.setting.shots)
            custom = self.options.templates.get(spec.language, PromptTemplates())
            template = build_template(test_file.instruction, shots, spec.language, custom)
            where = f"{case.dataset} {case.split}[{case.index}]"
            self._prompts[case.key] = render(template, self.sample(case).input, where)
        return self._prompts[case.key]

    def request(self, case: JasterCase) -> GenerationRequest:
        length = self.options.max_tokens or self.layout.load(case.dataset, "test").output_length
        stop = (BLANK_LINE,) if self.options.stop_at_blank_line else ()
        thinking = self.options.thinking
        if thinking is None:  # Neo's raw prompt
            return GenerationRequest(self.prompt(case), length, stop, self.options.add_special_tokens)
        # a reasoning model: Neo's prompt as one chat turn (a local model renders it with its own chat template)
        return GenerationRequest("", length, stop, messages=(("user", self.prompt(case)),), thinking=thinking)

    def prepare(self, cases: Iterable[JasterCase]) -> None:
        """Answer every not-yet-answered case in one engine call (batched generation).

        A case whose prompt cannot be built (e.g. a missing train file for its few-shots) fails alone."""
        todo: dict[str, GenerationRequest] = {}
        for case in cases:
            if case.key in self._answers:
                continue
            try:
                todo[case.key] = self.request(case)
            except (DataError, TemplateError) as err:
                self._answers[case.key] = SampleError(str(err))
        if todo:
            self._answers.update(self.engine.answer(todo, "jaster answers"))

    def score(self, case: JasterCase) -> Scored:
        """The case's output-table row and what aggregation needs; raises SampleError if it cannot be scored."""
        if case.key not in self._answers:
            self.prepare([case])
        answer = self._answers[case.key]
        if isinstance(answer, Exception):
            raise SampleError(str(answer))
        sample = self.sample(case)
        pred = clean_prediction(answer.text, get_spec(case.dataset).cleaning)
        true = clean_gold(sample.output)
        row = {  # Neo's output-table columns, in order (docs/scoring-jaster.md#tables)
            "run_name": self.options.run_name,
            "model_name": self.options.model_name,
            "target_dataset": case.dataset,
            "num_few_shots": case.setting.shots,
            "data_type": case.split,
            "id": case.index,
            "input": sample.input,
            "pred": pred,
            "true": true,
            "prompt": self.prompt(case),
            "exact": exact(pred, true),
            "char_f1": char_f1(pred, true),
            "set_f1": set_f1(pred, true),
            "latency": answer.latency_s,
        }
        if self.options.thinking is not None:  # beside Neo's columns, never in pred
            row["reasoning"] = answer.thinking
        return Scored(
            case.key,
            case.setting.task,
            (row,),
            {"metrics": list(self.layout.load(case.dataset, "test").metrics)},
            usage={"model": token_usage([answer])},
            cached=answer.cached,
            reasoning=thinking_usage([answer]) if self.options.thinking is not None else None,
        )

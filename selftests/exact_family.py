"""A benchmark family written outside the package, as a team would write its own: exact-match questions, two tasks
of three samples each, one leaderboard column per task. It is the example of docs/extending.md, and the seam's
test (`test_family.py`) runs it through items, stores, resume, tables, the row, intervals, the report, compare and
blending without a line of `nejumi_plugin` knowing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nejumi_plugin.backends.base import Completion, GenerationRequest
from nejumi_plugin.family import (
    Built,
    CaseError,
    FamilyBase,
    RunContext,
    Sample,
    Scored,
    Task,
    leaderboard_table,
    table,
)
from nejumi_plugin.usage import token_usage

QUESTIONS = {
    "capitals": [("Japan", "Tokyo"), ("France", "Paris"), ("Kenya", "Nairobi")],
    "sums": [("2+2", "4"), ("3+5", "8"), ("7+6", "13")],
}
COLUMNS = ["model_name", "id", "question", "answer", "prediction", "exact_match"]


def task(name: str) -> Task:
    return Task(
        "exact",
        f"exact_{name}",
        f"exact_{name}",
        (f"exact_leaderboard_{name}", f"exact_output_{name}"),
        f"exact_{name}",
        title=f"exact {name}",
        headline=("exact_match",),
    )


@dataclass(frozen=True)
class ExactCase:
    task: str
    index: int
    question: str
    answer: str

    @property
    def key(self) -> str:
        return f"{self.task}/{self.index}"

    @property
    def id(self) -> str:
        return f"{self.task}-{self.index}"

    @property
    def keyword(self) -> str:
        return self.task

    def prompt(self) -> str:
        return f"Question: {self.question}\nAnswer:"


@dataclass
class ExactRunner:
    ctx: RunContext
    answers: dict[str, Any] = field(default_factory=dict)

    def prepare(self, cases: Sequence[ExactCase]) -> None:
        todo = {c.key: GenerationRequest(c.prompt(), 16, ("\n",)) for c in cases if c.key not in self.answers}
        self.answers.update(self.ctx.engine("model").answer(todo))

    def score(self, case: ExactCase) -> Scored:
        answer = self.answers.get(case.key)
        if not isinstance(answer, Completion):
            raise CaseError(f"no answer ({answer})")
        prediction = answer.text.strip()
        row = dict(
            zip(
                COLUMNS,
                (
                    self.ctx.cfg.model_name,
                    case.id,
                    case.question,
                    case.answer,
                    prediction,
                    int(prediction == case.answer),
                ),
            )
        )
        return Scored(case.key, case.task, (row,), usage={"model": token_usage([answer])}, cached=answer.cached)


class ExactFamily(FamilyBase):
    name = "exact"
    title = "exact match"
    resampling = "questions"

    def tasks(self, cfg: Any) -> list[Task]:
        return self.known()

    def known(self) -> list[Task]:
        return [task(name) for name in QUESTIONS]

    def cases(self, names: Sequence[str], ctx: RunContext) -> list[Any]:
        return [ExactCase(f"exact_{n}", i, q, a) for n in names for i, (q, a) in enumerate(QUESTIONS[n])]

    def runner(self, ctx: RunContext) -> ExactRunner:
        return ExactRunner(ctx)

    def build(self, task: Task, scored: Sequence[Scored], cfg: Any) -> Built:
        rows = [row for record in sorted(scored, key=lambda r: r.key) for row in record.rows]
        block = {"exact_match": sum(r["exact_match"] for r in rows) / len(rows)}
        tables = {
            task.tables[0]: leaderboard_table(cfg.model_name, block),
            task.tables[1]: table(COLUMNS, ([r[c] for c in COLUMNS] for r in rows)),
        }
        return Built(task, tables, block, complete=len(rows) == len(QUESTIONS[task.name.removeprefix("exact_")]))

    def samples(self, task: Task, tables: Mapping[str, Mapping[str, Any]]) -> list[Sample]:
        output = tables.get(task.tables[1], {"columns": [], "data": []})
        rows = [dict(zip(output["columns"], data)) for data in output["data"]]
        return [
            Sample(
                task.name,
                r["id"],
                r["id"],
                "exact_match",
                float(r["exact_match"]),
                not r["exact_match"],
                r["prediction"],
                r["answer"],
                r,
            )
            for r in rows
        ]

    def block_of(self, task: Task, samples: Sequence[Sample]) -> dict[str, float]:
        return {"exact_match": sum(s.value or 0.0 for s in samples) / len(samples)}

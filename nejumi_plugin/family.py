"""Benchmark families: the seam the core iterates over.

jaster and MT-Bench are two families; a team's own is a third. The core — the plugin, the session, the report,
blending, intervals, compare, the report page and the terminal summary — knows only the `Family` Protocol below
and the families the `pytest_nejumi_families` hook returns, never a family by name. A family supplies its tasks, the
cases of a benchmark module (one pytest item each), a runner that turns a batch of cases into requests and scores each
case into a `Scored` record, the Neo tables and leaderboard block of a task, and a per-sample view of its tables
(`Sample`) for intervals, compare and the report. `FamilyBase` gives the parts a small family need not write.
See docs/extending.md for a family in a few dozen lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from .backends.placement import Placement
    from .config import RunConfig
    from .engine import Engine
    from .reasoning import Decision

Table = dict[str, Any]  # {"columns": [...], "data": [[...], ...]}


@dataclass(frozen=True)
class Task:
    """One task of a family: how the results, the row, the tables and blending name it."""

    family: str
    name: str  # results and meta: `jaster_ja_0shot`, `mtbench_ja`
    label: str  # the row's column suffix: `<column>_<label>` (`jaster_ja_0shot`, `MTbench_ja`)
    tables: tuple[str, ...]  # its Neo tables, the leaderboard table first: what blending takes and logs again
    blend_name: str  # Neo's name for it in `--blend-from SOURCE@TASKS` and `old_runs` (`jaster_ja_0_shot`)
    radar: str | None = None  # its radar table, if it has one
    scale: float = 1.0  # a score's top (1 for accuracies, 10 for MT-Bench ratings)
    headline: tuple[str, ...] = ("AVG",)  # its block's columns shown first, in this order (the rest sorted)
    title: str = ""  # how people say it (`MT-Bench ja`); the name when empty
    switch: str = ""  # the config key that switches it on (`run_mt_bench_ja`), for messages
    units: str = "samples"  # what its bootstrap resamples, in words (MT-Bench: `questions`), for messages
    reference_label: str = "gold"  # what a Sample's `reference` is (MT-Bench: `question`), for messages

    @property
    def shown(self) -> str:
        return self.title or self.name

    @property
    def leaderboard(self) -> str:
        return self.tables[0]

    def column(self, name: str) -> str:
        """A leaderboard column of this task in the run's row."""
        return f"{name}_{self.label}"


class Case(Protocol):
    """What one pytest item evaluates."""

    @property
    def key(self) -> str: ...  # unique within a run: the results store's key

    @property
    def id(self) -> str: ...  # the readable part of the pytest node id

    @property
    def task(self) -> str: ...

    @property
    def keyword(self) -> str: ...  # an extra `-k` keyword (a dataset, a category)


@dataclass(frozen=True)
class Broken:
    """Stands in for one name of a benchmark whose cases could not even be planned (unreadable data); its item
    fails, and its tasks stay incomplete until the name is planned cleanly again."""

    family: str
    name: str  # the benchmark's name it stands for (a dataset, a language)
    message: str
    tasks: tuple[str, ...]  # the tasks this makes incomplete (a jaster dataset belongs to every shot setting)
    label: str = ""  # the item's id without `-data-error` (default: the name)

    @property
    def id(self) -> str:
        return f"{self.label or self.name}-data-error"

    @property
    def marker(self) -> str:
        return f"{self.family}:{self.name}"


@dataclass(frozen=True)
class Scored:
    """A scored case: its rows of its task's output table (Neo's columns), what its family's aggregation needs beyond
    them, the calls behind it, and whether every one was served from the store. Kept in `results.sqlite`."""

    key: str
    task: str
    rows: tuple[dict[str, Any], ...]
    data: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> calls and tokens
    reasoning: dict[str, int] | None = None  # a thinking model: reasoning tokens, answers out of budget
    cached: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Scored:
        data = json.loads(text)
        return cls(**{**data, "rows": tuple(data["rows"])})


@dataclass(frozen=True)
class Sample:
    """One sample of a task as its tables hold it: what intervals resample, compare pairs and the report lists."""

    group: str  # resampled within: a dataset, a category
    unit: str  # what is resampled (jaster: a sample; MT-Bench: a question, both turns together); unique in the task
    key: str  # the sample within its unit's group (jaster: the sample id; MT-Bench: `q81 turn 2`)
    measure: str  # what `value` is: a metric (`exact_match`), `rating`, or `parsed value` (jsts' correlations)
    value: float | None  # its own number under `measure` (what compare compares; -1 an unreadable rating)
    wrong: bool  # below full marks (the report's filter)
    prediction: str
    reference: str  # the gold answer, or the question
    row: dict[str, Any] = field(default_factory=dict)  # its output-table row (what the report shows)
    facts: dict[str, Any] = field(default_factory=dict)  # what its family's rescoring needs (jaster: the metrics)


@dataclass
class Built:
    """What one task logs: its Neo tables, its block of the leaderboard row (columns without the task's label,
    `model_name` left out) and what the row's meta says of it."""

    task: Task
    tables: dict[str, Table]
    block: dict[str, Any]
    complete: bool = True
    meta: dict[str, Any] = field(default_factory=dict)  # `notes`: lines said beside the task's scores


class Runner(Protocol):
    """Turns a batch of a family's cases into requests (through the run's engines) and scores each case."""

    def prepare(self, cases: Sequence[Any]) -> None:
        """Answer every case of the batch (one engine call, or rounds of them)."""

    def score(self, case: Any) -> Scored:
        """The scored case; raises `CaseError` when it cannot be scored (the item fails, saying why)."""


class CaseError(Exception):
    """A case could not be scored (no answer, unreadable data); the message says why."""


class RunContext(Protocol):
    """What a family gets from the run: its config, the engines by role, and what `reasoning: auto` decided."""

    cfg: RunConfig

    @property
    def run_name(self) -> str: ...

    @property
    def run_dir(self) -> Path:
        """The run directory (its parent is the output directory, where `judge-check` writes too)."""

    def engine(self, role: str, dtype: str | None = None, placement: Placement | None = None) -> Engine:
        """`model` (the evaluated model; a local one loaded in `dtype` at `placement`, one copy where they agree)
        or `judge`."""

    def reasoning(self, role: str) -> Decision:
        """Whether the model (`model`) or the judge (`judge`) thinks in this run."""


@runtime_checkable
class Family(Protocol):
    """A benchmark family (see the module docstring)."""

    name: str  # its results' and tasks' family name
    title: str  # how people write it (`MT-Bench`)
    resampling: str  # what its intervals resample (said in the row's meta)

    def tasks(self, cfg: RunConfig) -> list[Task]:
        """Every task the config knows, switched on or not (blending may take one that is off)."""

    def enabled(self, cfg: RunConfig) -> list[Task]:
        """The tasks the config switches on."""

    def found(self, tables: Iterable[str]) -> list[Task]:
        """The tasks whose tables are among `tables` (a run directory read back, no config)."""

    def roles(self, cfg: RunConfig) -> set[str]:
        """The engines its switched-on tasks call (`model`, `judge`): their keys are checked before any item."""

    def check(self, cfg: RunConfig) -> None:
        """What can be checked of the config without the model, before any request: a `ConfigError` naming the key."""

    def warnings(self, cfg: RunConfig, workers: int) -> list[str]:
        """What start-up should say of the config (a key that cannot apply on this machine), before any item."""

    def cases(self, names: Sequence[str], ctx: RunContext) -> list[Any]:
        """The cases of one benchmark function, for the names it was declared with; a `Broken` for unreadable data."""

    def runner(self, ctx: RunContext) -> Runner: ...

    def build(self, task: Task, scored: Sequence[Scored], cfg: RunConfig) -> Built:
        """Neo's tables and the leaderboard block of one task from its scored cases."""

    def columns(self, task: Task, cfg: RunConfig) -> list[str]:
        """Every column (without the label) the task's leaderboard block can have: a `--fail-under` check."""

    def data_files(self, scored: Sequence[Scored], cfg: RunConfig) -> dict[str, Any]:
        """The digests of the data files behind these records (`provenance.file_digests`), for the row's meta."""

    def samples(self, task: Task, tables: Mapping[str, Mapping[str, Any]]) -> list[Sample]:
        """The task's samples as its tables hold them (blended tasks included)."""

    def replicates(self, task: Task, samples: Sequence[Sample], *, b: int, seed: int) -> dict[str, np.ndarray]:
        """Bootstrap replicates of every score of the task's block (column -> `b` values), computed as the
        leaderboard computes them. Each group's draws depend only on the group, its number of units and (b, seed)
        (`aggregate.intervals.resample_indices`), so two runs' shared samples are resampled alike (compare)."""

    def summary(self, built: Sequence[Built]) -> list[str]:
        """The family's lines of the terminal summary."""

    def counts(self, task: Task, samples: Sequence[Sample]) -> dict[str, str]:
        """How many samples each score of the block rests on, as the report's score table says it."""

    def report(self, tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
        """The family's section of `report.html` (HTML, every string from the run escaped)."""


class FamilyBase:
    """Defaults for the parts of `Family` that a small family need not write: `enabled` = every task, `found` by
    leaderboard table name, `roles` = the model, `columns` from nothing (any key passes), a plain terminal grid and
    sample table, and a stratified bootstrap that rescores each replicate with `block_of`."""

    name = "family"
    title = "family"
    resampling = "samples within each group"

    def tasks(self, cfg: RunConfig) -> list[Task]:
        raise NotImplementedError

    def enabled(self, cfg: RunConfig) -> list[Task]:
        return self.tasks(cfg)

    def found(self, tables: Iterable[str]) -> list[Task]:
        names = set(tables)
        return [task for task in self.known() if task.leaderboard in names]

    def known(self) -> list[Task]:
        """Tasks recognisable without a config (for `found`)."""
        return []

    def roles(self, cfg: RunConfig) -> set[str]:
        return {"model"}

    def check(self, cfg: RunConfig) -> None:
        return None

    def warnings(self, cfg: RunConfig, workers: int) -> list[str]:
        return []

    def columns(self, task: Task, cfg: RunConfig) -> list[str]:
        return []

    def data_files(self, scored: Sequence[Scored], cfg: RunConfig) -> dict[str, Any]:
        return {}

    def block_of(self, task: Task, samples: Sequence[Sample]) -> dict[str, float]:
        """The block's scores from samples (the bootstrap rescoring); default: the mean per-sample value as `score`."""
        values = [s.value for s in samples if s.value is not None]
        return {"score": sum(values) / len(values)} if values else {}

    def replicates(self, task: Task, samples: Sequence[Sample], *, b: int, seed: int) -> dict[str, np.ndarray]:
        from .aggregate.bootstrap import stratified_replicates

        return stratified_replicates(samples, lambda picked: self.block_of(task, picked), b=b, seed=seed)

    def summary(self, built: Sequence[Built]) -> list[str]:
        from .sinks.terminal import grid

        keys = sorted({k for one in built for k in one.block})
        rows = [[k, *(_number(one.block.get(k)) for one in built)] for k in keys]
        notes = [f"{one.task.name}: {note}" for one in built for note in one.meta.get("notes", ())]
        return [*grid(["score", *(one.task.name for one in built)], rows), *notes, ""] if rows else []

    def counts(self, task: Task, samples: Sequence[Sample]) -> dict[str, str]:
        return {}

    def report(self, tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
        from .sinks.html_report import sample_table

        return "".join(sample_table(task, samples) for task, samples in tasks)


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def renamed_block(task: Task, leaderboard: Table) -> dict[str, Any]:
    """The block a blended task adds to the row: every column suffixed, `model_name` included (as Neo does)."""
    return {task.column(column): value for column, value in zip(leaderboard["columns"], leaderboard["data"][0])}


def live_block(task: Task, block: Mapping[str, Any]) -> dict[str, Any]:
    """This run's block of a task in the row: its columns suffixed with the task's label."""
    return {task.column(column): value for column, value in block.items()}


def table(columns: Sequence[str], data: Iterable[Sequence[Any]]) -> Table:
    """A `{"columns", "data"}` table (what `tables/<name>.json` and W&B hold)."""
    return {"columns": list(columns), "data": [list(row) for row in data]}


def leaderboard_table(model_name: str, block: Mapping[str, Any]) -> Table:
    """A task's one-row leaderboard table: `model_name`, then its block."""
    return {"columns": ["model_name", *block], "data": [[model_name, *block.values()]]}


def all_tasks(families: Sequence[Family], cfg: RunConfig) -> list[Task]:
    return [task for family in families for task in family.tasks(cfg)]

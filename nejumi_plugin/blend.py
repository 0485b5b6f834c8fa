"""Blending: tasks this run does not evaluate, taken from earlier runs (spec/mtbench.md §6, Neo's blend_run).

A source is a local run directory (`outputs/<run>`), an offline W&B run directory, or a W&B run path
`entity/project/run_id` (its tables are the artifacts `run-<id>-<table>:latest`, as Neo reads them). Each task brings
Neo's tables (re-logged under the same names) and a leaderboard block renamed as Neo does: every column, including
`model_name`, suffixed `_jaster_<lang>_<N>shot` or `_MTbench_<lang>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .config import ConfigError, RunConfig

Table = dict[str, Any]
TASKS = ("jaster_ja_0_shot", "jaster_ja_4_shot", "jaster_en_0_shot", "jaster_en_4_shot", "mtbench_ja", "mtbench_en")
_RUN_PATH = re.compile(r"^[\w.\-]+/[\w.\-]+/[\w\-]+$")


class BlendError(ConfigError):
    """A blend that cannot be done as asked; the message names the sources and tasks involved."""


def task_tables(task: str) -> list[str]:
    """Neo's tables of a blend task, the leaderboard table first (blend_run.py L57-72)."""
    if task.startswith("mtbench_"):
        lang = task.removeprefix("mtbench_")
        return [f"mtbench_{kind}_table_{lang}" for kind in ("leaderboard", "output", "radar")]
    _, lang, shots, _ = task.split("_")
    suffix = f"{lang}_{shots}shot"
    names = [f"jaster_leaderboard_table_{suffix}", f"jaster_output_table_dev_{suffix}", f"jaster_output_table_{suffix}"]
    return names + ([f"jaster_radar_table_{suffix}"] if lang == "ja" else [])


def renamed_block(task: str, leaderboard: Table) -> dict[str, Any]:
    """The block a blended task adds to the row: every column suffixed, `model_name` included (as in Neo)."""
    if task.startswith("mtbench_"):
        suffix = f"MTbench_{task.removeprefix('mtbench_')}"
    else:
        _, lang, shots, _ = task.split("_")
        suffix = f"jaster_{lang}_{shots}shot"
    return {f"{column}_{suffix}": value for column, value in zip(leaderboard["columns"], leaderboard["data"][0])}


def run_task(task: str) -> str:
    """The harness task a blend task stands for (`jaster_ja_4_shot` -> `jaster_ja_4shot`, `mtbench_ja` as is)."""
    return task.replace("_shot", "shot")


class Source(Protocol):
    name: str  # what the user wrote

    def has(self, table: str) -> bool: ...

    def table(self, table: str) -> Table: ...


@dataclass
class LocalRun:
    """A run directory written by this harness: `tables/<name>.json`."""

    name: str
    path: Path

    def has(self, table: str) -> bool:
        return (self.path / "tables" / f"{table}.json").is_file()

    def table(self, table: str) -> Table:
        path = self.path / "tables" / f"{table}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {"columns": data["columns"], "data": data["data"]}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise BlendError(f"--blend-from {self.name}: {path} is not a readable table ({err})") from None


@dataclass
class OfflineWandbRun:
    """An offline W&B run directory (read with the project's own reader, no network)."""

    name: str
    path: Path
    _run: Any = None

    def _read(self) -> Any:
        if self._run is None:
            from .wandb_offline import read_offline_run

            self._run = read_offline_run(self.path)
        return self._run

    def has(self, table: str) -> bool:
        return table in self._read().table_keys()

    def table(self, table: str) -> Table:
        data = self._read().table(table)
        return {"columns": data["columns"], "data": data["data"]}


@dataclass
class WandbApiRun:
    """A run in W&B: `run-<id>-<table>:latest` artifacts holding `<table>.table.json` (needs W&B online)."""

    name: str  # entity/project/run_id
    _cache: dict[str, Table | None] = field(default_factory=dict)

    def _fetch(self, table: str) -> Table | None:
        if table not in self._cache:
            import wandb

            entity, project, run_id = self.name.split("/")
            try:
                artifact = wandb.Api().artifact(f"{entity}/{project}/run-{run_id}-{table}:latest")
            except Exception as err:  # wandb raises CommError / ValueError for a missing artifact
                if "not found" in str(err).lower() or "does not exist" in str(err).lower():
                    self._cache[table] = None
                    return None
                raise BlendError(f"--blend-from {self.name}: could not read {table}: {err}") from None
            folder = Path(artifact.download())
            data = json.loads((folder / f"{table}.table.json").read_text(encoding="utf-8"))
            self._cache[table] = {"columns": data["columns"], "data": data["data"]}
        return self._cache[table]

    def has(self, table: str) -> bool:
        return self._fetch(table) is not None

    def table(self, table: str) -> Table:
        found = self._fetch(table)
        if found is None:
            raise BlendError(f"--blend-from {self.name}: the run has no table {table}")
        return found


def open_source(spec: str, cfg: RunConfig) -> Source:
    """A local run directory, an offline W&B run (or its `wandb/` folder), else a W&B run path."""
    path = Path(spec).expanduser()
    if path.exists():
        if (path / "tables").is_dir():
            return LocalRun(spec, path)
        return OfflineWandbRun(spec, path)
    if _RUN_PATH.match(spec):
        from .data_source import wandb_mode

        if wandb_mode(cfg) != "online":
            raise BlendError(f"--blend-from {spec}: a W&B run cannot be read while W&B is {wandb_mode(cfg)}; "
                             "give its local run directory (outputs/<run>) or offline W&B run directory instead")
        return WandbApiRun(spec)
    raise BlendError(f"--blend-from {spec}: neither a run directory ({path} does not exist) nor a W&B run path "
                     "(entity/project/run_id)")  # fmt: skip


def check_sources(requests: Sequence["BlendRequest"], cfg: RunConfig) -> None:
    """Before any request: every local source exists and holds a finished run (and, where tasks are named, their
    tables); a W&B run path is well formed and W&B is online (whether the run exists is asked only at the end)."""
    for request in requests:
        source = open_source(request.source, cfg)
        if isinstance(source, LocalRun) and not (source.path / "leaderboard.json").is_file():
            raise BlendError(f"--blend-from {request.source}: {source.path} holds no leaderboard.json; is it a "
                             "finished nejumi run directory?")  # fmt: skip
        if isinstance(source, OfflineWandbRun):
            from .wandb_offline import OfflineRunError, find_run_dir

            try:
                find_run_dir(source.path)
            except OfflineRunError as err:
                raise BlendError(f"--blend-from {request.source}: neither a nejumi run directory (no tables/) nor "
                                 f"an offline W&B run ({err})") from None  # fmt: skip
        if isinstance(source, WandbApiRun):
            continue
        for task in request.tasks or ():
            if not source.has(task_tables(task)[0]):
                raise BlendError(f"--blend-from {request.source}: it has no {task_tables(task)[0]} (task {task})")


def check_plan(requests: Sequence["BlendRequest"], cfg: RunConfig, evaluated: set[str]) -> None:
    """Before any request, once the selected items are known: a task offered twice, or asked of a source while this
    run evaluates it (BlendError). Left to the end when a source is a W&B run (reading it needs the network)."""
    sources = {r.source: open_source(r.source, cfg) for r in requests}
    if not any(isinstance(source, WandbApiRun) for source in sources.values()):
        plan(requests, sources, evaluated)


@dataclass(frozen=True)
class BlendRequest:
    """One source and the tasks asked of it (None: every task it has that this run does not evaluate)."""

    source: str
    tasks: tuple[str, ...] | None = None


def parse_option(value: str) -> BlendRequest:
    """`--blend-from SRC` or `--blend-from SRC@task1,task2`."""
    source, _, tasks = value.partition("@")
    if not tasks:
        return BlendRequest(source)
    names = tuple(t.strip() for t in tasks.split(",") if t.strip())
    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise BlendError(f"--blend-from {value}: unknown task {', '.join(unknown)}; tasks are {', '.join(TASKS)}")
    return BlendRequest(source, names)


def blend_requests(cfg: RunConfig, options: Sequence[str], cwd: Path) -> list[BlendRequest]:
    """`--blend-from` options (paths relative to where pytest runs), then Neo's `old_runs` when `run_chain` is on or
    the run is blend-only (`new_run`; paths relative to the config file)."""
    requests = []
    for value in options:
        request = parse_option(value)
        local = cwd / Path(request.source).expanduser()
        requests.append(BlendRequest(str(local), request.tasks) if local.exists() else request)
    if cfg.run_chain or cfg.new_run is not None:
        for old in cfg.old_runs:
            local = cfg.base_dir / Path(old.run_path).expanduser()
            requests.append(BlendRequest(str(local) if local.exists() else old.run_path, tuple(old.tasks)))
    return requests


@dataclass
class Blended:
    """What blending adds to a run: the row's blocks, the re-logged tables and where each came from."""

    blocks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (task, renamed block)
    tables: dict[str, Table] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # task -> source
    skipped: dict[str, str] = field(default_factory=dict)  # task -> why not taken


def plan(requests: Sequence[BlendRequest], sources: Mapping[str, Source], evaluated: set[str]) -> dict[str, str]:
    """task -> source name. A task offered by two sources, or asked of a source while this run evaluates it, is an
    error naming both."""
    chosen: dict[str, str] = {}
    for request in requests:
        source = sources[request.source]
        asked = request.tasks or TASKS
        for task in asked:
            if not source.has(task_tables(task)[0]):
                if request.tasks:
                    raise BlendError(f"--blend-from {request.source}: it has no {task_tables(task)[0]} (task {task})")
                continue
            if run_task(task) in evaluated:
                if request.tasks:
                    raise BlendError(f"task {task} is evaluated in this run and also asked of {request.source}; "
                                     "switch it off (run_*), deselect it (-k) or drop it from the blend")  # fmt: skip
                continue
            if task in chosen:
                raise BlendError(f"task {task} is in both {chosen[task]} and {request.source}; name the tasks to take "
                                 "from each (--blend-from SOURCE@task1,task2)")  # fmt: skip
            chosen[task] = request.source
    return chosen


def blend(requests: Sequence[BlendRequest], cfg: RunConfig, evaluated: set[str]) -> Blended:
    """Pull every planned task's tables; blocks come in request order, then Neo's task order."""
    sources = {r.source: open_source(r.source, cfg) for r in requests}
    chosen = plan(requests, sources, evaluated)
    out = Blended()
    for request in requests:
        for task in TASKS:
            if chosen.get(task) != request.source:
                continue
            source = sources[request.source]
            names = [name for name in task_tables(task) if source.has(name)]
            for name in names:
                out.tables[name] = source.table(name)
            out.blocks.append((task, renamed_block(task, out.tables[names[0]])))
            out.provenance[task] = request.source
    return out

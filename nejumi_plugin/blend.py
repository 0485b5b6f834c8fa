"""Blending: tasks this run does not evaluate, taken from earlier runs, as Neo's blend_run does
(docs/scoring-mtbench.md, "Blending").

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
from .family import Family, Table, Task, renamed_block

BlendTasks = Mapping[str, Task]  # Neo's blend task name -> the task
_RUN_PATH = re.compile(r"^[\w.\-]+/[\w.\-]+/[\w\-]+$")


class BlendError(ConfigError):
    """A blend that cannot be done as asked; the message names the sources and tasks involved."""


def blend_tasks(families: Sequence[Family], cfg: RunConfig) -> dict[str, Task]:
    """Every task the families know under this config, by its blend name (`jaster_ja_4_shot`, `mtbench_ja`), in the
    families' order (Neo's task order)."""
    return {task.blend_name: task for family in families for task in family.tasks(cfg)}


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
            raise BlendError(
                f"--blend-from {spec}: a W&B run cannot be read while W&B is {wandb_mode(cfg)}; "
                "give its local run directory (outputs/<run>) or offline W&B run directory instead"
            )
        return WandbApiRun(spec)
    raise BlendError(
        f"--blend-from {spec}: neither a run directory ({path} does not exist) nor a W&B run path "
        "(entity/project/run_id)"
    )


@dataclass(frozen=True)
class BlendRequest:
    """One source and the tasks asked of it (None: every task it has that this run does not evaluate)."""

    source: str
    tasks: tuple[str, ...] | None = None


def check_sources(requests: Sequence[BlendRequest], cfg: RunConfig, tasks: BlendTasks) -> None:
    """Before any request: every local source exists and holds a finished run (and, where tasks are named, their
    tables); a W&B run path is well formed and W&B is online (whether the run exists is asked only at the end)."""
    for request in requests:
        source = open_source(request.source, cfg)
        if isinstance(source, LocalRun) and not (source.path / "leaderboard.json").is_file():
            raise BlendError(
                f"--blend-from {request.source}: {source.path} holds no leaderboard.json; is it a "
                "finished nejumi run directory?"
            )
        if isinstance(source, OfflineWandbRun):
            from .wandb_offline import OfflineRunError, find_run_dir

            try:
                find_run_dir(source.path)
            except OfflineRunError as err:
                raise BlendError(
                    f"--blend-from {request.source}: neither a nejumi run directory (no tables/) nor "
                    f"an offline W&B run ({err})"
                ) from None
        if isinstance(source, WandbApiRun):
            continue
        for name in request.tasks or ():
            if not source.has(tasks[name].leaderboard):
                raise BlendError(f"--blend-from {request.source}: it has no {tasks[name].leaderboard} (task {name})")


def check_plan(requests: Sequence[BlendRequest], cfg: RunConfig, evaluated: set[str], tasks: BlendTasks) -> None:
    """Before any request, once the selected items are known: a task offered twice, or asked of a source while this
    run evaluates it (BlendError). Left to the end when a source is a W&B run (reading it needs the network)."""
    sources = {r.source: open_source(r.source, cfg) for r in requests}
    if not any(isinstance(source, WandbApiRun) for source in sources.values()):
        plan(requests, sources, evaluated, tasks)


def parse_option(value: str, tasks: BlendTasks) -> BlendRequest:
    """`--blend-from SRC` or `--blend-from SRC@task1,task2`."""
    source, _, asked = value.partition("@")
    if not asked:
        return BlendRequest(source)
    names = tuple(t.strip() for t in asked.split(",") if t.strip())
    unknown = [t for t in names if t not in tasks]
    if unknown:
        raise BlendError(f"--blend-from {value}: unknown task {', '.join(unknown)}; tasks are {', '.join(tasks)}")
    return BlendRequest(source, names)


def blend_requests(cfg: RunConfig, options: Sequence[str], cwd: Path, tasks: BlendTasks) -> list[BlendRequest]:
    """`--blend-from` options (paths relative to where pytest runs), then Neo's `old_runs` when `run_chain` is on or
    the run is blend-only (`new_run`; paths relative to the config file)."""
    requests = []
    for value in options:
        request = parse_option(value, tasks)
        local = cwd / Path(request.source).expanduser()
        requests.append(BlendRequest(str(local), request.tasks) if local.exists() else request)
    if cfg.run_chain or cfg.new_run is not None:
        _check_old_runs(cfg, tasks)
        for old in cfg.old_runs:
            local = cfg.base_dir / Path(old.run_path).expanduser()
            requests.append(BlendRequest(str(local) if local.exists() else old.run_path, tuple(old.tasks)))
    return requests


def _check_old_runs(cfg: RunConfig, tasks: BlendTasks) -> None:
    """Neo's checks of `old_runs` (blend_run.py): each task is one of this config's, inherited once, and (with
    `run_chain: true`) switched off here."""
    seen: set[str] = set()
    for old in cfg.old_runs:
        for name in old.tasks:
            where = f"{cfg.source_path}: old_runs: {old.run_path}: task {name}"
            if name not in tasks:
                raise BlendError(f"{where} is not one of this config's tasks ({', '.join(tasks)})")
            if name in seen:
                raise BlendError(f"{where} is inherited twice; take each task from one run")
            seen.add(name)
            switch = tasks[name].switch
            if cfg.run_chain and switch and getattr(cfg, switch, False):
                raise BlendError(f"{where}: expected {switch}: false when it is inherited with run_chain: true")


@dataclass
class Blended:
    """What blending adds to a run: the row's blocks, the re-logged tables and where each came from."""

    blocks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (task, renamed block)
    tables: dict[str, Table] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # task -> source
    skipped: dict[str, str] = field(default_factory=dict)  # task -> why not taken


def plan(
    requests: Sequence[BlendRequest], sources: Mapping[str, Source], evaluated: set[str], tasks: BlendTasks
) -> dict[str, str]:
    """blend task -> source name. A task offered by two sources, or asked of a source while this run evaluates it, is
    an error naming both."""
    chosen: dict[str, str] = {}
    for request in requests:
        source = sources[request.source]
        for name in request.tasks or tuple(tasks):
            task = tasks[name]
            if not source.has(task.leaderboard):
                if request.tasks:
                    raise BlendError(f"--blend-from {request.source}: it has no {task.leaderboard} (task {name})")
                continue
            if task.name in evaluated:
                if request.tasks:
                    raise BlendError(
                        f"task {name} is evaluated in this run and also asked of {request.source}; "
                        "switch it off (run_*), deselect it (-k) or drop it from the blend"
                    )
                continue
            if name in chosen:
                raise BlendError(
                    f"task {name} is in both {chosen[name]} and {request.source}; name the tasks to take "
                    "from each (--blend-from SOURCE@task1,task2)"
                )
            chosen[name] = request.source
    return chosen


def blend(requests: Sequence[BlendRequest], cfg: RunConfig, evaluated: set[str], families: Sequence[Family]) -> Blended:
    """Pull every planned task's tables; blocks come in request order, then the families' task order."""
    tasks = blend_tasks(families, cfg)
    sources = {r.source: open_source(r.source, cfg) for r in requests}
    chosen = plan(requests, sources, evaluated, tasks)
    out = Blended()
    for request in requests:
        for name, task in tasks.items():
            if chosen.get(name) != request.source:
                continue
            source = sources[request.source]
            for table_name in (t for t in task.tables if source.has(t)):
                out.tables[table_name] = source.table(table_name)
            out.blocks.append((name, renamed_block(task, out.tables[task.leaderboard])))
            out.provenance[name] = request.source
    return out

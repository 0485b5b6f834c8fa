"""One evaluation run inside one pytest process: config, run directory, stores, engines and the families' runners.

The session is the `RunContext` the families get: the engines by role (the evaluated model in the dtype and place a
family asks for, the judge), what `reasoning: auto` decided, the run's name. It knows no family by name: cases,
runners and records come from the families the `pytest_nejumi_families` hook returned.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from .backends.base import Backend, BackendError
from .backends.factory import judge_backend, model_backend
from .backends.hf import chat_template_of
from .backends.placement import Placement
from .backends.registry import LOCAL_JUDGE, providers
from .blend import BlendRequest
from .config import ConfigError, RunConfig
from .data_source import resolve_local_model, resolve_model_path
from .engine import Engine
from .family import Broken, Case, CaseError, Family, Runner, Scored, Task
from .invocation import ProcessStats, call_counts, phase_seconds, throughput
from .items import Benchmark
from .reasoning import Decision, decide
from .run_dir import RunDirLock, earlier_answers_gone, hold
from .sinks.wandb_sink import WandbTarget
from .store import CallStore, ResultStore, StoreError

CASE_ERRORS = (CaseError, BackendError, ConfigError, StoreError)
ROLES = ("model", "judge")


def safe_run_name(name: str) -> str:
    """A folder name from `wandb.run_name` (Neo's placeholder "your/WANDB/run_name" -> "your_WANDB_run_name")."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return cleaned or "run"


@dataclass
class NejumiSession:
    """Shared by every item of a process; the xdist controller uses only the config and the run directory."""

    cfg: RunConfig
    output_dir: Path
    families: Sequence[Family] = ()
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    started_clock: float = field(default_factory=time.monotonic)
    items_s: float = 0.0  # wall time inside benchmark items (generation, judging and scoring)
    resolve_s: float = 0.0  # finding the models (a download, the embedded model's conversion): part of `load`
    batch_per_module: bool = False  # xdist workers batch per module (modules are their unit of work)
    progress: Callable[[str, int, int], None] | None = None  # (phase, done, total): the live display
    switched_off_items: int = 0  # benchmark functions with no case (a task switched off), deselected at collection
    selected: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))  # batch -> its cases
    blends: list[BlendRequest] = field(default_factory=list)  # earlier runs to take tasks from
    replay: bool = False  # answer only from stored calls (`--replay`)
    call_cache: Path | None = None  # a CallStore shared between runs (`--call-cache`)
    bounds: dict[str, float] = field(default_factory=dict)  # the regression gate (`--fail-under`, report.fail_under)
    warnings: list[str] = field(default_factory=list)  # said at the start and in the summary
    clean: set[str] = field(default_factory=set)  # `<family>:<name>` of benchmarks planned without a data error
    broken: list[Broken] = field(default_factory=list)  # the selected items standing for unreadable data
    lock: RunDirLock | None = None  # the hold on the run directory (the controller's, or the only process's)
    _engines: dict[tuple[Any, ...], Engine] = field(default_factory=dict)
    _runners: dict[str, Runner] = field(default_factory=dict)  # family -> its runner
    _prepared: set[tuple[str, str]] = field(default_factory=set)  # (batch, family) whose generation was asked

    # -- names and places --------------------------------------------------------------------------------------
    def batch_key(self, module: str) -> str:
        """Which items are generated together: the whole session's, or (under xdist) the module's."""
        return module if self.batch_per_module else "session"

    @property
    def blend_only(self) -> bool:
        """Neo's blend-only mode (`new_run` set, `run_chain` off): nothing is evaluated, old runs make the row."""
        return self.cfg.new_run is not None and not self.cfg.run_chain

    @property
    def run_name(self) -> str:
        if self.blend_only and self.cfg.new_run is not None:
            return self.cfg.new_run.run_name
        return self.cfg.wandb.run_name or self.cfg.model_name

    @property
    def wandb_target(self) -> WandbTarget:
        """Where the run is logged: `wandb.*`, or `new_run` for a blend-only run."""
        where = self.cfg.new_run if self.blend_only and self.cfg.new_run is not None else self.cfg.wandb
        return WandbTarget(where.entity, where.project, self.run_name)

    @property
    def run_dir(self) -> Path:
        return self.output_dir / safe_run_name(self.run_name)

    # -- the families ------------------------------------------------------------------------------------------
    def family(self, name: str) -> Family:
        for family in self.families:
            if family.name == name:
                return family
        known = ", ".join(f.name for f in self.families)
        raise ConfigError(
            f"no benchmark family {name!r} is registered (known: {known}); a family is registered "
            "by a `pytest_nejumi_families` hook (see docs/extending.md)"
        )

    @cached_property
    def tasks(self) -> dict[str, tuple[Family, Task]]:
        """Every task the config knows, by name, with its family."""
        return {task.name: (family, task) for family in self.families for task in family.tasks(self.cfg)}

    def family_of(self, task: str) -> Family:
        if task not in self.tasks:
            raise ConfigError(f"task {task!r} belongs to no registered family")
        return self.tasks[task][0]

    # -- models and engines ------------------------------------------------------------------------------------
    @cached_property
    def model_path(self) -> str:
        """The evaluated model's folder (a W&B artifact downloaded, the embedded model converted: `load` time)."""
        return self._loading(resolve_model_path, self.cfg)

    @cached_property
    def judge_path(self) -> str:
        """The judge's model: a local folder for `api: hf` (like the evaluated model's), else the API's name."""
        judge = self.cfg.mtbench.judge
        return self._loading(resolve_local_model, self.cfg, judge.model) if judge.api == LOCAL_JUDGE else judge.model

    def _loading(self, resolve: Callable[..., str], *args: Any) -> str:
        started = time.perf_counter()
        try:
            return resolve(*args)
        finally:
            self.resolve_s += time.perf_counter() - started

    @cached_property
    def calls(self) -> CallStore:
        return CallStore(self.call_cache or self.run_dir / "calls.sqlite")

    @cached_property
    def results(self) -> ResultStore:
        return ResultStore(self.run_dir / "results.sqlite")

    def engine(self, role: str, dtype: str | None = None, placement: Placement | None = None) -> Engine:
        """The engine of `role`: the evaluated model (`model`, loaded in `dtype` at `placement` when it is local;
        one copy where dtype and place agree) or the `judge` (sharing a loaded local model where it is the same).
        Backends load their model at the first generation: a fully cached rerun never loads one."""
        if role not in ROLES:
            raise ConfigError(f"no engine role {role!r}; roles are {', '.join(ROLES)}")
        local = (role == "judge" and self.cfg.mtbench.judge.api == LOCAL_JUDGE) or (
            role == "model" and not self.cfg.model.api
        )
        key = (role, dtype, placement) if local else (role,)
        if key not in self._engines:
            loaded = tuple(e.backend for e in self._engines.values())
            if role == "judge":
                backend: Backend = judge_backend(self.cfg, self.judge_path, loaded)
            else:
                backend = model_backend(self.cfg, self.model_path, dtype=dtype, placement=placement, loaded=loaded)
            same = next((e for e in self._engines.values() if e.backend is backend), None)
            self._engines[key] = same or Engine(backend, self.calls, progress=self.progress, replay=self.replay)
        return self._engines[key]

    def reasoning(self, role: str) -> Decision:
        return self.model_reasoning if role == "model" else self.judge_reasoning

    @cached_property
    def model_reasoning(self) -> Decision:
        """Whether the evaluated model thinks in this run (`model.reasoning`; `auto` by name or chat template)."""
        m = self.cfg.model
        if m.api:
            return decide(m.reasoning, providers()[m.api].name, m.pretrained_model_name_or_path or "")
        template = chat_template_of(self.model_path) if m.reasoning.mode == "auto" else None
        return decide(m.reasoning, None, self.model_path, template)

    @cached_property
    def judge_reasoning(self) -> Decision:
        """Whether the MT-Bench judge thinks (`mtbench.judge.reasoning`)."""
        judge = self.cfg.mtbench.judge
        if judge.api == LOCAL_JUDGE:
            template = chat_template_of(self.judge_path) if judge.reasoning.mode == "auto" else None
            return decide(judge.reasoning, None, self.judge_path, template)
        provider = "azure" if judge.api == "openai" and self.cfg.mtbench.use_azure else judge.api
        return decide(judge.reasoning, provider, judge.model)

    # -- before any item -----------------------------------------------------------------------------------------
    def hold_run_dir(self) -> None:
        """Take the run directory for this run's life (one writer: RunDirError names the holder, or why it cannot be
        written), then open its existing stores once: one that is damaged or cannot be opened is reported before
        any item runs (StoreError); a finished run whose calls store is gone or empty is warned about."""
        self.lock = hold(self.run_dir)
        calls = self.call_cache or self.run_dir / "calls.sqlite"
        warning = earlier_answers_gone(self.run_dir, calls)
        if warning:
            self.warnings.append(warning)
        for kind, path in ((CallStore, calls), (ResultStore, self.run_dir / "results.sqlite")):
            if path.exists():
                kind(path).close()

    def key_problems(self, roles: set[str]) -> list[str]:
        """What is missing for the API calls of these roles (a key, an endpoint): said before any item runs."""
        backends = []  # throwaway objects: nothing is opened or loaded here
        if "model" in roles and self.cfg.model.api:
            backends.append(model_backend(self.cfg, self.model_path))
        if "judge" in roles and self.cfg.mtbench.judge.api != LOCAL_JUDGE:
            backends.append(judge_backend(self.cfg, self.cfg.mtbench.judge.model))
        checks = (getattr(backend, "missing_key", None) for backend in backends)
        return [problem for check in checks if check and (problem := check())]

    def roles(self, families: Sequence[Family] | None = None) -> set[str]:
        """The engines the switched-on tasks of `families` (default: all) call."""
        return {role for family in (self.families if families is None else families) for role in family.roles(self.cfg)}

    def plan(self, benchmark: Benchmark) -> list[Any]:
        """The cases of a benchmark function that the config selects (a `Broken` for unreadable data); the names
        planned without one are remembered (`clean`: an earlier data error of theirs is gone)."""
        cases = self.family(benchmark.family).cases(benchmark.names, self)
        broken = {c.name for c in cases if isinstance(c, Broken)}
        self.clean.update(f"{benchmark.family}:{name}" for name in benchmark.names if name not in broken)
        return cases

    # -- items -----------------------------------------------------------------------------------------------------
    def runner(self, family: Family) -> Runner:
        if family.name not in self._runners:
            self._runners[family.name] = family.runner(self)
        return self._runners[family.name]

    def run_case(self, case: Case, batch: str) -> Scored:
        """Score one item; the first item of a family in a batch (see `batch_key`) answers all of the batch's cases of
        that family. Raises CaseError (and the backend's, store's or config's errors) when it cannot be scored."""
        started = time.perf_counter()
        try:
            family = self.family_of(case.task)
            runner = self.runner(family)
            if (batch, family.name) not in self._prepared:
                self._prepared.add((batch, family.name))
                tasks = {t.name for t in family.tasks(self.cfg)}
                runner.prepare([c for c in self.selected.get(batch, []) if c.task in tasks])
            scored = runner.score(case)
        finally:
            self.items_s += time.perf_counter() - started
        self.results.put(scored, self.scoring_hash)
        return scored

    @cached_property
    def scoring_hash(self) -> str:
        """The key of this config's scores in `results.sqlite` (`RunConfig.scoring_hash`)."""
        return self.cfg.scoring_hash

    # -- what the row was measured with --------------------------------------------------------------------------
    def meta(self, **extra: Any) -> dict[str, Any]:
        """What the leaderboard row was measured with: only what the config and the stored calls determine, so that
        a replay writes the same bytes (this invocation's own facts go to `runs.jsonl`)."""
        from importlib.metadata import PackageNotFoundError, version

        versions: dict[str, str | None] = {}
        for pkg in ("nejumi", "torch", "transformers", "pytest"):
            try:
                versions[pkg] = version(pkg)
            except PackageNotFoundError:
                versions[pkg] = None
        return {
            "model_name": self.cfg.model_name,
            "model": self.cfg.model.pretrained_model_name_or_path,
            "run_name": self.run_name,
            "config_path": str(self.cfg.source_path),
            "config_hash": self.cfg.config_hash,
            "scoring_hash": self.scoring_hash,
            "testmode": self.cfg.testmode,
            "jaster_add_special_tokens": self.cfg.llm_jp_eval.add_special_tokens,
            "versions": versions,
            **extra,
        }

    def process_stats(self) -> ProcessStats:
        """This process's backend calls (made, served by the CallStore) per role, and where its time went."""
        engines = [(key[0], engine) for key, engine in self._engines.items()]
        return ProcessStats(call_counts(engines), phase_seconds(engines, self.items_s, self.resolve_s))

    def invocation(self, stats: ProcessStats, samples: int, **extra: Any) -> dict[str, Any]:
        """This invocation's line of `runs.jsonl` (see `invocation`)."""
        wall = time.monotonic() - self.started_clock
        return {
            "started_at": self.started_at,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "replay": self.replay,
            "call_cache": str(self.call_cache) if self.call_cache else None,
            "calls": stats.calls,
            "throughput": throughput(stats.calls, stats.phases_s, samples, wall),
            **extra,
        }

    def provenance(self, scored: Sequence[Scored]) -> dict[str, Any]:
        """Backends (identities only: nothing is loaded or called), the harness commit and, per family, the digests
        of the data files behind the records."""
        from .provenance import provenance

        by_family: dict[str, list[Scored]] = defaultdict(list)
        for record in scored:
            by_family[self.family_of(record.task).name].append(record)
        families = [family for family in self.families if family.name in by_family]  # in the families' order
        roles = self.roles(families)
        try:
            model = model_backend(self.cfg, self.model_path).identity() if "model" in roles else None
            judge = judge_backend(self.cfg, self.judge_path).identity() if "judge" in roles else None
            files = {f"{f.name}_files": f.data_files(by_family[f.name], self.cfg) for f in families}
        except (ConfigError, CaseError, OSError):
            return provenance(None, None, {})
        return provenance(model, judge, files)

    def close(self) -> None:
        for engine in {id(e): e for e in self._engines.values()}.values():
            engine.close()
        for name in ("calls", "results"):
            if name in self.__dict__:
                self.__dict__[name].close()
        if self.lock is not None:
            self.lock.release()


def record_of(data: dict[str, Any]) -> Scored:
    """A `Scored` sent as a plain dict (from an xdist worker's item report)."""
    return Scored(**{**data, "rows": tuple(data["rows"])})


def as_data(scored: Scored) -> dict[str, Any]:
    """A `Scored` as plain JSON-ready data (what an item report carries to the controller)."""
    return asdict(scored)


def counted_tasks(case: Any) -> tuple[str, ...]:
    """The tasks an item counts for: its case's task, or every task a `Broken` makes incomplete."""
    return case.tasks if isinstance(case, Broken) else (case.task,)

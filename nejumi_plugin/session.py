"""One evaluation run inside one pytest process: config, run directory, stores, engines, task runners."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from .backends.base import BackendError
from .blend import BlendRequest
from .backends.factory import MODEL_PROVIDERS, judge_backend, model_backend, mtbench_backend
from .backends.hf import chat_template_of
from .benchmark import DATA_ERROR_TASK, Benchmark, BrokenCase, Case, module_group
from .config import ConfigError, RunConfig
from .data_source import resolve_dataset_dir, resolve_local_model, resolve_model_path, resolve_mtbench_dirs
from .engine import Engine
from .invocation import ProcessStats, call_counts, phase_seconds, throughput
from .sinks.wandb_sink import WandbTarget
from .reasoning import Decision, decide
from .run_dir import RunDirLock, earlier_answers_gone, hold
from .store import CallStore, ResultStore, StoreError
from .tasks.jaster import cases as jaster_cases
from .tasks.jaster.cases import JasterCase
from .tasks.jaster.data import DataError, JasterLayout
from .tasks.jaster.prompts import PromptTemplates, TemplateError
from .tasks.jaster.runner import JasterOptions, JasterRunner, SampleError
from .tasks.mtbench import cases as mtbench_cases
from .tasks.mtbench.cases import MtbenchCase
from .tasks.mtbench.conversation import resolve_template
from .tasks.mtbench.data import MtbenchData, MtbenchDataError, load_mtbench
from .tasks.mtbench.judge import JudgeSettings
from .tasks.mtbench.rating import MAX_JUDGE_CALLS
from .tasks.mtbench.runner import MtbenchOptions, MtbenchRunner, QuestionError

CASE_ERRORS = (
    SampleError, QuestionError, BackendError, ConfigError, DataError, TemplateError, MtbenchDataError, StoreError,
)


def safe_run_name(name: str) -> str:
    """A folder name from `wandb.run_name` (Neo's placeholder "your/WANDB/run_name" -> "your_WANDB_run_name")."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return cleaned or "run"


@dataclass
class NejumiSession:
    """Shared by every item of a process; the xdist controller uses only the config and the run directory."""

    cfg: RunConfig
    output_dir: Path
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    started_clock: float = field(default_factory=time.monotonic)
    items_s: float = 0.0  # wall time inside benchmark items (generation, judging and scoring)
    resolve_s: float = 0.0  # finding the models (a download, the embedded model's conversion): part of `load`
    batch_per_module: bool = False  # xdist workers batch per module (modules are their unit of work)
    progress: Callable[[int, int], None] | None = None
    selected: dict[str, list[Case]] = field(default_factory=lambda: defaultdict(list))
    blends: list[BlendRequest] = field(default_factory=list)  # earlier runs to take tasks from
    replay: bool = False  # answer only from stored calls (`--replay`)
    call_cache: Path | None = None  # a CallStore shared between runs (`--call-cache`)
    bounds: dict[str, float] = field(default_factory=dict)  # the regression gate (`--fail-under`, report.fail_under)
    warnings: list[str] = field(default_factory=list)  # said at the start and in the summary
    lock: RunDirLock | None = None  # the hold on the run directory (the controller's, or the only process's)
    _mtbench: dict[str, MtbenchData] = field(default_factory=dict)
    _mtbench_runners: dict[str, MtbenchRunner] = field(default_factory=dict)
    _prepared: set[tuple[str, str]] = field(default_factory=set)  # (batch, kind) whose generation was asked

    def batch_key(self, item: pytest.Item) -> str:
        """Which items are generated together: the whole session's, or (under xdist) the module's."""
        return module_group(item) if self.batch_per_module else "session"

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

    @cached_property
    def layout(self) -> JasterLayout:
        return JasterLayout(resolve_dataset_dir(self.cfg))

    @cached_property
    def model_path(self) -> str:
        """The evaluated model's folder (a W&B artifact downloaded, the embedded model converted: `load` time)."""
        return self._loading(resolve_model_path, self.cfg)

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
    def engine(self) -> Engine:
        """The evaluated model (loaded at its first generation: a fully cached rerun never loads it)."""
        backend = model_backend(self.cfg, self.model_path)
        return Engine(backend, self.calls, progress=self.progress, replay=self.replay)

    @cached_property
    def mtbench_engine(self) -> Engine:
        """The evaluated model for MT-Bench answers, in `mtbench.dtype` as Neo loads it (the jaster engine when the
        dtypes agree)."""
        jaster = self.engine  # cheap: the model loads only at its first generation
        if self.cfg.model.api:
            return jaster
        backend = mtbench_backend(self.cfg, self.model_path, jaster.backend)
        if backend is jaster.backend:
            return jaster
        return Engine(backend, self.calls, progress=self.progress, replay=self.replay)

    @cached_property
    def judge_engine(self) -> Engine:
        """The MT-Bench judge; its calls go to the same CallStore."""
        loaded = tuple(self.__dict__[name].backend for name in ("mtbench_engine", "engine") if name in self.__dict__)
        backend = judge_backend(self.cfg, self.judge_path, loaded)
        return Engine(backend, self.calls, progress=self.progress, replay=self.replay)

    @cached_property
    def judge_path(self) -> str:
        """The judge's model: a local folder for `api: hf` (like the evaluated model's), else the API's name."""
        judge = self.cfg.mtbench.judge
        return self._loading(resolve_local_model, self.cfg, judge.model) if judge.api == "hf" else judge.model

    @cached_property
    def results(self) -> ResultStore:
        return ResultStore(self.run_dir / "results.sqlite")

    @cached_property
    def jaster(self) -> JasterRunner:
        ev = self.cfg.llm_jp_eval
        options = JasterOptions(
            run_name=self.run_name,
            model_name=self.cfg.model_name,
            templates={
                "ja": PromptTemplates(ev.ja.custom_prompt_template, ev.ja.custom_fewshots_template),
                "en": PromptTemplates(ev.en.custom_prompt_template, ev.en.custom_fewshots_template),
            },
            add_special_tokens=ev.add_special_tokens,
            stop_at_blank_line=ev.stop_at_blank_line,
            max_tokens=self.cfg.model.reasoning.answer_tokens if self.model_reasoning.on else (
                ev.api_max_tokens if self.cfg.model.api else None),
            thinking=self.model_reasoning.thinking,
        )  # fmt: skip
        return JasterRunner(self.layout, self.engine, options)

    @cached_property
    def model_reasoning(self) -> Decision:
        """Whether the evaluated model thinks in this run (`model.reasoning`; `auto` by name or chat template)."""
        m = self.cfg.model
        if m.api:
            return decide(m.reasoning, MODEL_PROVIDERS.get(m.api, str(m.api)), m.pretrained_model_name_or_path or "")
        template = chat_template_of(self.model_path) if m.reasoning.mode == "auto" else None
        return decide(m.reasoning, None, self.model_path, template)

    @cached_property
    def judge_reasoning(self) -> Decision:
        """Whether the MT-Bench judge thinks (`mtbench.judge.reasoning`)."""
        judge = self.cfg.mtbench.judge
        if judge.api == "hf":
            template = chat_template_of(self.judge_path) if judge.reasoning.mode == "auto" else None
            return decide(judge.reasoning, None, self.judge_path, template)
        provider = "azure" if judge.api == "openai" and self.cfg.mtbench.use_azure else judge.api
        return decide(judge.reasoning, provider, judge.model)

    def mtbench_data(self, language: str) -> MtbenchData:
        if language not in self._mtbench:
            folders, keys = resolve_mtbench_dirs(self.cfg, language)
            self._mtbench[language] = load_mtbench(
                language, folders["questions"], folders["references"], folders["judge_prompts"],
                self.cfg.mtbench.judge.model, keys,
            )
        return self._mtbench[language]

    @property
    def judge_settings(self) -> JudgeSettings:
        judge, thinking = self.cfg.mtbench.judge, self.judge_reasoning.thinking
        deterministic = judge.api == "hf" and judge.temperature < 1e-4  # a retry would repeat the same answer
        budget = (judge.reasoning.answer_tokens or judge.max_tokens) if thinking else judge.max_tokens
        return JudgeSettings(judge.model, judge.temperature, budget, 1 if deterministic else MAX_JUDGE_CALLS, thinking)

    def mtbench(self, language: str) -> MtbenchRunner:
        if language not in self._mtbench_runners:
            cfg, api = self.cfg, bool(self.cfg.model.api)
            name = (cfg.model.pretrained_model_name_or_path or cfg.model_name) if api else cfg.model_name
            model_id = cfg.mtbench.model_id or cfg.model_name.replace("/", "--")
            options = MtbenchOptions(
                language=language,
                model_id=model_id.replace("--", "/").split("_hash_")[0],
                template=resolve_template(cfg, language, name),
                api=api,
                api_temperature=cfg.mtbench.api_temperature,
                max_new_token=(cfg.model.reasoning.answer_tokens or cfg.mtbench.max_new_token)
                if self.model_reasoning.on else cfg.mtbench.max_new_token,
                judge=self.judge_settings,
                thinking=self.model_reasoning.thinking,
            )  # fmt: skip
            runner = MtbenchRunner(self.mtbench_data(language), self.mtbench_engine, self.judge_engine, options)
            self._mtbench_runners[language] = runner
        return self._mtbench_runners[language]

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

    def key_problems(self, jaster: bool, mtbench: bool) -> list[str]:
        """What is missing for the API calls these tasks will make (a key, an endpoint): said before any item runs."""
        backends = []  # throwaway objects: nothing is opened or loaded here
        if self.cfg.model.api and (jaster or mtbench):
            backends.append(model_backend(self.cfg, self.model_path))
        if mtbench and self.cfg.mtbench.judge.api != "hf":
            backends.append(judge_backend(self.cfg, self.cfg.mtbench.judge.model))
        checks = (getattr(backend, "missing_key", None) for backend in backends)
        return [problem for check in checks if check and (problem := check())]

    def plan(self, benchmark: Benchmark) -> list[Case | BrokenCase]:
        """The cases of a benchmark function that the config selects; unreadable data gives one BrokenCase."""
        cases: list[Case | BrokenCase] = []
        for name in benchmark.names:
            try:
                if benchmark.kind == "jaster":
                    cases += jaster_cases.plan_cases((name,), self.cfg, self.layout)
                elif name in mtbench_cases.enabled_languages(self.cfg):
                    cases += mtbench_cases.plan_cases(name, self.cfg, self.mtbench_data(name))
            except (DataError, MtbenchDataError, ConfigError, ValueError) as err:
                task = f"mtbench_{name}" if benchmark.kind == "mtbench" else DATA_ERROR_TASK
                cases.append(BrokenCase(name if benchmark.kind == "jaster" else task, str(err), task))
        return cases

    def run_case(self, case: Case, item: pytest.Item) -> None:
        """Score one item; the first item of a batch (see `batch_key`) generates for all of the batch's items."""
        item.user_properties.append(("nejumi_task", case.task))
        started = time.perf_counter()
        try:
            if isinstance(case, JasterCase):
                runner = self.jaster
                self._prepare_batch(item, "jaster", lambda batch: runner.prepare(
                    c for c in batch if isinstance(c, JasterCase)))  # fmt: skip
                record = runner.score(case)
            else:
                mt = self.mtbench(case.language)
                self._prepare_batch(item, case.task, lambda batch: mt.prepare(
                    c for c in batch if isinstance(c, MtbenchCase) and c.language == case.language))  # fmt: skip
                record = mt.score(case)
        except CASE_ERRORS as err:
            failure = f"{case.key}: {err}"
        else:
            failure = None
        finally:
            self.items_s += time.perf_counter() - started
        if failure is not None:  # outside the except block: the report shows the message, not a traceback chain
            pytest.fail(failure, pytrace=False)
        self.results.put(case.key, case.task, record)
        item.user_properties.append(("nejumi", record))

    def _prepare_batch(self, item: pytest.Item, kind: str, prepare: Callable[[list[Case]], None]) -> None:
        """Generate for the item's whole batch once, at its first item of `kind` (a case the batch could not
        answer is answered alone when scored)."""
        key = (self.batch_key(item), kind)
        if key not in self._prepared:
            self._prepared.add(key)
            prepare(self.selected.get(key[0], []))

    def meta(self, **extra: Any) -> dict[str, Any]:
        """What the leaderboard row was measured with: only what the config and the stored calls determine, so that
        a replay writes the same bytes (this invocation's own facts go to `runs.jsonl`)."""
        from importlib.metadata import PackageNotFoundError, version

        versions = {}
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
            "testmode": self.cfg.testmode,
            "jaster_add_special_tokens": self.cfg.llm_jp_eval.add_special_tokens,
            "versions": versions,
            **extra,
        }

    def process_stats(self) -> ProcessStats:
        """This process's backend calls (made, served by the CallStore) per role, and where its time went."""
        names = (("model", "engine"), ("model", "mtbench_engine"), ("judge", "judge_engine"))
        engines = [(role, self.__dict__[name]) for role, name in names if name in self.__dict__]
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

    def provenance(self, tasks: set[str], datasets: set[str]) -> dict[str, Any]:
        """Backends (identities only: nothing is loaded or called), the harness commit and the digests of the data
        files (every split of each jaster dataset scored; the MT-Bench files), for the tasks this run evaluated."""
        from .provenance import provenance

        mtbench = sorted(t.removeprefix("mtbench_") for t in tasks if t.startswith("mtbench_"))
        try:
            model = model_backend(self.cfg, self.model_path).identity() if tasks else None
            judge = judge_backend(self.cfg, self.judge_path).identity() if mtbench else None
            mtbench_files = {lang: self.mtbench_data(lang).files for lang in mtbench}
            jaster_files = {
                f"{split}/{name}.json": path
                for name in sorted(datasets)
                for split in ("test", "dev", "train")
                if (path := self.layout.path(name, split)).exists()
            }
        except (ConfigError, MtbenchDataError, OSError):
            return provenance(None, None, {}, {})
        return provenance(model, judge, mtbench_files, jaster_files)

    def close(self) -> None:
        for name in ("judge_engine", "mtbench_engine", "engine", "calls", "results"):
            if name in self.__dict__:
                self.__dict__[name].close()
        if self.lock is not None:
            self.lock.release()

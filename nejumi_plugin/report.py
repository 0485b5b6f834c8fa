"""The controller's side of a run: gathers scored cases from item reports, then writes the row and calls the sinks.

The row is built from every case the run directory has scored under this config (its results store), this
invocation's re-scored cases replacing the stored ones: a later, narrower invocation (`-k jnli`) re-scores what it
selected and leaves the rest of the row whole. A task is complete when none of its cases is missing: what this
invocation selected was scored, and what earlier invocations left missing (`meta.tasks[task].missing`) has been
scored since.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pytest

from .blend import Blended, BlendError, blend
from .family import Broken, Built, Scored, Table, live_block
from .gate import check_bounds
from .invocation import ProcessStats, append_invocation, measuring_invocations
from .outcome import FinishedRun
from .session import NejumiSession, record_of
from .sinks.files import read_board, write_run
from .sinks.terminal import calls_line, state_line
from .usage import thinking_summary, usage_summary


class RunReport:
    """Registered only in the controller (or the single process); item reports reach it from every worker."""

    def __init__(self, session: NejumiSession, hook: Any) -> None:
        self.session = session
        self.hook = hook  # the plugin manager's hook relay (meta, sinks, summary)
        self.records: dict[str, Scored] = {}  # this invocation's scored cases
        self.failed: Counter[str] = Counter()  # failed items per task (an unreadable dataset counts for each of its)
        self.failed_items = 0
        self.selected: dict[str, set[str]] = defaultdict(set)  # task -> keys this invocation selected
        self.broken: dict[str, set[str]] = defaultdict(set)  # task -> benchmarks whose data could not be read
        self.interrupted = False
        self.written = False
        self.built: list[Built] = []
        self.row: Table = {"columns": [], "data": [[]]}
        self.notes: list[str] = []  # said at the end of the summary (W&B, the report, what was blended)
        self.problems: list[str] = []  # what keeps the run from being complete besides its items (blend, sinks)
        self.violations: list[str] = []  # scores under their `--fail-under` / `report.fail_under` bound
        self.missing: dict[str, list[str]] = {}  # task -> keys of its cases that have no score
        self.clean: set[str] = set()  # `<family>:<name>` of the benchmarks planned without a data error
        self.scored: list[Scored] = []  # the row's records
        self.run: FinishedRun | None = None
        self.worker_stats = ProcessStats()  # calls and phase times of the xdist workers

    # -- what the items said ------------------------------------------------------------------------------------
    def stats(self) -> ProcessStats:
        """This invocation's calls and phase times: the workers' under xdist, else this process's own."""
        return ProcessStats().add(self.worker_stats).add(self.session.process_stats())

    def select(self, cases: Sequence[Any], clean: set[str]) -> None:
        """The cases this invocation runs (after -k), and the benchmarks it planned cleanly (before -k)."""
        self.clean |= clean
        for case in cases:
            if isinstance(case, Broken):  # a benchmark whose data could not be read: `<family>:<name>/*`
                for task in case.tasks:
                    self.broken[task].add(f"{case.marker}/*")
            else:
                self.selected[case.task].add(case.key)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: every worker collects the same items (keep what they selected) and counts its own calls."""
        output = getattr(node, "workeroutput", {})
        for task, keys in output.get("nejumi_selected", {}).items():
            self.selected[task].update(keys)
        for task, markers in output.get("nejumi_broken", {}).items():
            self.broken[task].update(markers)
        self.clean.update(output.get("nejumi_clean", ()))
        self.worker_stats.add(output.get("nejumi_stats", {}))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if "nejumi_tasks" not in props:
            return
        if report.failed:
            self.failed_items += 1
            for task in cast("list[str]", props["nejumi_tasks"]):
                self.failed[task] += 1
        elif report.when == "call" and "nejumi" in props:
            record = record_of(cast("dict[str, Any]", props["nejumi"]))
            self.records[record.key] = record

    # -- the row -----------------------------------------------------------------------------------------------
    def row_records(self) -> dict[str, Scored]:
        """Every case scored under this config: the store's, then this invocation's over them."""
        stored = {r.key: r for r in self.session.results.records(self.session.scoring_hash)}
        return {**stored, **self.records}

    def task_missing(self, task: str, records: Mapping[str, Scored], earlier: Mapping[str, Any]) -> list[str]:
        """The keys of `task`'s cases without a score: selected now and not scored, or missing before and not scored
        since (a broken benchmark counts as `<family>:<name>/*`)."""
        previous = earlier.get(task, [])
        missing = {key for key in previous if key not in records and not key.endswith("/*")}
        missing |= {key for key in previous if key.endswith("/*") and key[:-2] not in self.clean}
        missing |= {key for key in self.selected.get(task, ()) if key not in self.records}
        return sorted(missing | self.broken.get(task, set()))

    def build(self, earlier: Mapping[str, Any]) -> None:
        """Every switched-on task that has scored cases: its tables and block (in the families' order)."""
        cfg, records = self.session.cfg, self.row_records()
        by_task: dict[str, list[Scored]] = defaultdict(list)
        for record in records.values():
            by_task[record.task].append(record)
        self.built, self.missing = [], {}
        for family in self.session.families:
            for task in family.enabled(cfg):
                self.missing[task.name] = self.task_missing(task.name, records, earlier)
                if by_task.get(task.name):
                    built = family.build(task, sorted(by_task[task.name], key=lambda r: r.key), cfg)
                    built.complete = not self.missing[task.name] and not self.failed.get(task.name)
                    self.built.append(built)
        self.scored = [r for rs in by_task.values() for r in rs if r.task in {b.task.name for b in self.built}]

    def make_row(self, blended: Blended) -> Table:
        """The one-row leaderboard: blended blocks first (as Neo's run_chain), then this run's tasks in the
        families' order (jaster, then `*_MTbench_ja`, `*_MTbench_en`)."""
        blocks = [*(block for _, block in blended.blocks), *(live_block(b.task, b.block) for b in self.built)]
        columns = ["model_name", *(column for block in blocks for column in block)]
        values = [self.session.cfg.model_name, *(value for block in blocks for value in block.values())]
        return {"columns": columns, "data": [values]}

    @property
    def complete(self) -> bool:
        """Every case of every task of the row has its score, nothing failed or was interrupted."""
        return not self.failed and not self.interrupted and not any(self.missing.values())

    @property
    def run_complete(self) -> bool:
        """`complete`, and every blend taken and every sink written: what the summary, the row's meta, `runs.jsonl`
        and the exit code all say."""
        return self.complete and not self.problems

    def counts(self) -> dict[str, int]:
        return {
            "expected": sum(len(keys) for keys in self.selected.values()),
            "scored": len(self.records),
            "failed": self.failed_items,
        }

    def from_cache(self) -> int:
        """Items whose every call the CallStore served in this invocation."""
        return sum(1 for r in self.records.values() if r.cached)

    def blended(self) -> Blended:
        """Tasks this run did not evaluate, from the `--blend-from` / `old_runs` sources (a failure is said, and the
        row is then incomplete)."""
        if not self.session.blends:
            return Blended()
        evaluated = {task for task, keys in self.selected.items() if keys} | {b.task.name for b in self.built}
        try:
            return blend(self.session.blends, self.session.cfg, evaluated, self.session.families)
        except (BlendError, OSError, ValueError, KeyError) as err:
            self.problems.append(f"blending failed: {err}")
            return Blended()

    # -- the end of the session ----------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # collecting evaluates nothing, and a usage error stops the run before anything: nothing written
        if not (self.selected or self.records or self.failed or self.broken or self.session.blends):
            return  # no benchmark item was selected, nothing to blend
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        reporting = time.perf_counter()
        run_dir = self.session.run_dir
        earlier = read_board(run_dir)
        self.build(
            self._earlier_missing(earlier)
            if (earlier or {}).get("meta", {}).get("scoring_hash") == self.session.scoring_hash
            else {}
        )
        extra = self.blended()
        self.row = self.make_row(extra)
        tables = {name: tbl for built in self.built for name, tbl in built.tables.items()}
        tables.update(extra.tables)  # the pulled tables are logged again under their names, as Neo's blend_run does
        stats = self.stats()
        stats.phases_s["report"] = time.perf_counter() - reporting  # building the tables (not writing them)
        self.violations = check_bounds(self.row["columns"], self.row["data"][0], self.session.bounds)
        if extra.provenance:
            self.notes.append("blended: " + ", ".join(f"{t} from {s}" for t, s in extra.provenance.items()))
        run = self.run = FinishedRun(
            self.session.cfg,
            run_dir,
            self.row,
            tables,
            self.built,
            extra,
            list(self.session.families),
            self.session.wandb_target,
            say=self.notes.append,
        )
        record = self._invocation(stats, exitstatus)
        run.meta = self.meta(extra, tables, record, run)
        write_run(run_dir, tables, run.board)  # first: no sink can lose it
        self.written = True
        self._sinks(run)
        if self.problems:  # a sink failed after the row was written: the row says so too
            record = self._invocation(stats, exitstatus)
            run.meta = self.meta(extra, tables, record, run)
            write_run(run_dir, {}, run.board)
        append_invocation(run_dir, record)
        session.exitstatus = self.exit_status(exitstatus)

    @staticmethod
    def _earlier_missing(earlier: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """What the directory's row said was missing, when it was scored under this same config."""
        meta = (earlier or {}).get("meta", {})
        return meta.get("missing", {}) or {}

    def exit_status(self, exitstatus: int) -> int:
        """The session's exit code: an incomplete row, or a score under its bound, is a failed session."""
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and self.session.blend_only:
            exitstatus = pytest.ExitCode.OK  # a blend-only run evaluates nothing by design
        if exitstatus == pytest.ExitCode.OK and (not self.run_complete or self.violations):
            return pytest.ExitCode.TESTS_FAILED
        return exitstatus

    def _invocation(self, stats: ProcessStats, exitstatus: int) -> dict[str, Any]:
        return self.session.invocation(
            stats,
            len(self.records),
            exit=_exit_name(self.exit_status(exitstatus)),
            complete=self.run_complete,
            items={**self.counts(), "from_cache": self.from_cache()},
        )

    def _sinks(self, run: FinishedRun) -> None:
        """Every `pytest_nejumi_sink` implementation in turn (the report page first, W&B last); one that fails is
        said and makes the run incomplete, never stops the others."""
        for impl in reversed(self.hook.pytest_nejumi_sink.get_hookimpls()):
            if impl.hookwrapper or getattr(impl, "wrapper", False):
                continue  # each sink is called on its own (a failing one must not stop the rest): nothing to wrap
            try:
                impl.function(**dict.fromkeys(impl.argnames, run))  # as pluggy does: the arguments it declares
            except Exception as err:  # the row is on disk already: no sink may take the run down with it
                self.problems.append(_sink_failure(impl.plugin_name, err))

    def meta(
        self, extra: Blended, tables: Mapping[str, Table], record: Mapping[str, Any], run: FinishedRun
    ) -> dict[str, Any]:
        """The row's meta: what the config and the stored calls determine (see `invocation`)."""
        settings, families = self.session.cfg.report, self.session.families
        b, seed = settings.bootstrap_samples, settings.bootstrap_seed
        tasks = {built.task.name: {"complete": built.complete} for built in self.built}
        missing = {task: keys for task, keys in self.missing.items() if keys}
        per_family: dict[str, dict[str, Any]] = defaultdict(dict)
        for built in self.built:
            if built.meta:
                per_family[built.task.family][built.task.name] = built.meta
        from .aggregate.intervals import intervals_meta, run_intervals  # numpy: imported when a row is written

        meta = self.session.meta(
            complete=self.run_complete,
            items=self.counts(),
            tasks=tasks,
            **per_family,
            usage=usage_summary(self.scored),
            blend={"sources": extra.provenance} if self.session.blends else None,
            intervals=intervals_meta(
                run_intervals(tables, families, b=b, seed=seed),
                b=b,
                seed=seed,
                families=[f for f in families if f.found(tables)],
            ),
            provenance=self.session.provenance(self.scored),
            invocations=measuring_invocations(self.session.run_dir, record),
            reasoning=self.reasoning_meta(),
            **({"problems": list(self.problems)} if self.problems else {}),
            **({"missing": missing} if missing else {}),  # the cases without a score, by task
        )
        self.hook.pytest_nejumi_meta(meta=meta, run=run)
        return meta

    def reasoning_meta(self) -> dict[str, Any] | None:
        """What `reasoning: auto` decided for the model and the judge, and per task the reasoning tokens and the
        answers that ran out of budget while thinking (None when nothing was evaluated)."""
        if not self.scored:
            return None
        roles = self.session.roles([self.session.family_of(t) for t in {r.task for r in self.scored}])
        out: dict[str, Any] = {
            role: self.session.reasoning(role).meta() for role in ("model", "judge") if role in roles
        }
        out["tasks"] = thinking_summary(self.scored)
        return out

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.written:
            return
        terminalreporter.section("nejumi leaderboard")
        lines: list[str] = []
        for family in self.session.families:
            mine = [b for b in self.built if b.task.family == family.name]
            if mine:
                lines += family.summary(mine)
        lines = lines or ["nothing was scored", ""]
        lines.append(state_line(str(self.session.run_dir), self.run_complete, self.counts(), self.problems))
        lines.append(calls_line(self.stats().calls, self.session.replay))
        lines += self._not_run(len(terminalreporter.stats.get("deselected", [])))
        for more in self.hook.pytest_nejumi_summary(run=self.run):
            lines += more
        for line in [*lines, *self.notes]:
            terminalreporter.write_line(line)
        for warning in self.session.warnings:
            terminalreporter.write_line(f"WARNING: {warning}", yellow=True, bold=True)
        for problem in self.problems:
            terminalreporter.write_line(f"INCOMPLETE: {problem}", red=True, bold=True)
        if self.violations:
            terminalreporter.write_line("fail-under: " + "; ".join(self.violations), red=True, bold=True)

    def _not_run(self, deselected: int) -> list[str]:
        """What this invocation left out and why: tasks the config switches off, and items -k/-m deselected."""
        cfg, lines = self.session.cfg, []
        off = [t for f in self.session.families for t in f.tasks(cfg) if t not in f.enabled(cfg)]
        if off and not self.session.blend_only:
            names = ", ".join(f"{t.shown} ({t.switch}: false)" if t.switch else t.shown for t in off)
            lines.append(f"switched off in the config: {names}")
        chosen = deselected - self.session.switched_off_items
        if chosen > 0:
            kept = sum(1 for r in self.scored if r.key not in self.records)
            why = f"{kept} earlier scores of this run directory stay in the row" if kept else "not in the row"
            lines.append(f"deselected by -k/-m: {chosen} items ({why})")
        return lines


def _sink_failure(name: str, err: Exception) -> str:
    from .sinks.wandb_sink import WandbError

    return str(err) if isinstance(err, WandbError) else f"{name} failed ({type(err).__name__}: {err})"


def _exit_name(status: int) -> str:
    try:
        return pytest.ExitCode(status).name.lower()
    except ValueError:
        return str(status)

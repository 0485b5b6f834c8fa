"""The controller's side of a run: gathers scored samples from item reports, then writes and prints the row."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from .aggregate import mtbench
from .aggregate.intervals import intervals_meta, run_intervals
from .aggregate.jaster import JasterTaskTables, build_task_tables, leaderboard_row
from .aggregate.usage import thinking_summary, usage_summary
from .blend import Blended, BlendError, blend
from .benchmark import DATA_ERROR_TASK
from .gate import check_bounds
from .invocation import ProcessStats, append_invocation, measuring_invocations
from .session import NejumiSession
from .sinks.files import write_run
from .sinks.terminal import calls_line, summary_lines
from .sinks.wandb_sink import WandbError, log_run
from .tasks.jaster.cases import enabled_settings
from .tasks.mtbench.cases import enabled_languages


class RunReport:
    """Registered only in the controller (or the single process); item reports reach it from every worker."""

    def __init__(self, session: NejumiSession) -> None:
        self.session = session
        self.records: dict[str, dict[str, Any]] = {}
        self.failed: Counter[str] = Counter()
        self.tasks: list[JasterTaskTables] = []
        self.mtbench: list[mtbench.MtbenchTaskTables] = []
        self.expected: dict[str, int] = {}  # items selected per task (from collection, or from the xdist workers)
        self.interrupted = False
        self.written = False
        self.notes: list[str] = []  # said at the end of the summary (W&B, the report, what was blended)
        self.problems: list[str] = []  # what keeps the run from being complete besides its items (blend, sinks)
        self.violations: list[str] = []  # scores under their `--fail-under` / `report.fail_under` bound
        self.worker_stats = ProcessStats()  # calls and phase times of the xdist workers

    def stats(self) -> ProcessStats:
        """This invocation's calls and phase times: the workers' under xdist, else this process's own."""
        return ProcessStats().add(self.worker_stats).add(self.session.process_stats())

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: every worker collects the same items (keep the count they report) and counts its own calls."""
        output = getattr(node, "workeroutput", {})
        self.expected = output.get("nejumi_expected", self.expected)
        self.worker_stats.add(output.get("nejumi_stats", {}))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = report.user_properties
        task = next((v for k, v in props if k == "nejumi_task"), None)
        if task is None:
            return
        if report.failed:
            self.failed[task] += 1
        elif report.when == "call":
            for key, value in props:
                if key == "nejumi":
                    self.records[value["key"]] = value

    def task_complete(self, task: str) -> bool:
        """Every selected item of `task` was scored: no failure, no interruption, nothing left unrun."""
        scored = sum(1 for r in self.records.values() if r["task"] == task)
        data_error = task.startswith("jaster_") and self.failed.get(DATA_ERROR_TASK)
        broken = self.failed.get(task) or data_error or self.interrupted
        return not broken and scored >= self.expected.get(task, 0)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.interrupted and all(self.task_complete(t) for t in self.expected)

    def counts(self) -> dict[str, int]:
        return {
            "expected": sum(self.expected.values()),
            "scored": len(self.records),
            "failed": sum(self.failed.values()),
        }

    def from_cache(self) -> int:
        """Items whose every call the CallStore served in this invocation."""
        return sum(1 for r in self.records.values() if r.get("cached"))

    def build(self) -> None:
        """Neo's tables for every jaster task that has scored samples, and the one-row leaderboard."""
        cfg = self.session.cfg
        records = list(self.records.values())
        self.tasks = []
        for setting in enabled_settings(cfg):
            mine = [r for r in records if r["task"] == setting.task]
            if mine:
                tables = build_task_tables(setting, mine, cfg.model_name)
                tables.complete = self.task_complete(setting.task)
                self.tasks.append(tables)
        self.mtbench = []
        for language in enabled_languages(cfg):
            mine = [r for r in records if r["task"] == f"mtbench_{language}"]
            if mine:
                mt = mtbench.build_task_tables(language, mine, cfg.model_name)
                mt.complete = self.task_complete(mt.task)
                self.mtbench.append(mt)

    def row(self, blended: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> dict[str, Any]:
        """The one-row leaderboard: blended blocks first (as Neo's run_chain), then jaster, `*_MTbench_ja`,
        `*_MTbench_en` (Neo's task order)."""
        live = leaderboard_row(self.session.cfg.model_name, self.tasks)
        blocks = [*(block for _, block in blended), dict(zip(live["columns"][1:], live["data"][0][1:]))]
        blocks += [mtbench.leaderboard_columns(mt.leaderboard, mt.language) for mt in self.mtbench]
        columns = [live["columns"][0], *(column for block in blocks for column in block)]
        values = [live["data"][0][0], *(value for block in blocks for value in block.values())]
        return {"columns": columns, "data": [values]}

    def judge_note(self) -> str:
        judge = self.session.cfg.mtbench.judge
        note = f"{judge.api} {judge.model}"
        if judge.api == "hf":
            note += " (a local model: for demonstration only; its scores are not comparable with GPT-4's)"
        return note

    def mtbench_meta(self) -> dict[str, Any]:
        """FastChat show_result's numbers, parse failures and judge calls per language: users compare with both."""
        judge = self.session.cfg.mtbench.judge
        return {
            mt.task: {
                "show_result": mt.show_result,
                "parse_failures": mt.parse_failures,
                "judge_calls": mt.judge_calls,
                "judge": {"api": judge.api, "model": judge.model},
            }
            for mt in self.mtbench
        }

    def blended(self) -> Blended:
        """Tasks this run did not evaluate, from the `--blend-from` / `old_runs` sources (a failure is said, and the
        row is then incomplete)."""
        if not self.session.blends:
            return Blended()
        evaluated = set(self.expected) | {r["task"] for r in self.records.values()}
        try:
            return blend(self.session.blends, self.session.cfg, evaluated)
        except (BlendError, OSError, ValueError, KeyError) as err:
            self.problems.append(f"blending failed: {err}")
            return Blended()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.config.option.collectonly or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # collecting evaluates nothing, and a usage error stops the run before anything: nothing written
        if not (self.expected or self.records or self.failed or self.session.blends):
            return  # no benchmark item was selected, nothing to blend
        self.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        reporting = time.perf_counter()
        self.build()
        extra = self.blended()
        row = self.row(extra.blocks)
        tables = {name: tbl for task in [*self.tasks, *self.mtbench] for name, tbl in task.tables.items()}
        tables.update(extra.tables)  # the pulled tables are logged again under their names, as Neo's blend_run does
        stats = self.stats()
        stats.phases_s["report"] = time.perf_counter() - reporting  # building the tables (not writing them)
        self.violations = check_bounds(row["columns"], row["data"][0], self.session.bounds)
        if extra.provenance:
            self.notes.append("blended: " + ", ".join(f"{t} from {s}" for t, s in extra.provenance.items()))
        run_dir = self.session.run_dir
        record = self._invocation(stats, exitstatus)
        write_run(run_dir, tables, self._board(row, extra, tables, record))  # first: no sink can lose it
        self.written = True
        media = self._sink("report.html", self.write_report) if tables else []
        self._sink("W&B", lambda: log_run(self.session.cfg, run_dir, tables, row, self.session.wandb_target,
                                          self.notes.append, media))  # fmt: skip
        if self.problems:  # a sink failed after the row was written: the row says so too
            record = self._invocation(stats, exitstatus)
            write_run(run_dir, {}, self._board(row, extra, tables, record))
            if media:
                self._sink("report.html", self.write_report)
        append_invocation(run_dir, record)
        session.exitstatus = self.exit_status(exitstatus)

    @property
    def run_complete(self) -> bool:
        """Every selected item scored, every blend taken and every sink written: what the summary, the row's meta,
        `runs.jsonl` and the exit code all say."""
        return self.complete and not self.problems

    def exit_status(self, exitstatus: int) -> int:
        """The session's exit code: an incomplete row, or a score under its bound, is a failed session."""
        if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and self.session.blend_only:
            exitstatus = pytest.ExitCode.OK  # a blend-only run evaluates nothing by design
        if exitstatus == pytest.ExitCode.OK and (not self.run_complete or self.violations):
            return pytest.ExitCode.TESTS_FAILED
        return exitstatus

    def _invocation(self, stats: ProcessStats, exitstatus: int) -> dict[str, Any]:
        return self.session.invocation(
            stats, len(self.records), exit=_exit_name(self.exit_status(exitstatus)), complete=self.run_complete,
            items={**self.counts(), "from_cache": self.from_cache()},
        )  # fmt: skip

    def _board(self, row: Mapping[str, Any], extra: Blended, tables: Mapping[str, Any],
               record: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
        return {**row, "meta": self.meta(self.run_complete, extra, tables, record)}

    def _sink(self, name: str, write: Callable[[], Any]) -> Any:
        """Run one sink after the row is written; its failure is said and makes the run incomplete, never raised."""
        try:
            return write()
        except WandbError as err:
            self.problems.append(str(err))
        except Exception as err:  # the row is on disk already: no sink may take the run down with it
            self.problems.append(f"{name} failed ({type(err).__name__}: {err})")
        return []

    def meta(self, complete: bool, extra: Blended, tables: Mapping[str, Any],
             record: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
        """The row's meta: what the config and the stored calls determine (see `invocation`)."""
        settings = self.session.cfg.report
        b, seed = settings.bootstrap_samples, settings.bootstrap_seed
        tasks = {t.setting.task: {"complete": t.complete} for t in self.tasks}
        tasks.update({mt.task: {"complete": mt.complete} for mt in self.mtbench})
        return self.session.meta(
            complete=complete, items=self.counts(), tasks=tasks,
            mtbench=self.mtbench_meta(), usage=usage_summary(self.records.values()),
            blend={"sources": extra.provenance} if self.session.blends else None,
            intervals=intervals_meta(run_intervals(tables, b=b, seed=seed), b=b, seed=seed),
            provenance=self.session.provenance(
                {r["task"] for r in self.records.values()},
                {r["row"]["target_dataset"] for r in self.records.values() if "row" in r},
            ),
            invocations=measuring_invocations(self.session.run_dir, record),
            reasoning=self.reasoning_meta(),
            **({"problems": list(self.problems)} if self.problems else {}),
        )  # fmt: skip

    def reasoning_meta(self) -> dict[str, Any] | None:
        """What `reasoning: auto` decided for the model and the judge, and per task the reasoning tokens and the
        answers that ran out of budget while thinking (None when nothing was evaluated)."""
        records = list(self.records.values())
        if not records:
            return None
        out: dict[str, Any] = {"model": self.session.model_reasoning.meta()}
        if any(r["task"].startswith("mtbench_") for r in records):
            out["judge"] = self.session.judge_reasoning.meta()
        out["tasks"] = thinking_summary(records)
        return out

    def write_report(self) -> list[Path]:
        """`report.html` and the radar PNGs (when `report.html` is on)."""
        if not self.session.cfg.report.html:
            return []
        from .sinks.html_report import write_report

        paths = write_report(self.session.run_dir, b=self.session.cfg.report.bootstrap_samples,
                             seed=self.session.cfg.report.bootstrap_seed)  # fmt: skip
        if f"report: {paths[0]}" not in self.notes:
            self.notes.append(f"report: {paths[0]}")
        return paths

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.written:
            return
        terminalreporter.section("nejumi leaderboard")
        lines = summary_lines(
            self.tasks, self.mtbench, str(self.session.run_dir), self.run_complete, self.counts(), self.judge_note()
        )
        for line in [*lines, calls_line(self.stats().calls, self.session.replay), *self.notes]:
            terminalreporter.write_line(line)
        for warning in self.session.warnings:
            terminalreporter.write_line(f"WARNING: {warning}", yellow=True, bold=True)
        for problem in self.problems:
            terminalreporter.write_line(f"INCOMPLETE: {problem}", red=True, bold=True)
        if self.violations:
            terminalreporter.write_line("fail-under: " + "; ".join(self.violations), red=True, bold=True)


def _exit_name(status: int) -> str:
    try:
        return pytest.ExitCode(status).name.lower()
    except ValueError:
        return str(status)

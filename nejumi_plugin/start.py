"""How a run starts: the config loaded, everything checked that needs no model, the run directory held, the
session and the report set up — and, after collection, the cases of this process batched and the keys checked.
Called by the plugin's hooks (which stay thin): a problem found here is a usage error, before any request."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import preflight
from .blend import BlendError, BlendRequest, blend_requests, blend_tasks, check_plan, check_sources
from .config import ConfigError, RunConfig, load_config
from .family import Broken, Family
from .gate import parse_bounds
from .items import case_of, module_of
from .report import RunReport
from .run_dir import RunDirError
from .session import NejumiSession, counted_tasks
from .sinks.builtin import ReportPage, Wandb
from .sinks.terminal import live_progress
from .sinks.wandb_sink import target_problem
from .store import StoreError


def _usage(err: Exception) -> pytest.UsageError:
    return pytest.UsageError(str(err))


def start_run(config: pytest.Config, session_key: Any, report_key: Any) -> None:
    """The session of this process (and, in the controller or the only process, the report and the sinks)."""
    worker = hasattr(config, "workerinput")
    cwd = Path(config.invocation_params.dir)
    checked = _checked(config, cwd, worker)
    cache = config.getoption("call_cache")
    session = NejumiSession(
        checked.cfg,
        Path(cwd, config.getoption("output_dir")).resolve(),
        checked.families,
        batch_per_module=worker,
        progress=None if worker else live_progress(config),
        blends=checked.blends,
        replay=config.getoption("replay"),
        call_cache=Path(cwd, cache).resolve() if cache else None,
        bounds=checked.bounds,
    )
    config.stash[session_key] = session
    if getattr(config.option, "dist", "no") != "no" and not worker:  # xdist's controller collects nothing itself
        _stop_on_key_problems(session, session.roles())
    if not worker:
        _start_controller(config, session, report_key)


@dataclass(frozen=True)
class _Checked:
    """A run's config with everything checked that needs no model (in the controller: before any request)."""

    cfg: RunConfig
    families: list[Family]
    bounds: dict[str, float]
    blends: list[BlendRequest]


def _checked(config: pytest.Config, cwd: Path, worker: bool) -> _Checked:
    try:
        cfg = load_config(config.getoption("model_config"), config.getoption("nejumi_set"))
    except ConfigError as err:
        raise _usage(err) from None
    families = [family for found in config.hook.pytest_nejumi_families() for family in found]
    twice = sorted(name for name, count in Counter(f.name for f in families).items() if count > 1)
    if twice:
        raise pytest.UsageError(
            f"benchmark family {', '.join(map(repr, twice))} is registered twice (a package's `nejumi.families` entry "
            "point and a conftest's pytest_nejumi_families hook?): register each family once"
        )
    try:
        bounds = {**cfg.report.fail_under, **parse_bounds(config.getoption("fail_under") or {})}
    except ValueError as err:
        raise pytest.UsageError(f"--fail-under: {err}") from None
    try:
        tasks = blend_tasks(families, cfg)
        blends = blend_requests(cfg, config.getoption("nejumi_blend"), cwd, tasks)
        if not worker:  # the workers' controller checked already
            preflight.check_families(cfg, families)
            preflight.check_reasoning(cfg)
            preflight.check_wandb(cfg)
            check_sources(blends, cfg, tasks)
            preflight.check_bounds(cfg, bounds, families, blends)
    except ConfigError as err:  # BlendError included
        raise _usage(err) from None
    return _Checked(cfg, families, bounds, blends)


def _start_controller(config: pytest.Config, session: NejumiSession, report_key: Any) -> None:
    """The W&B target checked, the run directory held (a collect-only run writes nothing), the report and the
    built-in sinks registered."""
    problem = target_problem(session.cfg, session.wandb_target)
    if problem:
        raise pytest.UsageError(problem)
    if not config.option.collectonly:
        try:
            session.hold_run_dir()
        except (RunDirError, StoreError) as err:
            raise _usage(err) from None
    workers = int(getattr(config.option, "numprocesses", None) or 1)
    for family in session.families:
        session.warnings += family.warnings(session.cfg, workers)
    report = RunReport(session, config.hook)
    config.stash[report_key] = report
    config.pluginmanager.register(report, "nejumi-report")
    for name, sink in (("nejumi-report-page", ReportPage()), ("nejumi-wandb", Wandb())):
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.register(sink, name)


def _stop_on_key_problems(session: NejumiSession, roles: set[str]) -> None:
    if session.replay:
        return  # nothing is called
    try:
        problems = session.key_problems(roles)
    except ConfigError as err:
        raise _usage(err) from None
    if problems:
        raise pytest.UsageError("; ".join(problems))


def collected(pytest_session: pytest.Session, session: NejumiSession, report: RunReport | None) -> None:
    """After -k/-m and every other deselection: this process's cases by batch; in a lone process, the keys of the
    roles they call and the blend plan are checked now (a missing key stops the run before any item)."""
    config = pytest_session.config
    cases = [(item, case) for item in pytest_session.items if (case := case_of(item)) is not None]
    for item, case in cases:
        if isinstance(case, Broken):
            session.broken.append(case)
        else:
            session.selected[session.batch_key(module_of(item))].append(case)
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") == "no":
        families = {session.family_of(task).name for _, case in cases for task in counted_tasks(case)}
        _stop_on_key_problems(session, session.roles([f for f in session.families if f.name in families]))
        try:
            evaluated = {case.task for _, case in cases if not isinstance(case, Broken)}
            check_plan(session.blends, session.cfg, evaluated, blend_tasks(session.families, session.cfg))
        except BlendError as err:
            raise _usage(err) from None
    if report is not None:
        report.select([case for _, case in cases], set(session.clean))


def worker_output(session: NejumiSession) -> dict[str, Any]:
    """What an xdist worker hands its controller: what it selected, what it planned cleanly, and its call counts."""
    from dataclasses import asdict

    selected: dict[str, list[str]] = defaultdict(list)
    for cases in session.selected.values():
        for case in cases:
            selected[case.task].append(case.key)
    broken: dict[str, list[str]] = defaultdict(list)
    for case in session.broken:
        for task in case.tasks:
            broken[task].append(f"{case.marker}/*")
    return {
        "nejumi_selected": dict(selected),
        "nejumi_clean": sorted(session.clean),
        "nejumi_broken": dict(broken),
        "nejumi_stats": asdict(session.process_stats()),
    }

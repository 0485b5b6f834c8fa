"""The pytest plugin: options, collection, the session fixture, and the controller's report. Hooks only."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from . import preflight
from .blend import BlendError, blend_requests, check_plan, check_sources
from .backends.placement import gpu_key_notes
from .benchmark import BENCHMARK_ATTR, CASE_PARAM, BrokenCase, case_of, is_benchmark
from .config import ConfigError, load_config
from .gate import parse_bounds
from .report import RunReport
from .session import NejumiSession
from .tasks.jaster.cases import JasterCase, enabled_settings
from .tasks.mtbench.cases import MtbenchCase, enabled_languages
from .sinks.terminal import live_progress
from .sinks.wandb_sink import target_problem
from .run_dir import RunDirError
from .store import StoreError
from .tasks.jaster.datasets import expand_target

SESSION_KEY = pytest.StashKey[NejumiSession]()
REPORT_KEY = pytest.StashKey[RunReport]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nejumi", "Nejumi leaderboard evaluation")
    group.addoption("--model-config", metavar="PATH", help="the run's config.yaml (Neo's format)")
    group.addoption(
        "--set",
        action="append",
        default=[],
        dest="nejumi_set",
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set llm_jp_eval.ja_num_shots=2 (repeatable; VALUE is YAML)",
    )
    group.addoption("--output-dir", default="outputs", metavar="DIR", help="where runs are written (default: outputs)")
    group.addoption(
        "--replay",
        action="store_true",
        help="rebuild the run from its stored calls: no model is loaded and no API is called; a call that is not "
        "stored fails its item, naming it",
    )
    group.addoption(
        "--call-cache",
        metavar="PATH",
        help="a calls.sqlite shared between runs (keyed by model identity and request), instead of the run's own",
    )
    group.addoption(
        "--fail-under",
        metavar="KEY=BOUND[,...]",
        help="fail the session when a leaderboard score is below its bound, e.g. jnli=0.55,AVG_jaster=0.4 (a key is "
        "a column name, its leading name parts, or a glob; adds to report.fail_under)",
    )
    group.addoption(
        "--blend-from",
        action="append",
        default=[],
        dest="nejumi_blend",
        metavar="SOURCE[@TASKS]",
        help="take the tasks this run does not evaluate from an earlier run: entity/project/run_id (W&B), a run "
        "directory (outputs/<run>) or an offline W&B run directory; @jaster_ja_0_shot,mtbench_ja picks tasks "
        "(repeatable)",
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `-n N`, a benchmark module goes whole to one worker, which generates its batch once: xdist's `loadfile`
    scheduler, chosen here rather than by rewriting options, so no hook order inside xdist can undo it. A `--dist`
    that keeps modules whole (`loadfile`, `loadscope`) is left to xdist."""
    if not config.getoption("model_config") or config.getoption("dist", "no") in ("loadfile", "loadscope"):
        return None
    from xdist.scheduler import LoadFileScheduling

    return LoadFileScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("model_config")
    if not path:
        return
    worker = hasattr(config, "workerinput")
    cwd = Path(config.invocation_params.dir)
    try:
        cfg = load_config(path, config.getoption("nejumi_set"))
        expand_target(cfg.llm_jp_eval.target_dataset)
    except ConfigError as err:
        raise pytest.UsageError(str(err)) from None
    except ValueError as err:  # an unknown target_dataset
        raise pytest.UsageError(f"{cfg.source_path}: {err}") from None
    try:
        bounds = {**cfg.report.fail_under, **parse_bounds(config.getoption("fail_under") or {})}
    except ValueError as err:
        raise pytest.UsageError(f"--fail-under: {err}") from None
    try:
        blends = blend_requests(cfg, config.getoption("nejumi_blend"), cwd)
        if not worker:  # what can be checked without the model, before any request (the workers' controller did)
            preflight.check_templates(cfg)
            preflight.check_reasoning(cfg)
            preflight.check_wandb(cfg)
            check_sources(blends, cfg)
            preflight.check_bounds(cfg, bounds, blends)
    except ConfigError as err:  # BlendError included
        raise pytest.UsageError(str(err)) from None
    cache = config.getoption("call_cache")
    session = NejumiSession(
        cfg, Path(cwd, config.getoption("output_dir")).resolve(), batch_per_module=worker,
        progress=None if worker else live_progress(config), blends=blends, replay=config.getoption("replay"),
        call_cache=Path(cwd, cache).resolve() if cache else None, bounds=bounds,
    )  # fmt: skip
    config.stash[SESSION_KEY] = session
    if getattr(config.option, "dist", "no") != "no" and not worker:  # xdist's controller collects nothing itself
        tasks = enabled_settings(cfg), enabled_languages(cfg)
        _stop_on_key_problems(session, bool(tasks[0]), bool(tasks[1]))
    if not worker:  # the controller (or the only process) holds the run directory and builds the report
        problem = target_problem(cfg, session.wandb_target)
        if problem:
            raise pytest.UsageError(problem)
        if not config.option.collectonly:  # collecting writes nothing
            try:
                session.hold_run_dir()
            except (RunDirError, StoreError) as err:
                raise pytest.UsageError(str(err)) from None
        if enabled_languages(cfg):
            workers = getattr(config.option, "numprocesses", None) or 1
            session.warnings += gpu_key_notes(cfg.mtbench, api=bool(cfg.model.api), workers=int(workers))
        report = RunReport(session)
        config.stash[REPORT_KEY] = report
        config.pluginmanager.register(report, "nejumi-report")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Said before any item runs: what the run found that the user should know (e.g. earlier answers gone)."""
    session = config.stash.get(SESSION_KEY, None)
    return [f"nejumi: WARNING: {warning}" for warning in session.warnings] if session is not None else []


def pytest_sessionfinish(session: pytest.Session) -> None:
    """xdist workers: hand their backend call counts to the controller (it writes the invocation's record)."""
    nejumi = session.config.stash.get(SESSION_KEY, None)
    if nejumi is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["nejumi_stats"] = asdict(nejumi.process_stats())


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    benchmark = getattr(metafunc.function, BENCHMARK_ATTR, None) if CASE_PARAM in metafunc.fixturenames else None
    if benchmark is None:
        return
    session = metafunc.config.stash.get(SESSION_KEY, None)
    if session is None:
        return  # reported once, at pytest_collection_modifyitems
    cases = session.plan(benchmark)
    metafunc.parametrize(CASE_PARAM, cases, ids=[c.id for c in cases])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop benchmark functions with nothing selected (before -k and xdist)."""
    if SESSION_KEY not in config.stash:
        if any(is_benchmark(item) for item in items):
            raise pytest.UsageError("benchmarks need a run config: pytest benchmarks --model-config configs/config.yaml")
        return
    blend_only = config.stash[SESSION_KEY].blend_only
    kept, dropped = [], []
    for item in items:
        case = case_of(item)
        if is_benchmark(item) and (case is None or blend_only):
            dropped.append(item)  # an empty parameter set (a switched-off dataset), or a blend-only run
            continue
        kept.append(item)
        if case is not None and not isinstance(case, BrokenCase):
            item.extra_keyword_matches.add(case.keyword)  # `-k mmlu_en_anatomy` selects a subject
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _stop_on_key_problems(session: NejumiSession, jaster: bool, mtbench: bool) -> None:
    if session.replay:
        return  # nothing is called
    try:
        problems = session.key_problems(jaster, mtbench)
    except ConfigError as err:
        raise pytest.UsageError(str(err)) from None
    if problems:
        raise pytest.UsageError("; ".join(problems))


def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k/-m and every other deselection: remember which cases this process will run, batch by batch."""
    config = session.config
    nejumi = config.stash.get(SESSION_KEY, None)
    if nejumi is None:
        return
    if not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") == "no":
        cases = [case_of(item) for item in session.items]  # after -k: a missing API key stops the run before any item
        jaster, mtbench = (any(isinstance(c, kind) for c in cases) for kind in (JasterCase, MtbenchCase))
        _stop_on_key_problems(nejumi, jaster, mtbench)
        try:  # and a blend that cannot be done as asked
            check_plan(nejumi.blends, nejumi.cfg, {c.task for c in cases if c is not None})
        except BlendError as err:
            raise pytest.UsageError(str(err)) from None
    for item in session.items:
        case = case_of(item)
        if case is not None and not isinstance(case, BrokenCase):
            nejumi.selected[nejumi.batch_key(item)].append(case)
    expected = dict(Counter(case.task for cases in nejumi.selected.values() for case in cases))
    if hasattr(config, "workerinput"):
        config.workeroutput["nejumi_expected"] = expected  # read by the controller's report
    elif REPORT_KEY in config.stash:
        config.stash[REPORT_KEY].expected = expected


@pytest.fixture(scope="session")
def nejumi_session(pytestconfig: pytest.Config) -> NejumiSession:
    """The run's session (config, stores, engine), shared by every item of this process."""
    session = pytestconfig.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.fail("benchmarks need a config: pytest benchmarks --model-config configs/config.yaml", pytrace=False)
    return session

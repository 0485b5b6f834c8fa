"""The pytest plugin: options, collection, the session fixture, and the controller's report. Hooks only."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from .blend import BlendError, blend_requests
from .benchmark import BENCHMARK_ATTR, CASE_PARAM, BrokenCase, case_of, is_benchmark, module_group
from .config import ConfigError, load_config
from .gate import parse_bounds
from .report import RunReport
from .session import NejumiSession
from .tasks.jaster.cases import JasterCase, enabled_settings
from .tasks.mtbench.cases import MtbenchCase, enabled_languages
from .sinks.terminal import live_progress
from .sinks.wandb_sink import target_problem
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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With `-n N`, send each module's items to one worker so its batch is generated once (xdist loadgroup)."""
    if config.getoption("model_config") and getattr(config.option, "numprocesses", None):
        chosen = any(arg == "-d" or arg.startswith("--dist") for arg in config.invocation_params.args)
        if not chosen and getattr(config.option, "dist", "no") in ("no", "load"):  # xdist may have set "load"
            config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: workers parse the original command line, so tell them that the controller chose loadgroup (they
    then suffix node ids with their group, which is how the controller keeps a module on one worker)."""
    if node.config.getoption("dist", "no") == "loadgroup":
        node.workerinput["nejumi_loadgroup"] = True


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", {}).get("nejumi_loadgroup"):
        config.option.loadgroup = True
    path = config.getoption("model_config")
    if not path:
        return
    try:
        cfg = load_config(path, config.getoption("nejumi_set"))
        expand_target(cfg.llm_jp_eval.target_dataset)
    except ConfigError as err:
        raise pytest.UsageError(str(err)) from None
    except ValueError as err:  # an unknown target_dataset
        raise pytest.UsageError(f"{cfg.source_path}: {err}") from None
    output_dir = Path(config.invocation_params.dir, config.getoption("output_dir")).resolve()
    worker = hasattr(config, "workerinput")
    try:
        blends = blend_requests(cfg, config.getoption("nejumi_blend"), Path(config.invocation_params.dir))
    except BlendError as err:
        raise pytest.UsageError(str(err)) from None
    cache = config.getoption("call_cache")
    try:
        bounds = {**cfg.report.fail_under, **parse_bounds(config.getoption("fail_under") or {})}
    except ValueError as err:
        raise pytest.UsageError(f"--fail-under: {err}") from None
    session = NejumiSession(
        cfg, output_dir, batch_per_module=worker, progress=None if worker else live_progress(config), blends=blends,
        replay=config.getoption("replay"),
        call_cache=Path(config.invocation_params.dir, cache).resolve() if cache else None, bounds=bounds,
    )  # fmt: skip
    config.stash[SESSION_KEY] = session
    if getattr(config.option, "dist", "no") != "no" and not worker:  # xdist's controller collects nothing itself
        tasks = enabled_settings(cfg), enabled_languages(cfg)
        _stop_on_key_problems(session, bool(tasks[0]), bool(tasks[1]))
    if not worker:  # the controller (or the only process) builds the report
        problem = target_problem(cfg, session.wandb_target)
        if problem:
            raise pytest.UsageError(problem)
        try:
            session.check_stores()
        except StoreError as err:
            raise pytest.UsageError(str(err)) from None
        report = RunReport(session)
        config.stash[REPORT_KEY] = report
        config.pluginmanager.register(report, "nejumi-report")


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
    """Drop benchmark functions with nothing selected; mark each module as one xdist group (before -k and xdist)."""
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
        if case is not None:
            item.add_marker(pytest.mark.xdist_group(module_group(item)))  # with -n N a module goes to one worker
            if not isinstance(case, BrokenCase):
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

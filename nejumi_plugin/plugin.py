"""The pytest plugin: options, collection, the session fixture, and the controller's report. Hooks only.

Loading it imports nothing but pytest: a session without `--model-config` (`pytest selftests`, `pytest --co`)
pays for no numpy, scipy, rapidfuzz, torch or provider SDK. Everything a run needs is imported in
`pytest_configure`, once a run config is given.
"""

from __future__ import annotations

from typing import Any

import pytest

SESSION_KEY = pytest.StashKey[Any]()  # the NejumiSession of this process
REPORT_KEY = pytest.StashKey[Any]()  # the RunReport (controller, or the only process)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspec

    pluginmanager.add_hookspecs(hookspec)


@pytest.hookimpl
def pytest_nejumi_families() -> list[Any]:
    from .registry import installed_families

    return installed_families()  # jaster, MT-Bench and every family an installed package declares


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
    if config.getoption("model_config"):
        from .start import start_run

        start_run(config, SESSION_KEY, REPORT_KEY)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Said before any item runs: what the run found that the user should know (e.g. earlier answers gone)."""
    session = config.stash.get(SESSION_KEY, None)
    return [f"nejumi: WARNING: {warning}" for warning in session.warnings] if session is not None else []


def pytest_sessionfinish(session: pytest.Session) -> None:
    """xdist workers: hand what they selected and their backend call counts to the controller."""
    nejumi = session.config.stash.get(SESSION_KEY, None)
    if nejumi is not None and hasattr(session.config, "workeroutput"):
        from .start import worker_output

        session.config.workeroutput.update(worker_output(nejumi))


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from .items import BENCHMARK_ATTR, CASE_PARAM

    benchmark = getattr(metafunc.function, BENCHMARK_ATTR, None) if CASE_PARAM in metafunc.fixturenames else None
    session = metafunc.config.stash.get(SESSION_KEY, None)
    if benchmark is None or session is None:
        return  # a benchmark without a config is reported once, at pytest_collection_modifyitems
    cases = session.plan(benchmark)
    metafunc.parametrize(CASE_PARAM, cases, ids=[c.id for c in cases])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop benchmark functions with nothing selected (before -k and xdist)."""
    from .items import case_of, is_benchmark

    if SESSION_KEY not in config.stash:
        if any(is_benchmark(item) for item in items):
            raise pytest.UsageError(
                "benchmarks need a run config: pytest benchmarks --model-config configs/config.yaml"
            )
        return
    nejumi = config.stash[SESSION_KEY]
    blend_only = nejumi.blend_only
    kept, dropped = [], []
    for item in items:
        case = case_of(item)
        if is_benchmark(item) and (case is None or blend_only):
            dropped.append(item)  # an empty parameter set (a switched-off dataset), or a blend-only run
            continue
        kept.append(item)
        if case is not None and hasattr(case, "keyword"):
            item.extra_keyword_matches.add(case.keyword)  # `-k mmlu_en_anatomy` selects a subject
    nejumi.switched_off_items = len(dropped)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k/-m and every other deselection: remember which cases this process will run, batch by batch, and
    stop before any item when an API key is missing or a blend cannot be done."""
    nejumi = session.config.stash.get(SESSION_KEY, None)
    if nejumi is not None:
        from .start import collected

        collected(session, nejumi, session.config.stash.get(REPORT_KEY, None))


@pytest.fixture(scope="session")
def nejumi_session(pytestconfig: pytest.Config) -> Any:
    """The run's session (config, stores, engines), shared by every item of this process."""
    session = pytestconfig.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.fail("benchmarks need a config: pytest benchmarks --model-config configs/config.yaml", pytrace=False)
    return session

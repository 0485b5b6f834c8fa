"""The pytest plugin: options, collection, the session fixture, and the controller's report. Hooks only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .benchmark import JASTER_ATTR, BrokenCase, module_group
from .config import ConfigError, load_config
from .report import RunReport
from .session import NejumiSession
from .tasks.jaster.cases import JasterCase, plan_cases
from .tasks.jaster.data import DataError

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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """With `-n N`, send each dataset's items to one worker so its batch is generated once (xdist loadgroup)."""
    if config.getoption("model_config") and getattr(config.option, "numprocesses", None):
        if getattr(config.option, "dist", "no") == "no":
            config.option.dist = "loadgroup"


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("model_config")
    if not path:
        return
    try:
        cfg = load_config(path, config.getoption("nejumi_set"))
    except ConfigError as err:
        raise pytest.UsageError(str(err)) from None
    output_dir = Path(config.invocation_params.dir, config.getoption("output_dir")).resolve()
    session = NejumiSession(cfg, output_dir)
    config.stash[SESSION_KEY] = session
    if not hasattr(config, "workerinput"):  # the controller (or the only process) builds the report
        report = RunReport(session)
        config.stash[REPORT_KEY] = report
        config.pluginmanager.register(report, "nejumi-report")


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    datasets = getattr(metafunc.function, JASTER_ATTR, None)
    if datasets is None:
        return
    session = metafunc.config.stash.get(SESSION_KEY, None)
    if session is None:
        raise pytest.UsageError("benchmarks need a config: pytest benchmarks --model-config configs/config.yaml")
    cases: list[Any] = []
    for name in datasets:
        try:
            cases += plan_cases((name,), session.cfg, session.layout)
        except (DataError, ConfigError, ValueError) as err:
            cases.append(BrokenCase(name, str(err)))
    ids = [f"{c.dataset}-data-error" if isinstance(c, BrokenCase) else c.id for c in cases]
    metafunc.parametrize("jaster_case", cases, ids=ids)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop benchmark functions with nothing selected; group each module's items (xdist) and remember them."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return
    kept, dropped = [], []
    for item in items:
        if not hasattr(getattr(item, "function", None), JASTER_ATTR):
            kept.append(item)
            continue
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("jaster_case") if callspec else None
        if not isinstance(case, (JasterCase, BrokenCase)):
            dropped.append(item)  # an empty parameter set: this dataset is switched off
            continue
        kept.append(item)
        module = module_group(item)
        item.add_marker(pytest.mark.xdist_group(module))  # with -n N a module's items go to one worker
        item.extra_keyword_matches.add(case.dataset)  # `-k mmlu_en_anatomy` selects a subject
        if isinstance(case, JasterCase):
            session.selected[module].append(case)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def nejumi_session(pytestconfig: pytest.Config) -> NejumiSession:
    """The run's session (config, stores, engine), shared by every item of this process."""
    session = pytestconfig.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.fail("benchmarks need a config: pytest benchmarks --model-config configs/config.yaml", pytrace=False)
    return session

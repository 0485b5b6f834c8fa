"""What a benchmark module calls: `test_jnli = jaster_benchmark("jnli")` or `test_mtbench_ja = mtbench_benchmark("ja")`
is a whole benchmark module. The plugin parametrizes the returned function at collection, so adding a dataset never
touches the plugin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .tasks.jaster.cases import JasterCase
from .tasks.jaster.datasets import get_spec
from .tasks.mtbench.cases import LANGUAGES, MtbenchCase

BENCHMARK_ATTR = "_nejumi_benchmark"
CASE_PARAM = "case"
DATA_ERROR_TASK = "jaster_data"  # jaster failures that belong to no single task make every jaster task incomplete

Case = JasterCase | MtbenchCase


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark function evaluates: jaster datasets, or one MT-Bench language."""

    kind: str  # "jaster" or "mtbench"
    names: tuple[str, ...]


@dataclass(frozen=True)
class BrokenCase:
    """Stands in for a dataset whose items could not even be planned (unreadable data); its item fails."""

    name: str
    message: str
    task: str = DATA_ERROR_TASK

    @property
    def id(self) -> str:
        return f"{self.name}-data-error"


def module_group(item: pytest.Item) -> str:
    """The batch (and xdist group) an item belongs to: its benchmark module."""
    return item.nodeid.split("::", 1)[0]


def _benchmark_function(benchmark: Benchmark) -> Callable[..., None]:
    def test(case: Any, nejumi_session: Any, request: pytest.FixtureRequest) -> None:
        if isinstance(case, BrokenCase):
            request.node.user_properties.append(("nejumi_task", case.task))
            pytest.fail(case.message, pytrace=False)
        nejumi_session.run_case(case, request.node)

    setattr(test, BENCHMARK_ATTR, benchmark)
    return test


def jaster_benchmark(*datasets: str) -> Callable[..., None]:
    """A test function with one item per (dataset, shot setting, split, sample) that the config selects."""
    for name in datasets:
        get_spec(name)  # a typo fails at import, naming the dataset
    return _benchmark_function(Benchmark("jaster", tuple(datasets)))


def mtbench_benchmark(language: str) -> Callable[..., None]:
    """A test function with one item per MT-Bench question of `language` (both turns and their judgments)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown MT-Bench language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return _benchmark_function(Benchmark("mtbench", (language,)))


def is_benchmark(item: pytest.Item) -> bool:
    """Whether the item belongs to a benchmark function."""
    return hasattr(getattr(item, "function", None), BENCHMARK_ATTR)


def case_of(item: pytest.Item) -> Case | BrokenCase | None:
    """The case a benchmark item runs (None for an empty parameter set or a foreign item)."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get(CASE_PARAM) if callspec and is_benchmark(item) else None
    return case if isinstance(case, (JasterCase, MtbenchCase, BrokenCase)) else None

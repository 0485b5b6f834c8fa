"""What a benchmark module calls: `test_jnli = jaster_benchmark("jnli")`, `test_mtbench_ja = mtbench_benchmark("ja")`,
or, for any family, `test_x = benchmark("family", "name")` — a whole benchmark module. The plugin parametrizes the
returned function at collection with the family's cases, so adding a dataset or a family never touches the plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .family import Broken

BENCHMARK_ATTR = "_nejumi_benchmark"
CASE_PARAM = "case"


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark function evaluates: names its family understands (datasets, a language)."""

    family: str
    names: tuple[str, ...]


def module_of(item: pytest.Item) -> str:
    """The module an item belongs to (its xdist unit of work, and its batch under xdist)."""
    return item.nodeid.split("::", 1)[0]


def benchmark(family: str, *names: str) -> Callable[..., None]:
    """A test function with one item per case that `family` plans for `names` under the run's config."""

    def test(case: Any, nejumi_session: Any, request: pytest.FixtureRequest) -> None:
        from .session import CASE_ERRORS, as_data, counted_tasks

        request.node.user_properties.append(("nejumi_tasks", list(counted_tasks(case))))
        if isinstance(case, Broken):
            pytest.fail(case.message, pytrace=False)
        try:
            scored = nejumi_session.run_case(case, nejumi_session.batch_key(module_of(request.node)))
        except CASE_ERRORS as err:
            failure: str | None = f"{case.key}: {err}"
        else:
            failure = None
        if failure is not None:  # outside the except block: the report shows the message, not a traceback chain
            pytest.fail(failure, pytrace=False)
        request.node.user_properties.append(("nejumi", as_data(scored)))

    setattr(test, BENCHMARK_ATTR, Benchmark(family, tuple(names)))
    return test


def is_benchmark(item: pytest.Item) -> bool:
    """Whether the item belongs to a benchmark function."""
    return hasattr(getattr(item, "function", None), BENCHMARK_ATTR)


def case_of(item: pytest.Item) -> Any:
    """The case a benchmark item runs (None for an empty parameter set or a foreign item)."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get(CASE_PARAM) if callspec and is_benchmark(item) else None
    return case if isinstance(case, Broken) or (hasattr(case, "key") and hasattr(case, "task")) else None

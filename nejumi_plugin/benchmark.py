"""What a benchmark module calls: `test_jnli = jaster_benchmark("jnli")` is a whole benchmark module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from .tasks.jaster.cases import JasterCase
from .tasks.jaster.datasets import get_spec

JASTER_ATTR = "_nejumi_jaster_datasets"
DATA_ERROR_TASK = "jaster_data"  # failures that belong to no single task make every jaster task incomplete


@dataclass(frozen=True)
class BrokenCase:
    """Stands in for a dataset whose items could not even be planned (unreadable data); its item fails."""

    dataset: str
    message: str


def module_group(item: pytest.Item) -> str:
    """The batch (and xdist group) an item belongs to: its benchmark module."""
    return item.nodeid.split("::", 1)[0]


def jaster_benchmark(*datasets: str) -> Callable[..., None]:
    """A test function with one item per (dataset, shot setting, split, sample) that the config selects.

    The plugin parametrizes it at collection (`pytest_generate_tests`), so adding a dataset never touches the plugin.
    """
    for name in datasets:
        get_spec(name)  # a typo fails at import, naming the dataset

    def test(jaster_case: Any, nejumi_session: Any, request: pytest.FixtureRequest) -> None:
        if isinstance(jaster_case, BrokenCase):
            request.node.user_properties.append(("nejumi_task", DATA_ERROR_TASK))
            pytest.fail(jaster_case.message, pytrace=False)
        nejumi_session.run_jaster_case(jaster_case, request.node)

    setattr(test, JASTER_ATTR, tuple(datasets))
    return test


def is_benchmark(item: pytest.Item) -> bool:
    """Whether the item belongs to a `jaster_benchmark` function."""
    return hasattr(getattr(item, "function", None), JASTER_ATTR)


def case_of(item: pytest.Item) -> JasterCase | BrokenCase | None:
    """The case a benchmark item runs (None for an empty parameter set or a foreign item)."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("jaster_case") if callspec and is_benchmark(item) else None
    return case if isinstance(case, (JasterCase, BrokenCase)) else None

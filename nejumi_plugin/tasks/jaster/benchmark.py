"""jaster's benchmark modules: `test_jnli = jaster_benchmark("jnli")` is the whole of
`benchmarks/jaster/test_jnli.py`."""

from __future__ import annotations

from collections.abc import Callable

from ...items import benchmark
from .datasets import get_spec


def jaster_benchmark(*datasets: str) -> Callable[..., None]:
    """A test function with one item per (dataset, shot setting, split, sample) that the config selects."""
    for name in datasets:
        get_spec(name)  # a typo fails at import, naming the dataset
    return benchmark("jaster", *datasets)

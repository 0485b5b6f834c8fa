"""MT-Bench's benchmark modules: `test_mtbench_ja = mtbench_benchmark("ja")` is a whole module."""

from __future__ import annotations

from collections.abc import Callable

from ...items import benchmark
from .names import LANGUAGES


def mtbench_benchmark(language: str) -> Callable[..., None]:
    """A test function with one item per MT-Bench question of `language` (both turns and their judgments)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown MT-Bench language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return benchmark("mtbench", language)

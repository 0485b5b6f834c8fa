"""nejumi: a pytest-native harness that scores LLMs for the Nejumi Leaderboard Neo.

A benchmark module is one line: `test_jnli = jaster_benchmark("jnli")`, `test_mtbench_ja = mtbench_benchmark("ja")`,
or `test_x = benchmark("<family>", "<name>")` for a family of one's own (docs/extending.md). The names are imported
when first used, so loading the pytest plugin imports no benchmark family.
"""

from __future__ import annotations

from typing import Any

__all__ = ["benchmark", "jaster_benchmark", "mtbench_benchmark"]
_HOMES = {
    "benchmark": ".items",
    "jaster_benchmark": ".tasks.jaster.benchmark",
    "mtbench_benchmark": ".tasks.mtbench.benchmark",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_HOMES[name], __name__), name)

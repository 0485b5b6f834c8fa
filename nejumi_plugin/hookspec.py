"""The hooks through which a run is extended, from a `conftest.py` or a plugin (see docs/extending.md).

- `pytest_nejumi_families`: the benchmark families a run knows. The plugin's own implementation returns jaster and
  MT-Bench; a conftest returns a team's own family the same way.
- `pytest_nejumi_meta`: the row's meta is assembled; add to it before `leaderboard.json` is written.
- `pytest_nejumi_sink`: the run directory is written (the row, the tables, the stores); put the run somewhere else too.
  The built-in report page and W&B are sinks; a team adds a database or a chat message the same way. A sink that
  raises is said in the summary and makes the run incomplete; the other sinks still run.
- `pytest_nejumi_summary`: lines for the terminal summary, after the families' score grids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .family import Family
    from .outcome import FinishedRun


@pytest.hookspec
def pytest_nejumi_families() -> list[Family]:  # type: ignore[empty-body]
    """Fresh family objects (each keeps its caches for one run); the lists of every implementation are joined."""


@pytest.hookspec
def pytest_nejumi_meta(meta: dict[str, Any], run: FinishedRun) -> None:
    """Add keys to the row's `meta` (what it was measured with) before `leaderboard.json` is written."""


@pytest.hookspec
def pytest_nejumi_sink(run: FinishedRun) -> None:
    """Put the finished run somewhere (the run directory is already written; `run.media` gathers files for the
    sinks after this one, e.g. the report page for W&B)."""


@pytest.hookspec
def pytest_nejumi_summary(run: FinishedRun) -> list[str]:  # type: ignore[empty-body]
    """Lines for the terminal summary, after the score grids."""

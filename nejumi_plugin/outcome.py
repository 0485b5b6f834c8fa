"""A finished run as the sinks get it: its row, tables and meta, the tasks built, and where it was written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .blend import Blended
    from .config import RunConfig
    from .family import Built, Family, Table
    from .sinks.wandb_sink import WandbTarget


@dataclass
class FinishedRun:
    """What `pytest_nejumi_sink` implementations receive (and what `pytest_nejumi_meta` sees while the meta is
    assembled)."""

    cfg: RunConfig
    run_dir: Path
    row: Table  # the one-row leaderboard: {"columns", "data"}
    tables: dict[str, Table]  # every table under its Neo name (blended ones included)
    built: list[Built]  # this run's tasks
    blended: Blended
    families: list[Family]
    target: WandbTarget  # where W&B logs it
    meta: dict[str, Any] = field(default_factory=dict)
    media: list[Path] = field(default_factory=list)  # files a sink made for the sinks after it (report, charts)
    say: Callable[[str], None] = print  # a line for the terminal summary

    @property
    def board(self) -> dict[str, Any]:
        """`leaderboard.json`: the row and its meta."""
        return {**self.row, "meta": self.meta}

"""A pytest plugin for child sessions (`-p break_wandb`): W&B's `init` fails as an unreachable service does."""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    import wandb

    def unreachable(**kwargs: Any) -> None:
        raise ConnectionError("api.wandb.ai unreachable")

    wandb.init = unreachable

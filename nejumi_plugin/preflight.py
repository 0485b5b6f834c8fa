"""What can be checked without the model is checked when the run starts, before anything is paid for: a mistake
found here costs nothing, one found after the last item costs the whole run."""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping, Sequence

from .blend import BlendRequest
from .config import ConfigError, RunConfig
from .data_source import wandb_mode
from .family import Family
from .gate import matching_columns

ANTHROPIC_MIN_THINKING = 1024  # the Messages API refuses a smaller thinking budget


def check_reasoning(cfg: RunConfig) -> None:
    """A thinking budget the provider would refuse on every request is said now."""
    blocks = (
        ("model.reasoning", cfg.model.api, cfg.model.reasoning),
        ("mtbench.judge.reasoning", cfg.mtbench.judge.api, cfg.mtbench.judge.reasoning),
    )
    for key, api, block in blocks:
        if api == "anthropic" and block.mode == "on" and block.budget_tokens < ANTHROPIC_MIN_THINKING:
            raise ConfigError(
                f"{cfg.source_path}: {key}.budget_tokens: Anthropic's extended thinking takes at least "
                f"{ANTHROPIC_MIN_THINKING} tokens (got {block.budget_tokens})"
            )


def check_wandb(cfg: RunConfig) -> None:
    """A run that is to be logged to W&B needs wandb installed (else it would end unlogged, after all its items)."""
    mode = wandb_mode(cfg)
    if mode != "disabled" and importlib.util.find_spec("wandb") is None:
        raise ConfigError(
            f"{cfg.source_path}: wandb.mode: {mode}, but wandb is not installed: pip install "
            "'nejumi[wandb]', or set wandb.mode: disabled (or WANDB_MODE=disabled)"
        )


def reachable_columns(
    cfg: RunConfig, families: Sequence[Family], requests: Sequence[BlendRequest] = ()
) -> list[str] | None:
    """Every leaderboard column the tasks this config switches on (and the blends it asks for) can produce; None
    when a family cannot say (then any key may be right)."""
    enabled = [(family, task) for family in families for task in family.enabled(cfg)]
    evaluated = {task.name for _, task in enabled}
    by_blend = {t.blend_name: (f, t) for f in families for t in f.tasks(cfg)}
    blended = [by_blend[name] for r in requests for name in (r.tasks or by_blend) if name in by_blend]
    columns: list[str] = []
    for family, task in [*enabled, *((f, t) for f, t in blended if t.name not in evaluated)]:
        block = family.columns(task, cfg)
        if not block:
            return None
        extra = ["model_name"] if task.name not in evaluated else []  # Neo renames a blended block's model_name too
        columns += [task.column(c) for c in [*block, *extra]]
    return columns


def check_bounds(
    cfg: RunConfig, bounds: Mapping[str, float], families: Sequence[Family], requests: Sequence[BlendRequest] = ()
) -> None:
    """A `--fail-under` key that no column of this run can match is a typo: said now, not after the run."""
    columns = reachable_columns(cfg, families, requests)
    if columns is None:
        return
    for key in bounds:
        if not matching_columns(key, columns):
            names = {"_".join(c.split("_")[:n]) for c in columns for n in range(1, c.count("_") + 2)}  # as keys go
            close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(
                f"--fail-under / report.fail_under: {key!r} matches no score of the tasks this run "
                f"evaluates or blends{hint}"
            )


def check_families(cfg: RunConfig, families: Sequence[Family]) -> None:
    """What each family can check of the config without the model (e.g. jaster's prompt templates)."""
    for family in families:
        family.check(cfg)

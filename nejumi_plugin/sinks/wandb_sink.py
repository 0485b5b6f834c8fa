"""The W&B sink: the run config (secrets removed), the config file as artifact `config`, every table under its Neo
name and `leaderboard_table` at the end — after the run directory is complete, so W&B can never lose a result.

`wandb.mode` (or `WANDB_MODE`) chooses online, offline or disabled. Online without an API key becomes offline, and
the summary says how to `wandb sync` the run later. The W&B files go to `<run dir>/wandb/`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..data_source import wandb_mode

Table = Mapping[str, Any]


class WandbError(Exception):
    """The run could not be logged to W&B (the run directory already holds all of it)."""


@dataclass(frozen=True)
class WandbTarget:
    """Where a run is logged (Neo's `wandb.*`, or `new_run` for a blend-only run)."""

    entity: str
    project: str
    name: str


@dataclass(frozen=True)
class WandbResult:
    mode: str  # "online" or "offline"
    run_dir: Path | None  # the local W&B run folder (offline: what `wandb sync` takes)
    url: str | None  # online: the run's page
    note: str = ""


def public_config(cfg: RunConfig) -> dict[str, Any]:
    """The config as logged: keys only live in the environment, and `to_public_dict` scrubs the rest."""
    return cfg.to_public_dict()


def _config_artifact(wandb: Any, cfg: RunConfig, staging: Path) -> Any:
    """The config file as artifact `config`, as Neo logs it, but scrubbed like every other copy (see `redact`)."""
    from ..redact import redact_yaml

    source = Path(cfg.source_path) if cfg.source_path else None
    text = source.read_text(encoding="utf-8") if source else ""
    copy_path = staging / (source.name if source else "config.yaml")
    copy_path.parent.mkdir(parents=True, exist_ok=True)
    copy_path.write_text(redact_yaml(text) if text else "", encoding="utf-8")
    artifact = wandb.Artifact("config", type="config")
    artifact.add_file(str(copy_path), name=copy_path.name)
    return artifact


_BAD_NAME_CHARS = "/\\#?%:"


def target_problem(cfg: RunConfig, target: WandbTarget) -> str | None:
    """A W&B entity/project name that wandb would refuse at the end of the run, said at its start instead."""
    if wandb_mode(cfg) == "disabled":
        return None
    for key, value in (("wandb.entity", target.entity), ("wandb.project", target.project)):
        bad = sorted({c for c in value if c in _BAD_NAME_CHARS})
        if bad:
            return (
                f"{cfg.source_path}: {key}: {value!r} is not a W&B name (it cannot contain {' '.join(bad)}); "
                "set your entity and project, or wandb.mode: disabled"
            )
    return None


def has_api_key() -> bool:
    """Whether wandb can authenticate: `WANDB_API_KEY`, or a netrc entry for the W&B host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth

        return bool(read_netrc_auth(host=os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")))
    except Exception:  # an internal of wandb's: if it moved, assume no key (offline is safe)
        return False


def _table(wandb: Any, table: Table) -> Any:
    return wandb.Table(columns=list(table["columns"]), data=[list(row) for row in table["data"]])


def log_run(
    cfg: RunConfig,
    run_dir: Path,
    tables: Mapping[str, Table],
    leaderboard: Table,
    target: WandbTarget,
    say: Callable[[str], None],
    media: Sequence[Path] = (),
) -> WandbResult | None:
    """Log the finished run (None when W&B is disabled); what happened is said. Raises WandbError when it could not
    be logged: the run directory holds everything, and the run is then not complete."""
    mode = wandb_mode(cfg)
    if mode == "disabled":
        return None
    try:
        import wandb
    except ImportError:
        raise WandbError(
            f"W&B: not logged, wandb is not installed (pip install 'nejumi[wandb]', or wandb.mode: "
            f"disabled); the results are in {run_dir}"
        ) from None
    note = ""
    if mode == "online" and not has_api_key():
        mode, note = "offline", "no W&B API key (wandb login, or WANDB_API_KEY), so the run was saved offline"
    try:
        run = wandb.init(
            entity=target.entity,
            project=target.project,
            name=target.name,
            config=public_config(cfg),
            job_type="evaluation",
            mode=mode,
            dir=str(run_dir),
            settings=wandb.Settings(console="off", silent=True),
        )
        run.log_artifact(_config_artifact(wandb, cfg, run_dir / "wandb" / "config-scrubbed"))
        for name, table in tables.items():
            run.log({name: _table(wandb, table)})
        run.log({"leaderboard_table": _table(wandb, leaderboard)})
        if media:  # report.html and the radar charts
            from .html_report import report_media

            run.log(report_media(wandb, media))
        url, files = getattr(run, "url", None), Path(run.dir).parent
        run.finish()
    except Exception as err:  # network, auth, quota...: the run directory already holds everything
        raise WandbError(f"W&B logging failed ({type(err).__name__}: {err}); the results are in {run_dir}") from None
    result = WandbResult(mode, files, url if mode == "online" else None, note)
    if mode == "offline":
        say(f"W&B: saved offline in {files}{f' ({note})' if note else ''}; upload it later with: wandb sync {files}")
    else:
        say(f"W&B: {url}")
    return result

"""Where the data and the model come from: a local path, or a W&B artifact when W&B is online."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, cast

from .config import ConfigError, RunConfig
from .models.embedded import EMBEDDED_PREFIX
from .models.embedded import resolve_model_path as resolve_embedded

WandbMode = Literal["online", "offline", "disabled"]  # what `wandb.init(mode=...)` takes of ours


def wandb_mode(cfg: RunConfig) -> WandbMode:
    """`WANDB_MODE` from the environment wins over `wandb.mode`, as in the wandb SDK ("dryrun" means offline)."""
    mode = os.environ.get("WANDB_MODE") or cfg.wandb.mode
    return "offline" if mode == "dryrun" else cast(WandbMode, mode)


_LOCAL_COPY = (
    "set it to null and point llm_jp_eval.dataset_dir (or model.pretrained_model_name_or_path) at a local copy"
)


def download_artifact(path: str, kind: str, key: str, cfg: RunConfig, local_hint: str = _LOCAL_COPY) -> Path:
    """Download W&B artifact `path` (entity/project/name:version) and return its local folder."""
    mode = wandb_mode(cfg)
    if mode != "online":
        raise ConfigError(
            f"{cfg.source_path}: {key}: the W&B artifact {path!r} cannot be fetched while W&B is {mode}; {local_hint}"
        )
    try:
        import wandb
    except ImportError:
        raise ConfigError(
            f"{cfg.source_path}: {key}: fetching W&B artifacts needs wandb: pip install 'nejumi[wandb]'"
        ) from None
    try:
        return Path(wandb.Api().artifact(path, type=kind).download())
    except Exception as err:  # wandb raises many types (auth, network, not found)
        raise ConfigError(
            f"{cfg.source_path}: {key}: could not fetch W&B artifact {path!r}: {err}; "
            f"check `wandb login` and the artifact path; or {local_hint}"
        ) from None


def local_or_artifact(cfg: RunConfig, value: str, key: str, kind: str = "dataset") -> Path:
    """A config value that names data: an existing local folder (relative to the config file's folder) is read
    from disk; anything else is a W&B artifact name, downloaded when W&B is online."""
    local = Path(os.path.expanduser(value))
    if not local.is_absolute():
        local = cfg.base_dir / local
    if local.is_dir():
        return local.resolve()
    if ":" not in value or value.count("/") != 2:
        raise ConfigError(
            f"{cfg.source_path}: {key}: {value!r} is neither a local folder ({local} does not exist) nor a W&B "
            "artifact name (entity/project/name:version)"
        )
    return download_artifact(value, kind, key, cfg, "set it to a local folder holding a copy of the files")


def resolve_model_path(cfg: RunConfig) -> str:
    """A local folder, a hub id, an `embedded:` model, or the folder of `model.artifacts_path` (W&B)."""
    m = cfg.model
    if m.use_wandb_artifacts and m.artifacts_path:
        return str(download_artifact(m.artifacts_path, "model", "model.artifacts_path", cfg))
    name = m.pretrained_model_name_or_path
    if not name:
        raise ConfigError(
            f"{cfg.source_path}: model.pretrained_model_name_or_path: required (a local folder or hub id)"
        )
    return resolve_local_model(cfg, name)


def resolve_local_model(cfg: RunConfig, name: str) -> str:
    """An `embedded:` model's folder, a local folder (relative to the config file's folder), or a hub id as is."""
    if name.startswith(EMBEDDED_PREFIX):
        return resolve_embedded(name)
    local = cfg.base_dir / os.path.expanduser(name)
    return str(local.resolve()) if not Path(name).is_absolute() and local.exists() else name

"""Where jaster's files are: the `test` folder of llm-jp-eval's evaluation layout, local or in a W&B artifact."""

from __future__ import annotations

import os
from pathlib import Path

from ...config import ConfigError, RunConfig
from ...data_source import download_artifact


def resolve_dataset_dir(cfg: RunConfig) -> Path:
    """The jaster `test` folder: inside the downloaded `dataset_artifact`, else `dataset_dir` itself (a local
    folder, or a W&B artifact name).

    A relative local `dataset_dir` is taken relative to the config file's folder.
    """
    ev = cfg.llm_jp_eval
    key = "llm_jp_eval.dataset_dir"
    if ev.dataset_artifact:
        root = download_artifact(ev.dataset_artifact, "dataset", "llm_jp_eval.dataset_artifact", cfg)
        path = root / (ev.dataset_dir or "").lstrip("/")
    elif not ev.dataset_dir:
        raise ConfigError(f"{cfg.source_path}: {key}: required when llm_jp_eval.dataset_artifact is null")
    else:
        path = Path(os.path.expanduser(ev.dataset_dir))
        if not path.is_absolute():
            path = cfg.base_dir / path
        if not path.is_dir() and ":" in ev.dataset_dir and ev.dataset_dir.count("/") == 2:
            path = download_artifact(ev.dataset_dir, "dataset", key, cfg, "set it to a local folder")
    if not path.is_dir():
        raise ConfigError(
            f"{cfg.source_path}: {key}: {path} is not a folder; it must be the 'test' folder of llm-jp-eval's "
            "evaluation layout (…/evaluation/test, with train/ and dev/ beside it)"
        )
    return path.resolve()

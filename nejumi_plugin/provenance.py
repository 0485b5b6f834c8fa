"""What a row was measured with, beyond the config: the harness commit, the backends' identities, data digests."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def harness_commit() -> str | None:
    """The git commit of the harness checkout (a `-dirty` suffix when it has uncommitted changes), if it is one."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            check=False,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def file_digests(paths: Mapping[str, str | Path]) -> dict[str, dict[str, str]]:
    """`{name: {"path", "sha256"}}` of some data files."""
    return {
        name: {"path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
        for name, path in paths.items()
    }


def provenance(
    model: Mapping[str, Any] | None, judge: Mapping[str, Any] | None, files: Mapping[str, Any]
) -> dict[str, Any]:
    """The `meta.provenance` block of `leaderboard.json`: the harness commit, the backends' identities, and each
    family's data file digests (`jaster_files`, `mtbench_files`)."""
    return {
        "harness_commit": harness_commit(),
        "model_backend": dict(model) if model else None,
        "judge_backend": dict(judge) if judge else None,
        **files,
    }

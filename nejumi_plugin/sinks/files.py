"""The run directory: `tables/<name>.json` and `leaderboard.json` (README.md "Files a run leaves behind")."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_json(path: Path, obj: Any) -> None:
    """Write atomically (temp file + rename): an interrupted write never leaves half a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_run(run_dir: Path, tables: Mapping[str, Mapping[str, Any]], leaderboard: Mapping[str, Any]) -> None:
    """Every table under `tables/`, then the one-row leaderboard with its `meta`."""
    for name, tbl in tables.items():
        write_json(run_dir / "tables" / f"{name}.json", tbl)
    write_json(run_dir / "leaderboard.json", leaderboard)


def read_board(run_dir: Path) -> dict[str, Any] | None:
    """The run directory's `leaderboard.json`, None when it has none (or one that cannot be read)."""
    path = run_dir / "leaderboard.json"
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return board if isinstance(board, dict) else None

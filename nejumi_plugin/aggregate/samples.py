"""A run directory read back: its tables and its leaderboard (what intervals, the report and `compare` work from)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Table = Mapping[str, Any]  # {"columns": [...], "data": [[...], ...]}
Row = Mapping[str, Any]


def rows_of(table: Table) -> list[dict[str, Any]]:
    """A `{"columns", "data"}` table as one dict per row."""
    columns = list(table["columns"])
    return [dict(zip(columns, row)) for row in table["data"]]


def read_tables(run_dir: Path) -> dict[str, Table]:
    """Every `tables/<name>.json` of a run directory, by name."""
    folder = Path(run_dir) / "tables"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no tables folder (is {run_dir} a nejumi run directory?)")
    tables: dict[str, Table] = {}
    for path in sorted(folder.glob("*.json")):
        table = _read_json(path)
        if not isinstance(table, dict) or "columns" not in table or "data" not in table:
            raise ValueError(f'{path}: not a table (expected {{"columns": [...], "data": [[...]]}})')
        tables[path.stem] = table
    return tables


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def read_leaderboard(run_dir: Path) -> dict[str, Any]:
    """`leaderboard.json` of a run directory (columns, data, meta)."""
    path = Path(run_dir) / "leaderboard.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no leaderboard.json (is {run_dir} a finished nejumi run directory?)")
    board = _read_json(path)
    if not isinstance(board, dict) or "columns" not in board or not board.get("data"):
        raise ValueError(f"{path}: not a leaderboard table (expected columns, data and meta)")
    return board

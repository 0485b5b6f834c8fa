"""The run-directory sink writes every table and the row atomically."""

from __future__ import annotations

import json
from pathlib import Path

from nejumi_plugin.sinks.files import write_json, write_run


def test_write_run_lays_out_tables_and_leaderboard(tmp_path: Path) -> None:
    table = {"columns": ["a"], "data": [["日本"]]}
    write_run(tmp_path / "run", {"jaster_leaderboard_table_ja_0shot": table}, {**table, "meta": {"complete": True}})
    assert json.loads((tmp_path / "run" / "tables" / "jaster_leaderboard_table_ja_0shot.json").read_text()) == table
    assert json.loads((tmp_path / "run" / "leaderboard.json").read_text())["meta"] == {"complete": True}
    assert "日本" in (tmp_path / "run" / "leaderboard.json").read_text(encoding="utf-8")  # readable, not \\u-escaped


def test_write_json_replaces_without_leftovers(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"v": 1})
    write_json(tmp_path / "x.json", {"v": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]

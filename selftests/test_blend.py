"""Blending pieces: Neo's task tables and renaming, the request syntax, conflicts, and the W&B API source.

The W&B cloud is unreachable here, so the API source runs against a stand-in for `wandb.Api` that serves recorded
artifact contents (`run-<id>-<table>:latest` holding `<table>.table.json`, as Neo's blend_run reads them); the HTTP
between wandb and its server is not exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin import blend, family
from nejumi_plugin.blend import BlendError, BlendRequest, LocalRun, Source, WandbApiRun, blend_tasks
from nejumi_plugin.config import RunConfig
from nejumi_plugin.registry import builtin_families

BOARD = {"columns": ["model_name", "coding", "AVG"], "data": [["m", 3.0, 3.0]]}
TASKS = blend_tasks(builtin_families(), RunConfig())  # Neo's blend task names -> the families' tasks


def task_tables(name: str) -> list[str]:
    return list(TASKS[name].tables)


def renamed_block(name: str, leaderboard: dict[str, Any]) -> dict[str, Any]:
    return family.renamed_block(TASKS[name], leaderboard)


def run_task(name: str) -> str:
    return TASKS[name].name


def parse_option(value: str) -> BlendRequest:
    return blend.parse_option(value, TASKS)


def plan(requests: list[BlendRequest], sources: dict[str, Source], evaluated: set[str]) -> dict[str, str]:
    return blend.plan(requests, sources, evaluated, TASKS)


def test_neo_tables_and_renaming() -> None:
    assert task_tables("jaster_ja_4_shot") == [
        "jaster_leaderboard_table_ja_4shot",
        "jaster_output_table_dev_ja_4shot",
        "jaster_output_table_ja_4shot",
        "jaster_radar_table_ja_4shot",
    ]
    assert task_tables("jaster_en_0_shot")[-1] == "jaster_output_table_en_0shot"  # no radar for en
    assert task_tables("mtbench_en") == [
        "mtbench_leaderboard_table_en",
        "mtbench_output_table_en",
        "mtbench_radar_table_en",
    ]
    assert renamed_block("mtbench_ja", BOARD) == {
        "model_name_MTbench_ja": "m",
        "coding_MTbench_ja": 3.0,
        "AVG_MTbench_ja": 3.0,
    }
    assert list(renamed_block("jaster_en_4_shot", BOARD)) == [
        "model_name_jaster_en_4shot",
        "coding_jaster_en_4shot",
        "AVG_jaster_en_4shot",
    ]
    assert run_task("jaster_ja_4_shot") == "jaster_ja_4shot" and run_task("mtbench_en") == "mtbench_en"


def test_option_syntax() -> None:
    assert parse_option("e/p/abc") == BlendRequest("e/p/abc")
    assert parse_option("outputs/run@mtbench_ja, jaster_ja_0_shot") == BlendRequest(
        "outputs/run", ("mtbench_ja", "jaster_ja_0_shot")
    )
    with pytest.raises(BlendError, match="unknown task mtbench_jp"):
        parse_option("e/p/abc@mtbench_jp")


def local_run(root: Path, *tables: str) -> LocalRun:
    for name in tables:
        path = root / "tables" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(BOARD), encoding="utf-8")
    return LocalRun(str(root), root)


def test_plan_refuses_a_task_from_two_sources_or_evaluated_here(tmp_path: Path) -> None:
    a = local_run(tmp_path / "a", "mtbench_leaderboard_table_ja", "jaster_leaderboard_table_ja_0shot")
    b = local_run(tmp_path / "b", "mtbench_leaderboard_table_ja")
    sources = {"a": a, "b": b}
    assert plan([BlendRequest("a")], sources, set()) == {"jaster_ja_0_shot": "a", "mtbench_ja": "a"}
    assert plan([BlendRequest("a")], sources, {"mtbench_ja"}) == {"jaster_ja_0_shot": "a"}  # evaluated here: skipped
    with pytest.raises(BlendError, match="task mtbench_ja is in both a and b"):
        plan([BlendRequest("a"), BlendRequest("b")], sources, set())
    assert plan([BlendRequest("a", ("jaster_ja_0_shot",)), BlendRequest("b")], sources, set()) == {
        "jaster_ja_0_shot": "a",
        "mtbench_ja": "b",
    }
    with pytest.raises(BlendError, match="task mtbench_ja is evaluated in this run and also asked of b"):
        plan([BlendRequest("b", ("mtbench_ja",))], sources, {"mtbench_ja"})
    with pytest.raises(BlendError, match="b: it has no jaster_leaderboard_table_ja_0shot"):
        plan([BlendRequest("b", ("jaster_ja_0_shot",))], sources, set())


class RecordedApi:
    """Stands in for `wandb.Api()`: artifacts by full name, each a folder of recorded files."""

    calls: list[str] = []

    def __init__(self, store: dict[str, dict[str, Any]], root: Path) -> None:
        self.store, self.root = store, root

    def __call__(self) -> RecordedApi:
        return self

    def artifact(self, name: str, type: str | None = None) -> Any:
        RecordedApi.calls.append(name)
        if name not in self.store:
            raise ValueError(f"artifact '{name}' not found in project")
        folder = self.root / name.replace("/", "_").replace(":", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for file, content in self.store[name].items():
            (folder / file).write_text(json.dumps(content), encoding="utf-8")
        return type_artifact(folder)


def type_artifact(folder: Path) -> Any:
    class Artifact:
        def download(self) -> str:
            return str(folder)

    return Artifact()


def test_old_runs_are_checked_as_neo_checks_them(tmp_path: Path) -> None:
    def requests(old_runs: list[dict[str, Any]], **switches: Any) -> list[BlendRequest]:
        cfg = RunConfig.model_validate({"run_chain": True, "old_runs": old_runs, **switches})
        return blend.blend_requests(cfg, [], tmp_path, TASKS)

    off = {"run_mt_bench_ja": False, "run_llm_jp_eval_ja_0_shot": False}
    assert [
        r.tasks
        for r in requests(
            [{"run_path": "e/p/a", "tasks": ["mtbench_ja"]}, {"run_path": "e/p/b", "tasks": ["jaster_ja_0_shot"]}],
            **off,
        )
    ] == [("mtbench_ja",), ("jaster_ja_0_shot",)]
    with pytest.raises(BlendError, match="task mtbench_ja: expected run_mt_bench_ja: false when it is inherited"):
        requests([{"run_path": "e/p/a", "tasks": ["mtbench_ja"]}])
    with pytest.raises(BlendError, match="e/p/b: task mtbench_ja is inherited twice"):
        requests(
            [{"run_path": "e/p/a", "tasks": ["mtbench_ja"]}, {"run_path": "e/p/b", "tasks": ["mtbench_ja"]}], **off
        )
    with pytest.raises(BlendError, match="task mtbench_fr is not one of this config's tasks"):
        requests([{"run_path": "e/p/a", "tasks": ["mtbench_fr"]}], **off)


def test_a_wandb_run_source_reads_neos_run_table_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    store = {
        "e/p/run-abc123-mtbench_leaderboard_table_ja:latest": {
            "mtbench_leaderboard_table_ja.table.json": {
                "columns": BOARD["columns"],
                "data": BOARD["data"],
                "_type": "table",
            }
        }
    }
    monkeypatch.setattr(wandb, "Api", RecordedApi(store, tmp_path))
    RecordedApi.calls = []
    source = WandbApiRun("e/p/abc123")
    assert source.has("mtbench_leaderboard_table_ja") and source.table("mtbench_leaderboard_table_ja") == BOARD
    assert not source.has("mtbench_output_table_ja")
    assert RecordedApi.calls == [
        "e/p/run-abc123-mtbench_leaderboard_table_ja:latest",
        "e/p/run-abc123-mtbench_output_table_ja:latest",
    ]  # each fetched once

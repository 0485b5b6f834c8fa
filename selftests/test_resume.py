"""Nothing lost, nothing paid twice: a run killed with SIGKILL resumes without asking any question twice, and
`--replay` rebuilds a run from its stored calls alone. The model and the judge are a counting OpenAI-compatible
server (scripted answers, so every run gives the same numbers)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import REPO, interruptible, invocations, load, mtbench_dataset
from scripted_judge import ScriptedJudge, serve

SELECT = ("-k", "jnli or mtbench_ja")  # 4 jaster items, 8 MT-Bench questions: 4 + 16 answers, 21 judge calls


def config(path: Path, url: str, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Path:
    served = {"api": "vllm", "base_url": url, "pretrained_model_name_or_path": "scripted", "concurrency": 1}
    cfg = {
        "testmode": True,
        "model_name": "scripted",
        "wandb": {"run_name": "run", "mode": "disabled"},
        "run_llm_jp_eval_ja_few_shots": False,
        "run_llm_jp_eval_en_0_shot": False,
        "run_llm_jp_eval_en_few_shots": False,
        "run_mt_bench_ja": True,
        "run_mt_bench_en": False,
        "model": served,
        "llm_jp_eval": {"dataset_artifact": None, "dataset_dir": str(tiny_jaster_dir)},
        "mtbench": {
            "max_new_token": 8,
            "custom_conv_template": True,
            "dataset": mtbench_dataset("ja"),
            "judge": {"api": "openai_compatible", "model": "judge", "base_url": url},
        },
    }
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def command(cfg: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "benchmarks"),
        "--model-config",
        str(cfg),
        "--output-dir",
        str(out),
        "-p",
        "no:cacheprovider",
        "-q",
        *SELECT,
        *extra,
    ]


def stored_calls(run_dir: Path) -> int:
    path = run_dir / "calls.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=5) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Iterator[Any]:
    """An uninterrupted run: its row, and how many distinct requests it made."""
    base = tmp_path_factory.mktemp("reference")
    server = ScriptedJudge()
    with serve(server) as url:
        cfg = config(base / "config.yaml", url, tiny_model_dir, tiny_jaster_dir)
        done = subprocess.run(command(cfg, base / "out"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    yield load(base / "out" / "run" / "leaderboard.json"), server.requests, base / "out" / "run", cfg


@pytest.mark.parametrize("kill_after", [2, 9, 30])  # during jaster, during MT-Bench answers, during judging
def test_a_killed_run_resumes_without_asking_anything_twice(
    kill_after: int, reference: Any, tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path
) -> None:
    board, distinct, _, _ = reference
    server = ScriptedJudge(hold_after=kill_after)
    with serve(server) as url:
        cfg = config(tmp_path / "config.yaml", url, tiny_model_dir, tiny_jaster_dir)
        run_dir = tmp_path / "out" / "run"
        proc = subprocess.Popen(command(cfg, tmp_path / "out"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not (server.holding.is_set() and stored_calls(run_dir) >= kill_after):
            assert time.monotonic() < deadline and proc.poll() is None, "the run never reached the kill point"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert server.requests == kill_after and stored_calls(run_dir) == kill_after
        server.hold_after = None
        server.release.set()
        again = subprocess.run(command(cfg, tmp_path / "out"), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:]
    assert server.requests == distinct  # every distinct request answered exactly once over both runs
    print(f"killed after {kill_after}: {server.requests} requests over both runs, {distinct} distinct, duplicates 0")
    resumed = load(run_dir / "leaderboard.json")
    assert resumed["columns"] == board["columns"] and resumed["data"] == board["data"]
    same = ("complete", "items", "tasks", "mtbench", "usage", "testmode")  # not the paths and ports of this test
    assert {k: resumed["meta"][k] for k in same} == {k: board["meta"][k] for k in same}
    (record,) = resumed["meta"]["invocations"]  # the killed invocation left no record: SIGKILL gives no chance
    made = sum(calls["made"] for calls in record["calls"].values())
    assert made == distinct - kill_after and sum(c["served"] for c in record["calls"].values()) >= kill_after


def test_replay_rebuilds_the_run_from_its_calls_and_names_a_missing_one(reference: Any) -> None:
    _, distinct, run_dir, cfg = reference  # its server is gone: replay must not need it
    tables = {p.name: p.read_bytes() for p in (run_dir / "tables").glob("*.json")}
    original = (run_dir / "leaderboard.json").read_bytes()
    started = time.perf_counter()
    replay = subprocess.run(command(cfg, run_dir.parent, "--replay"), capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    assert replay.returncode == 0, replay.stdout[-3000:]
    assert {p.name: p.read_bytes() for p in (run_dir / "tables").glob("*.json")} == tables  # byte for byte
    assert (run_dir / "leaderboard.json").read_bytes() == original  # meta included
    replayed = invocations(run_dir)[-1]
    assert replayed["replay"] is True and all(calls["made"] == 0 for calls in replayed["calls"].values())
    assert sum(calls["served"] for calls in replayed["calls"].values()) == distinct
    print(f"replay wall time: {wall:.1f} s")
    with sqlite3.connect(run_dir / "calls.sqlite") as conn:
        conn.execute("DELETE FROM calls WHERE rowid = (SELECT rowid FROM calls WHERE request LIKE '%前提%' LIMIT 1)")
    missing = subprocess.run(command(cfg, run_dir.parent, "--replay"), capture_output=True, text=True, timeout=600)
    assert missing.returncode == 1
    assert "1 failed" in missing.stdout and "--replay: jaster_ja_0shot/jnli/" in missing.stdout
    assert "has no stored call in" in missing.stdout


def test_a_shared_call_cache_serves_a_new_run_directory(
    tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path
) -> None:
    server = ScriptedJudge()
    cache = tmp_path / "shared-calls.sqlite"
    with serve(server) as url:
        cfg = config(tmp_path / "config.yaml", url, tiny_model_dir, tiny_jaster_dir)
        for out in ("first", "second"):
            done = subprocess.run(
                command(cfg, tmp_path / out, "--call-cache", str(cache), "-k", "jnli"),
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stdout[-3000:]
    assert server.requests == 4  # the second run directory was served from the shared cache
    assert not (tmp_path / "second" / "run" / "calls.sqlite").exists()
    first, second = (load(tmp_path / out / "run" / "leaderboard.json") for out in ("first", "second"))
    assert first["data"] == second["data"]


def test_a_damaged_store_stops_the_run_before_any_item(
    tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path
) -> None:
    cfg = config(tmp_path / "config.yaml", "http://127.0.0.1:9/v1", tiny_model_dir, tiny_jaster_dir)
    store = tmp_path / "out" / "run" / "calls.sqlite"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"half a database" * 300)
    done = subprocess.run(command(cfg, tmp_path / "out"), capture_output=True, text=True, timeout=600)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"{store}: not a usable store" in done.stderr and "move it aside" in done.stderr


def test_ctrl_c_under_concurrency_keeps_every_answer_it_paid_for(
    reference: Any, tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path
) -> None:
    """Ctrl-C while four requests are in flight: they are awaited and stored, the row is written marked incomplete,
    and the rerun asks only what was never answered."""
    board, distinct, _, _ = reference
    server = ScriptedJudge(delay_s=0.5)
    with serve(server) as url:
        cfg = config(tmp_path / "config.yaml", url, tiny_model_dir, tiny_jaster_dir)
        spec = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        spec["model"]["concurrency"] = 4
        cfg.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        run_dir = tmp_path / "out" / "run"
        proc = subprocess.Popen(
            command(cfg, tmp_path / "out"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **interruptible(),
        )
        deadline = time.monotonic() + 120
        while not (stored_calls(run_dir) >= 6 and server.in_flight >= 2):
            assert time.monotonic() < deadline and proc.poll() is None, "no point with requests in flight"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
        assert server.in_flight == 0 and server.requests == stored_calls(run_dir) < distinct, output[-3000:]
        partial = load(run_dir / "leaderboard.json")
        assert partial["meta"]["complete"] is False and invocations(run_dir)[-1]["exit"] == "interrupted"
        again = subprocess.run(command(cfg, tmp_path / "out"), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:]
    assert server.requests == distinct  # nothing asked twice, the answers in flight at Ctrl-C included
    assert load(run_dir / "leaderboard.json")["data"] == board["data"]

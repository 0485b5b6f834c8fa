"""The family seam, end to end: a family defined in test code alone (`exact_family.py`, registered from a
`conftest.py` next to its own benchmark module) gets items, stores, resume, Neo-style tables, a leaderboard block,
intervals, a report section, compare and blending; a sink and a meta hook from the same conftest see the run.
Every run is a fresh `pytest` interpreter against the mock provider, so nothing here can lean on import order.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e import invocations, load
from exact_family import ExactFamily

from nejumi_plugin.compare import compare_runs
from nejumi_plugin.config import load_config
from nejumi_plugin.store import ResultStore

SELFTESTS = Path(__file__).resolve().parent
CONFTEST = f"""
import json
import sys

sys.path.insert(0, {str(SELFTESTS)!r})
from exact_family import ExactFamily


def pytest_nejumi_families():
    return [ExactFamily()]


def pytest_nejumi_meta(meta, run):
    meta["team"] = {{"sink": "conftest"}}


def pytest_nejumi_sink(run):
    (run.run_dir / "our_sink.json").write_text(json.dumps(run.row), encoding="utf-8")
"""
BENCHMARK = """
from nejumi_plugin import benchmark

test_capitals = benchmark("exact", "capitals")
test_sums = benchmark("exact", "sums")
"""
RIGHT = {"Japan": "Tokyo", "France": "Paris", "Kenya": "Mombasa", "2\\+2": "4", "3\\+5": "8", "7\\+6": "13"}


def config(path: Path, run_name: str, answers: dict[str, str]) -> Path:
    rules = [{"match": f"^Question: {q}$", "answer": a} for q, a in answers.items()]
    cfg: dict[str, Any] = {
        "model_name": f"mock-{run_name}",
        "wandb": {"run_name": run_name, "mode": "disabled"},
        **{f"run_llm_jp_eval_{lang}_{shots}": False for lang in ("ja", "en") for shots in ("0_shot", "few_shots")},
        "run_mt_bench_ja": False,
        "run_mt_bench_en": False,
        "model": {"api": "mock", "pretrained_model_name_or_path": run_name, "options": {"answers": rules}},
        "report": {"bootstrap_samples": 200},
    }
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run(
    bench: Path, cfg: Path, out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(bench),
            "--model-config",
            str(cfg),
            "--output-dir",
            str(out),
            "-p",
            "no:cacheprovider",
            "-q",
            *args,
        ],
        cwd=bench.parent,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("family")
    bench = root / "bench"
    bench.mkdir()
    (bench / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (bench / "test_exact.py").write_text(BENCHMARK, encoding="utf-8")
    out = root / "out"
    cfg_a, cfg_b = config(root / "a.yaml", "a", RIGHT), config(root / "b.yaml", "b", {**RIGHT, "7\\+6": "14"})
    first = run(bench, cfg_a, out)
    again = run(bench, cfg_a, out)
    blended = run(bench, cfg_b, out, "-k", "sums", "--blend-from", str(out / "a"))
    return {"out": out, "cfg_a": cfg_a, "first": first, "again": again, "blended": blended}


def row(run_dir: Path) -> dict[str, Any]:
    board = load(run_dir / "leaderboard.json")
    return dict(zip(board["columns"], board["data"][0]))


def test_items_tables_and_the_row(runs: dict[str, Any]) -> None:
    first, a = runs["first"], runs["out"] / "a"
    assert first.returncode == 0, first.stdout + first.stderr
    assert "6 passed" in first.stdout
    board = row(a)
    assert board["exact_match_exact_capitals"] == pytest.approx(2 / 3) and board["exact_match_exact_sums"] == 1.0
    output = load(a / "tables" / "exact_output_capitals.json")
    assert [r[-2:] for r in output["data"]] == [["Tokyo", 1], ["Paris", 1], ["Mombasa", 0]]
    assert load(a / "tables" / "exact_leaderboard_sums.json")["data"] == [["mock-a", 1.0]]
    meta = load(a / "leaderboard.json")["meta"]
    assert meta["tasks"]["exact_capitals"] == {"complete": True} and meta["team"] == {"sink": "conftest"}


def test_the_results_store_holds_every_scored_case(runs: dict[str, Any]) -> None:
    store = ResultStore(runs["out"] / "a" / "results.sqlite")
    records = store.records(load_config(runs["cfg_a"]).scoring_hash)
    store.close()
    assert sorted(r.key for r in records) == [f"exact_{t}/{i}" for t in ("capitals", "sums") for i in range(3)]


def test_a_rerun_asks_the_model_nothing(runs: dict[str, Any]) -> None:
    assert runs["again"].returncode == 0, runs["again"].stdout
    first, again = invocations(runs["out"] / "a")[-2:]
    assert first["calls"]["model"]["made"] == 6 and again["calls"].get("model", {}).get("made", 0) == 0
    assert row(runs["out"] / "a")["exact_match_exact_capitals"] == pytest.approx(2 / 3)


def test_intervals_and_the_report_section(runs: dict[str, Any]) -> None:
    a = runs["out"] / "a"
    intervals = load(a / "leaderboard.json")["meta"]["intervals"]["columns"]
    low, high = intervals["exact_match_exact_capitals"]["low"], intervals["exact_match_exact_capitals"]["high"]
    assert 0.0 <= low <= 2 / 3 <= high <= 1.0 and low < high  # three samples: a wide interval
    assert intervals["exact_match_exact_sums"]["low"] == intervals["exact_match_exact_sums"]["high"] == 1.0
    html = (a / "report.html").read_text(encoding="utf-8")
    assert "exact capitals" in html and "Mombasa" in html and "Nairobi" in html


def test_a_sink_from_a_conftest(runs: dict[str, Any]) -> None:
    sunk = load(runs["out"] / "a" / "our_sink.json")
    assert dict(zip(sunk["columns"], sunk["data"][0])) == row(runs["out"] / "a")


def test_blending_and_compare(runs: dict[str, Any]) -> None:
    blended, a, b = runs["blended"], runs["out"] / "a", runs["out"] / "b"
    assert blended.returncode == 0, blended.stdout + blended.stderr
    assert "3 passed" in blended.stdout
    board = row(b)
    assert board["exact_match_exact_sums"] == pytest.approx(2 / 3)
    assert (
        board["exact_match_exact_capitals"] == pytest.approx(2 / 3) and board["model_name_exact_capitals"] == "mock-a"
    )
    assert load(b / "tables" / "exact_output_capitals.json") == load(a / "tables" / "exact_output_capitals.json")
    cmp = compare_runs(a, b, families=[ExactFamily()], b=200)
    diffs = {d.column: d.b - d.a for d in cmp.diffs if d.a is not None and d.b is not None}
    assert diffs == {"exact_match_exact_capitals": 0.0, "exact_match_exact_sums": pytest.approx(-1 / 3)}
    assert [(c.key, c.pred_a, c.pred_b) for c in cmp.changed] == [("exact_sums-2", "13", "14")]


def installed_package(site: Path) -> dict[str, str]:
    """`exact_family` as an installed package declares it: a dist-info with a `nejumi.families` entry point."""
    info = site / "exact_family_pkg-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: exact-family-pkg\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[nejumi.families]\nexact = exact_family:ExactFamily\n\n[nejumi.providers]\nrules = our_provider:RULES\n",
        encoding="utf-8",
    )
    (site / "our_provider.py").write_text(  # a provider of the package's own (here: the mock backend, renamed)
        "from nejumi_plugin.backends.registry import Provider\n\n"
        "RULES = Provider('rules', 'nejumi_plugin.backends.mock:MockBackend', options='nejumi_plugin.backends.mock:MockOptions')\n",
        encoding="utf-8",
    )
    paths = [str(site), str(SELFTESTS), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_a_family_and_a_provider_from_an_installed_package_run_without_a_conftest(tmp_path: Path) -> None:
    """A family a package declares under `nejumi.families` and a provider under `nejumi.providers` are found by a
    pytest run with no hook of its own (`model.api: rules` names the package's provider); a family registered twice
    (entry point and conftest) is a usage error naming it."""
    env = installed_package(tmp_path / "site")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "test_exact.py").write_text(BENCHMARK, encoding="utf-8")
    cfg = config(tmp_path / "a.yaml", "a", RIGHT)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("api: mock", "api: rules"), encoding="utf-8")
    done = run(bench, cfg, tmp_path / "out", env=env)
    assert done.returncode == 0 and "6 passed" in done.stdout, done.stdout + done.stderr
    assert row(tmp_path / "out" / "a")["exact_match_exact_capitals"] == pytest.approx(2 / 3)
    (bench / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    twice = run(bench, cfg, tmp_path / "out2", env=env)
    assert twice.returncode == pytest.ExitCode.USAGE_ERROR and "Traceback" not in twice.stderr
    assert "benchmark family 'exact' is registered twice" in twice.stderr and not (tmp_path / "out2").exists()


SINKS = f"""
import sys

sys.path.insert(0, {str(SELFTESTS)!r})
from exact_family import ExactFamily


def pytest_nejumi_families():
    return [ExactFamily()]


class Broken:
    def pytest_nejumi_sink(self, run):
        raise RuntimeError("the database is down")


class Bare:
    def pytest_nejumi_sink(self):
        open("bare-sink-ran", "w").close()


def pytest_configure(config):
    config.pluginmanager.register(Broken(), "broken-db")
    config.pluginmanager.register(Bare(), "bare")


def pytest_nejumi_sink(run):
    (run.run_dir / "our_sink.json").write_text("{{}}", encoding="utf-8")


def pytest_nejumi_summary(run):
    return [f"our summary: {{len(run.row['columns'])}} columns"]
"""


def test_a_failing_sink_is_said_and_the_other_sinks_still_run(tmp_path: Path) -> None:
    """A sink that raises makes the run incomplete and says so; the sinks after it, one declaring no argument among
    them, still run; a summary hook adds its lines."""
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "conftest.py").write_text(SINKS, encoding="utf-8")
    (bench / "test_exact.py").write_text(BENCHMARK, encoding="utf-8")
    done = run(bench, config(tmp_path / "a.yaml", "a", RIGHT), tmp_path / "out")
    assert done.returncode == 1 and "6 passed" in done.stdout, done.stdout + done.stderr
    assert "INCOMPLETE: broken-db failed (RuntimeError: the database is down)" in done.stdout
    assert "(INCOMPLETE: all 6 items scored, but broken-db failed" in done.stdout
    assert (tmp_path / "out" / "a" / "our_sink.json").is_file() and (tmp_path / "bare-sink-ran").is_file()  # the cwd
    assert "our summary: 3 columns" in done.stdout
    assert load(tmp_path / "out" / "a" / "leaderboard.json")["meta"]["complete"] is False

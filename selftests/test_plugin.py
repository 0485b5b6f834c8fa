"""End to end: real `pytest benchmarks` sessions (pytester subprocesses) on the tiny random model."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean

import pytest
from e2e import REPO, interruptible, invocations, load, run_benchmarks

from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA, CATEGORIES
from nejumi_plugin.tasks.jaster.metrics import score_dataset

JA_ITEMS = 16 * 2 * (2 + 2)  # 15 all-ja datasets + jsts, 0/4-shot, 2 test + 2 dev (test mode)
EN_ITEMS = 57 * 2 * (1 + 1)  # MMLU subjects, 0/4-shot, 1 test + 1 dev


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Path:
    """One complete test-mode run (ja and en, 0- and 4-shot), shared by the checks below."""
    import yaml

    base = tmp_path_factory.mktemp("full")
    cfg = base / "config.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "testmode": True,
                "model_name": "tiny-random",
                "wandb": {"run_name": "tiny-run", "mode": "disabled"},
                "run_mt_bench_ja": False,
                "run_mt_bench_en": False,
                "model": {"use_wandb_artifacts": False, "pretrained_model_name_or_path": str(tiny_model_dir)},
                "llm_jp_eval": {"torch_dtype": "fp32", "dataset_artifact": None, "dataset_dir": str(tiny_jaster_dir)},
            }
        )
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "benchmarks"),
            "--model-config",
            str(cfg),
            "--output-dir",
            str(base / "out"),
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert f"{JA_ITEMS + EN_ITEMS} passed" in proc.stdout
    assert "nejumi leaderboard" in proc.stdout and "jaster_ja_4shot" in proc.stdout
    return base / "out" / "tiny-run"


def test_full_run_writes_neo_tables(full_run: Path) -> None:
    names = {p.stem for p in (full_run / "tables").glob("*.json")}
    expected = {
        f"jaster_{kind}_{lang}_{n}shot"
        for lang in ("ja", "en")
        for n in (0, 4)
        for kind in ("leaderboard_table", "output_table", "output_table_dev")
    } | {"jaster_radar_table_ja_0shot", "jaster_radar_table_ja_4shot"}
    assert names == expected
    assert (full_run / "calls.sqlite").is_file() and (full_run / "results.sqlite").is_file()


def test_leaderboard_table_matches_its_output_table(full_run: Path) -> None:
    """Recompute every score from the logged per-sample rows, the way Neo aggregates them."""
    for suffix, datasets in (("ja_4shot", ALL_JA + ("jsts",)), ("en_0shot", ALL_EN)):
        lb = load(full_run / "tables" / f"jaster_leaderboard_table_{suffix}.json")
        out = load(full_run / "tables" / f"jaster_output_table_{suffix}.json")
        row = dict(zip(lb["columns"], lb["data"][0]))
        assert lb["columns"][0] == "model_name" and row["model_name"] == "tiny-random"
        assert lb["columns"][1:] == sorted(lb["columns"][1:])  # Neo: alphabetical, upper-case categories first
        rows = [dict(zip(out["columns"], r)) for r in out["data"]]
        assert out["columns"] == [
            "run_name",
            "model_name",
            "target_dataset",
            "num_few_shots",
            "data_type",
            "id",
            "input",
            "pred",
            "true",
            "prompt",
            "exact",
            "char_f1",
            "set_f1",
            "latency",
        ]
        raw = {}
        for name in datasets:
            mine = [r for r in rows if r["target_dataset"] == name]
            assert len(mine) == (1 if name.startswith("mmlu") else 2)
            metrics = ("pearson", "spearman") if name == "jsts" else ()
            for key in row:  # noqa: PLC0206 - keys filtered by name, values read below
                if key.startswith(f"{name}_") and key.removeprefix(f"{name}_") in (
                    "exact_match",
                    "char_f1",
                    "set_f1",
                    *metrics,
                ):
                    metric = key.removeprefix(f"{name}_")
                    raw[key] = score_dataset(metric, [r["pred"] for r in mine], [r["true"] for r in mine])
                    assert row[key] == float(f"{raw[key]:.4f}")
        if suffix.startswith("ja"):
            cats = {c: mean(raw[k] for k in keys) for c, keys in CATEGORIES.items()}
            assert all(row[c] == float(f"{v:.4f}") for c, v in cats.items())
            assert row["AVG"] == float(f"{mean(cats.values()):.4f}")
            radar = load(full_run / "tables" / f"jaster_radar_table_{suffix}.json")
            assert radar["columns"] == ["category", "score"]
            assert [r[0] for r in radar["data"]] == ["NLI", "QA", "RC", "MC", "FA", "MR"]
        else:
            assert row["AVG"] == float(f"{mean(raw.values()):.4f}")


def test_leaderboard_json_row_and_meta(full_run: Path) -> None:
    lb = load(full_run / "leaderboard.json")
    assert lb["columns"][0] == "model_name" and len(lb["data"]) == 1
    for suffix in ("ja_0shot", "ja_4shot", "en_0shot", "en_4shot"):
        assert f"AVG_jaster_{suffix}" in lb["columns"]
    assert "NLI_jaster_ja_0shot" in lb["columns"] and "jsts_pearson_jaster_ja_4shot" in lb["columns"]
    meta = lb["meta"]
    assert meta["complete"] is True  # (a prompt repeated inside one dataset is generated once, not "from cache")
    assert meta["items"] == {"expected": JA_ITEMS + EN_ITEMS, "scored": JA_ITEMS + EN_ITEMS, "failed": 0}
    (measured,) = meta["invocations"]  # the one invocation that made the calls, as runs.jsonl has it
    assert measured == invocations(full_run)[0] and measured["replay"] is False and measured["exit"] == "ok"
    assert measured["items"]["from_cache"] == 0 and measured["calls"]["model"]["served"] == 0
    assert measured["calls"]["model"]["made"] > 0 and measured["started_at"] <= measured["finished_at"]
    assert len(meta["config_hash"]) == 64 and meta["jaster_add_special_tokens"] is False
    files = meta["provenance"]["jaster_files"]
    assert {"test/jnli.json", "dev/jnli.json", "train/jnli.json", "test/mmlu_en_anatomy.json"} <= set(files)
    record = measured["throughput"]
    assert record["samples"] == JA_ITEMS + EN_ITEMS and record["generated_tokens"] > 0
    assert record["generated_tokens"] == measured["calls"]["model"]["output_tokens"]
    phases = record["phases_s"]
    assert set(phases) == {"load", "generate", "judge", "score", "report"} and phases["judge"] == 0
    assert phases["load"] > 0 and phases["generate"] > 0 and sum(phases.values()) <= record["wall_s"]
    assert record["tokens_per_s"] == pytest.approx(record["generated_tokens"] / phases["generate"], rel=0.01)


def test_row_meta_has_an_interval_for_every_score_and_the_report_is_written(full_run: Path) -> None:
    lb = load(full_run / "leaderboard.json")
    intervals = lb["meta"]["intervals"]
    assert intervals["b"] == 1000 and intervals["seed"] == 0 and intervals["level"] == 0.95
    assert set(intervals["columns"]) == set(lb["columns"][1:])
    for column, value in zip(lb["columns"][1:], lb["data"][0][1:]):
        bounds = intervals["columns"][column]
        assert bounds["low"] - 1e-9 <= value <= bounds["high"] + 1e-9 or "jsts" in column, column
    html = (full_run / "report.html").read_text(encoding="utf-8")
    assert "AVG_jaster_ja_0shot" in html and "<h3>jaster en_4shot" in html and "jaster samples (test)" in html
    assert sorted(p.name for p in full_run.glob("radar_*.png")) == [
        "radar_jaster_ja_0shot.png",
        "radar_jaster_ja_4shot.png",
    ]


def test_fail_under_fails_the_session_below_a_bound_and_passes_at_it(
    pytester: pytest.Pytester, make_config: Callable
) -> None:
    cfg, out = make_config(), pytester.path / "out"
    run_benchmarks(pytester, cfg, out, "-k", "jnli and 0shot").assert_outcomes(passed=4)
    score = load(out / "tiny-run" / "leaderboard.json")["data"][0][1]
    at = run_benchmarks(pytester, cfg, out, "-k", "jnli and 0shot", "--fail-under", f"jnli={score}")
    assert at.ret == pytest.ExitCode.OK
    above = run_benchmarks(pytester, cfg, out, "-k", "jnli and 0shot", "--fail-under", f"jnli={score + 0.01},AVG=0")
    assert above.ret == pytest.ExitCode.TESTS_FAILED
    above.stdout.fnmatch_lines([f"fail-under: *jnli_exact_match_jaster_ja_0shot*{score + 0.01:g}*AVG*no such score*"])
    bad = run_benchmarks(pytester, cfg, out, "--fail-under", "jnli=high")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "--fail-under: bad bound jnli='high'" in bad.stderr.str()


def test_two_workers_give_the_same_numbers(full_run: Path, pytester: pytest.Pytester, make_config: Callable) -> None:
    out = pytester.path / "out"
    result = run_benchmarks(pytester, make_config(), out, "-n", "2", "-k", "jnli or jsquad or mmlu_en_anatomy")
    result.assert_outcomes(passed=8 + 8 + 4)
    lb = load(out / "tiny-run" / "leaderboard.json")
    reference = load(full_run / "leaderboard.json")
    ref_row = dict(zip(reference["columns"], reference["data"][0]))
    row = dict(zip(lb["columns"], lb["data"][0]))
    assert set(row) == {"model_name"} | {
        f"{k}_jaster_{s}" for k in ("jnli_exact_match", "jsquad_char_f1") for s in ("ja_0shot", "ja_4shot")
    } | {f"mmlu_en_anatomy_exact_match_jaster_{s}" for s in ("en_0shot", "en_4shot")}
    assert all(row[k] == ref_row[k] for k in row)
    for name in ("jaster_output_table_ja_4shot", "jaster_output_table_dev_ja_0shot"):
        mine = load(out / "tiny-run" / "tables" / f"{name}.json")["data"]
        ref = [r for r in load(full_run / "tables" / f"{name}.json")["data"] if r[2] in ("jnli", "jsquad")]
        assert [r[:13] for r in mine] == [r[:13] for r in ref]  # everything but latency


def test_k_selects_one_dataset_without_avg(pytester: pytest.Pytester, make_config: Callable) -> None:
    out = pytester.path / "out"
    result = run_benchmarks(pytester, make_config(), out, "-k", "jnli")
    result.assert_outcomes(passed=8)
    tables = {p.stem for p in (out / "tiny-run" / "tables").glob("*.json")}
    assert "jaster_radar_table_ja_0shot" not in tables  # categories need the whole of all-ja
    lb = load(out / "tiny-run" / "leaderboard.json")
    assert lb["columns"] == ["model_name", "jnli_exact_match_jaster_ja_0shot", "jnli_exact_match_jaster_ja_4shot"]


def test_switches_and_sample_counts(pytester: pytest.Pytester, make_config: Callable) -> None:
    cfg = make_config(
        run_llm_jp_eval_ja_few_shots=False,
        run_llm_jp_eval_en_0_shot=False,
        run_llm_jp_eval_en_few_shots=False,
        llm_jp_eval={"target_dataset": ["jnli", "mawps"]},
    )
    result = pytester.runpytest_subprocess(
        str(REPO / "benchmarks"), "--model-config", str(cfg), "--collect-only", "-q", "-p", "no:cacheprovider"
    )
    ids = sorted(line.split("jaster/", 1)[1] for line in result.outlines if "::" in line)
    assert ids == sorted(
        f"test_{d}.py::test_{d}[ja-0shot-{split}-{i}]"
        for d in ("jnli", "mawps")
        for split in ("test", "dev")
        for i in (0, 1)
    )


def test_resume_generates_nothing_twice(pytester: pytest.Pytester, make_config: Callable) -> None:
    cfg, out = make_config(), pytester.path / "out"
    run_benchmarks(pytester, cfg, out, "-k", "jnli").assert_outcomes(passed=8)
    result = run_benchmarks(pytester, cfg, out, "-k", "jnli or jamp")
    result.assert_outcomes(passed=16)
    meta = load(out / "tiny-run" / "leaderboard.json")["meta"]
    assert meta["items"] == {"expected": 16, "scored": 16, "failed": 0}
    first, second = invocations(out / "tiny-run")
    assert second["items"]["from_cache"] == 8 and second["calls"]["model"]["served"] == 8
    assert first["calls"]["model"]["made"] + second["calls"]["model"]["made"] <= 16
    assert meta["invocations"] == [first, second]  # both made calls: the row rests on both
    result.stdout.fnmatch_lines(["calls: model * made, 8 from the store"])


def test_a_narrower_run_keeps_the_wider_row_and_collecting_writes_nothing(
    pytester: pytest.Pytester, make_config: Callable
) -> None:
    """A later `-k jnli` (with settings that change no score) leaves the run directory's row whole; one that changes a
    score-deciding key starts the row afresh; `--collect-only` writes nothing, in a new directory or an old one."""
    cfg, out = make_config(), pytester.path / "out"
    board = out / "tiny-run" / "leaderboard.json"
    collected = run_benchmarks(pytester, cfg, out, "--collect-only", "-q")
    assert collected.ret == pytest.ExitCode.OK and not out.exists()
    run_benchmarks(pytester, cfg, out, "-k", "jnli or jamp").assert_outcomes(passed=16)
    wide = load(board)
    assert len(wide["columns"]) == 5  # model_name, jnli and jamp in 0- and 4-shot
    narrow = run_benchmarks(
        pytester, cfg, out, "-k", "jnli", "--set", "model.batch_size=3", "--set", "report.html=false"
    )
    narrow.assert_outcomes(passed=8)
    narrow.stdout.fnmatch_lines(
        ["calls: model 0 made, 8 from the store*", "deselected by -k/-m: * items (8 earlier scores * stay in the row)"]
    )
    assert load(board)["columns"] == wide["columns"] and load(board)["data"] == wide["data"]
    before = board.read_bytes()
    assert run_benchmarks(pytester, cfg, out, "--collect-only", "-q").ret == pytest.ExitCode.OK
    assert board.read_bytes() == before
    changed = run_benchmarks(pytester, cfg, out, "-k", "jnli", "--set", "llm_jp_eval.ja_num_shots=2")
    changed.assert_outcomes(passed=8)
    changed.stdout.fnmatch_lines(["deselected by -k/-m: * items (not in the row)"])
    assert load(board)["columns"] == [
        "model_name",
        "jnli_exact_match_jaster_ja_0shot",
        "jnli_exact_match_jaster_ja_2shot",
    ]


def test_interrupted_run_keeps_its_generations(make_config: Callable, tmp_path: Path) -> None:
    """Ctrl-C in the middle of a run: what was generated stays in calls.sqlite and is not generated again."""
    cfg, out = make_config(), tmp_path / "out"
    cmd = [
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
        "-k",
        "not mmlu_en and not jsts",
        "--set",
        "model.batch_size=2",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **interruptible()
    )
    calls = out / "tiny-run" / "calls.sqlite"
    deadline = time.monotonic() + 300
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if calls.exists():
            with sqlite3.connect(calls) as conn:
                try:
                    stored = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
                except sqlite3.OperationalError:
                    stored = 0
            if stored >= 8:
                break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=120)
    with sqlite3.connect(calls) as conn:
        kept = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert kept >= stored >= 8
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    meta = load(out / "tiny-run" / "leaderboard.json")["meta"]
    assert meta["complete"] and invocations(out / "tiny-run")[-1]["items"]["from_cache"] >= kept


@pytest.mark.parametrize(
    ("section", "key"),
    [({"ja_num_shots": -1}, "llm_jp_eval.ja_num_shots"), ({"target_dataset": "jnil"}, "target_dataset")],
)
def test_bad_config_is_a_usage_error_naming_file_and_key(
    pytester: pytest.Pytester, make_config: Callable, section: dict, key: str
) -> None:
    cfg = make_config(llm_jp_eval=section)
    result = run_benchmarks(pytester, cfg, pytester.path / "out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{cfg}*{key}*"])


def run_without(
    split: str, pytester: pytest.Pytester, make_config: Callable, tiny_jaster_dir: Path, tmp_path: Path
) -> tuple[pytest.RunResult, Path]:
    """Run jamp and jnli on a copy of the data whose `<split>/jamp.json` is missing."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_jaster_dir.parent, data)
    (data / split / "jamp.json").unlink()
    cfg = make_config(llm_jp_eval={"dataset_dir": str(data / "test")})
    out = pytester.path / "out"
    return run_benchmarks(pytester, cfg, out, "-k", "jamp or jnli"), out / "tiny-run"


def test_missing_data_file_fails_its_items_and_marks_the_row_incomplete(
    pytester: pytest.Pytester, make_config: Callable, tiny_jaster_dir: Path, tmp_path: Path
) -> None:
    result, run_dir = run_without("dev", pytester, make_config, tiny_jaster_dir, tmp_path)
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(["*dev/jamp.json: file not found*"])
    meta = load(run_dir / "leaderboard.json")["meta"]
    assert meta["complete"] is False and meta["items"]["failed"] == 1


def test_missing_few_shot_file_fails_only_its_items(
    pytester: pytest.Pytester, make_config: Callable, tiny_jaster_dir: Path, tmp_path: Path
) -> None:
    result, run_dir = run_without("train", pytester, make_config, tiny_jaster_dir, tmp_path)
    result.assert_outcomes(passed=8 + 4, failed=4)  # jnli, jamp 0-shot pass; jamp 4-shot needs train/jamp.json
    result.stdout.fnmatch_lines(["*jaster_ja_4shot/jamp/*train/jamp.json: file not found*"])
    tasks = load(run_dir / "leaderboard.json")["meta"]["tasks"]
    assert tasks == {"jaster_ja_0shot": {"complete": True}, "jaster_ja_4shot": {"complete": False}}


def test_interrupted_run_writes_an_incomplete_row(make_config: Callable, tmp_path: Path) -> None:
    """Ctrl-C: the row of what was scored is written, and says it is incomplete."""
    cfg, out = make_config(), tmp_path / "out"
    cmd = [
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
        "-n",
        "0",
        "--set",
        "model.batch_size=1",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **interruptible()
    )
    time.sleep(0.5)
    calls = out / "tiny-run" / "calls.sqlite"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not calls.exists():
        time.sleep(0.2)
    time.sleep(3)
    os.kill(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    meta = load(out / "tiny-run" / "leaderboard.json")["meta"]
    assert meta["complete"] is False, output[-2000:]
    assert meta["items"]["expected"] == JA_ITEMS + EN_ITEMS


def test_benchmarks_without_a_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(str(REPO / "benchmarks"), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*benchmarks need a run config: pytest benchmarks --model-config*"])


def test_a_missing_api_key_stops_the_run_before_any_item(
    pytester: pytest.Pytester, make_config: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cfg = make_config(model={"api": "openai", "pretrained_model_name_or_path": "gpt-4o"})
    result = run_benchmarks(pytester, cfg, pytester.path / "out", "-k", "jnli and 0shot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no API key for openai model 'gpt-4o': set the environment variable OPENAI_API_KEY*"])
    assert not (pytester.path / "out").exists()  # nothing ran
    two = run_benchmarks(pytester, cfg, pytester.path / "out", "-k", "jnli and 0shot", "-n", "2")
    assert two.ret == pytest.ExitCode.USAGE_ERROR and "OPENAI_API_KEY" in two.stderr.str()
    unsupported = make_config("other.yaml", model={"api": "mistral", "pretrained_model_name_or_path": "m"})
    result = run_benchmarks(pytester, unsupported, pytester.path / "out", "-k", "jnli and 0shot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*model.api: 'mistral' is not supported*"])

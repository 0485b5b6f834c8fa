"""End to end: W&B logging read back from an offline run, and blending earlier runs into a new row."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e import load, mtbench_dataset, run_benchmarks
from scripted_judge import ScriptedJudge, serve

from nejumi_plugin.wandb_offline import read_offline_run

ONLY_JA_0SHOT = {
    "run_llm_jp_eval_ja_few_shots": False,
    "run_llm_jp_eval_en_0_shot": False,
    "run_llm_jp_eval_en_few_shots": False,
}
DATASET = mtbench_dataset("ja")


@pytest.fixture
def offline_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every W&B folder in the test's temp dir, offline, no key."""
    for name in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc


def test_an_offline_run_reads_back_with_every_table_and_no_secret(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, offline_wandb: None
) -> None:
    judge = ScriptedJudge()
    with serve(judge) as url:
        secret_url = url.replace("http://", "http://user:pa55word@")
        cfg = make_config(
            **ONLY_JA_0SHOT,
            run_mt_bench_ja=True,
            wandb={"entity": "me", "project": "nejumi", "run_name": "tiny-run", "mode": "online"},
            mtbench={
                "max_new_token": 8,
                "custom_conv_template": True,
                "dataset": DATASET,
                "judge": {"api": "openai_compatible", "model": "j", "base_url": secret_url},
            },
        )
        result = run_benchmarks(pytester, cfg, tmp_path / "out", "-k", "jnli or mtbench_ja")
    result.assert_outcomes(passed=4 + 8)
    result.stdout.fnmatch_lines(["*W&B: saved offline in *(no W&B API key*upload it later with: wandb sync *"])
    run_dir = tmp_path / "out" / "tiny-run"
    logged = read_offline_run(run_dir / "wandb")
    assert (logged.entity, logged.project, logged.name) == ("me", "nejumi", "tiny-run")
    assert logged.config["model_name"] == "tiny-random" and logged.config["mtbench"]["judge"]["model"] == "j"
    assert "pa55word" not in json.dumps(logged.config) and "pa55word" not in (run_dir / "leaderboard.json").read_text()
    local = {p.stem: load(p) for p in (run_dir / "tables").glob("*.json")}
    assert set(logged.table_keys()) == set(local) | {"leaderboard_table"}
    for name, table in local.items():
        assert logged.table(name) == table, name
    board = load(run_dir / "leaderboard.json")
    assert logged.table("leaderboard_table") == {"columns": board["columns"], "data": board["data"]}
    assert [(a["name"], a["type"]) for a in logged.artifacts if a["type"] == "config"] == [("config", "config")]
    radars = {p.stem for p in run_dir.glob("radar_*.png")}
    assert radars == {"radar_mtbench_ja"}  # jnli alone has no categories to chart
    assert (
        logged.summary["report"]["_type"] == "html-file"
        and (logged.path / "files" / logged.summary["report"]["path"]).is_file()
    )
    assert all(logged.summary[name]["_type"] == "image-file" for name in radars)


def test_a_blend_only_run_joins_two_earlier_runs_with_neo_column_names(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    judge = ScriptedJudge()
    with serve(judge) as url:
        mt = {
            "max_new_token": 8,
            "custom_conv_template": True,
            "dataset": DATASET,
            "judge": {"api": "openai_compatible", "model": "j", "base_url": url},
        }
        cfg = make_config(**ONLY_JA_0SHOT, run_mt_bench_ja=True, mtbench=mt)
        run_benchmarks(pytester, cfg, tmp_path / "a", "-k", "jnli").assert_outcomes(passed=4)
        run_benchmarks(pytester, cfg, tmp_path / "b", "-k", "mtbench_ja").assert_outcomes(passed=8)
    first, second = (load(tmp_path / d / "tiny-run" / "leaderboard.json") for d in "ab")
    blend_cfg = make_config("blend.yaml", new_run={"entity": "me", "project": "nejumi", "run_name": "blended"})
    sources = [f"--blend-from={tmp_path / d / 'tiny-run'}" for d in "ab"]
    result = run_benchmarks(pytester, blend_cfg, tmp_path / "c", *sources)
    assert result.ret == 0, result.stdout.str()
    blended = load(tmp_path / "c" / "blended" / "leaderboard.json")
    jaster = dict(zip(first["columns"][1:], first["data"][0][1:]))  # already `<column>_jaster_ja_0shot`
    mtbench = dict(zip(second["columns"][1:], second["data"][0][1:]))
    expected = {
        "model_name": "tiny-random",
        "model_name_jaster_ja_0shot": "tiny-random",
        **jaster,
        "model_name_MTbench_ja": "tiny-random",
        **mtbench,
    }
    assert dict(zip(blended["columns"], blended["data"][0])) == expected
    assert list(expected) == blended["columns"]  # Neo's order: sources in turn, then Neo's task order
    assert blended["meta"]["blend"] == {
        "sources": {
            "jaster_ja_0_shot": str(tmp_path / "a" / "tiny-run"),
            "mtbench_ja": str(tmp_path / "b" / "tiny-run"),
        }
    }
    tables = {p.stem for p in (tmp_path / "c" / "blended" / "tables").glob("*.json")}
    assert {"jaster_output_table_ja_0shot", "mtbench_output_table_ja", "mtbench_radar_table_ja"} <= tables
    clash = run_benchmarks(pytester, blend_cfg, tmp_path / "d", *sources, f"--blend-from={tmp_path / 'b' / 'tiny-run'}")
    assert clash.ret == pytest.ExitCode.USAGE_ERROR and "task mtbench_ja is in both" in clash.stderr.str()  # at once
    assert not (tmp_path / "d").exists()  # nothing was written


def test_run_chain_takes_a_task_from_an_offline_wandb_run_and_evaluates_the_rest(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, offline_wandb: None
) -> None:
    judge = ScriptedJudge()
    with serve(judge) as url:
        mt = {
            "max_new_token": 8,
            "custom_conv_template": True,
            "dataset": DATASET,
            "judge": {"api": "openai_compatible", "model": "j", "base_url": url},
        }
        logged = {"entity": "me", "project": "nejumi", "run_name": "tiny-run", "mode": "offline"}
        earlier = make_config(**ONLY_JA_0SHOT, run_mt_bench_ja=True, mtbench=mt, wandb=logged)
        run_benchmarks(pytester, earlier, tmp_path / "a", "-k", "mtbench_ja").assert_outcomes(passed=8)
        wandb_dir = tmp_path / "a" / "tiny-run" / "wandb"
        chain = make_config(
            "chain.yaml",
            **ONLY_JA_0SHOT,
            run_mt_bench_ja=False,
            mtbench=mt,
            run_chain=True,
            old_runs=[{"run_path": str(wandb_dir), "tasks": ["mtbench_ja"]}],
        )
        result = run_benchmarks(pytester, chain, tmp_path / "c", "-k", "jnli")
        result.assert_outcomes(passed=4)
        both = run_benchmarks(
            pytester,
            earlier,
            tmp_path / "d",
            "-k",
            "mtbench_ja",
            f"--blend-from={tmp_path / 'a' / 'tiny-run'}@mtbench_ja",
        )
    row = load(tmp_path / "c" / "tiny-run" / "leaderboard.json")
    source = load(tmp_path / "a" / "tiny-run" / "leaderboard.json")
    mtbench = {"model_name_MTbench_ja": "tiny-random", **dict(zip(source["columns"][1:], source["data"][0][1:]))}
    assert row["columns"][: 1 + len(mtbench)] == ["model_name", *mtbench]  # blended first, as Neo's run_chain
    assert dict(zip(row["columns"], row["data"][0])).items() >= mtbench.items()
    assert row["columns"][-1] == "jnli_exact_match_jaster_ja_0shot"  # then this run's evaluation
    assert row["meta"]["blend"]["sources"] == {"mtbench_ja": str(wandb_dir)}
    assert both.ret == pytest.ExitCode.USAGE_ERROR  # said before any item ran
    assert "task mtbench_ja is evaluated in this run and also asked of" in both.stderr.str()

"""Class 5 — check before spending.

Everything that can be checked without the model is checked when the run starts, as a usage error (exit 4) naming
the source, key or template, before any request: blend sources (a local run directory that exists and holds a
leaderboard, a well-formed W&B path, the tables of the tasks asked of it, a task asked twice or asked while this run
evaluates it), custom prompt and few-shot templates (each formatted once on a dummy sample), `--fail-under` keys
that can match no score of the selected tasks, and W&B logging without wandb installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fault_runs import HERE, Runs
from fault_server import FaultServer, serve_faults


@pytest.fixture
def finished(runs: Runs) -> Path:
    """A finished run directory with jaster ja 0-shot (jnli only)."""
    with serve_faults(FaultServer()) as url:
        done = runs.run(runs.config(url, "earlier.yaml"), runs.root / "earlier", "-k", "jnli")
    assert done.returncode == 0, done.output[-2000:]
    return runs.root / "earlier" / "tiny-run"


def _refused(runs: Runs, *args: str, **overrides: object) -> str:
    """Run with `overrides` and `args`; assert a usage error before any request; the error the user saw."""
    server = FaultServer()
    with serve_faults(server) as url:
        done = runs.run(runs.config(url, **overrides), runs.root / "out", "-k", "jnli", *args)
    assert done.returncode == 4, done.output[-2000:]
    assert server.bodies == [] and "Traceback" not in done.output
    assert not (runs.root / "out").exists()  # nothing written either
    return done.stderr


def test_a_missing_blend_source(runs: Runs) -> None:
    missing = runs.root / "no-such-run"
    error = _refused(runs, f"--blend-from={missing}")
    assert f"--blend-from {missing}: neither a run directory ({missing} does not exist) nor a W&B run path" in error


def test_a_blend_source_that_is_no_finished_run(runs: Runs) -> None:
    half = runs.root / "half"
    (half / "tables").mkdir(parents=True)
    assert f"--blend-from {half}: {half} holds no leaderboard.json; is it a finished nejumi run directory?" in _refused(
        runs, f"--blend-from={half}"
    )
    (runs.root / "empty").mkdir()
    assert "neither a nejumi run directory (no tables/) nor an offline W&B run" in _refused(
        runs, f"--blend-from={runs.root / 'empty'}"
    )


def test_a_blend_task_the_source_does_not_have(runs: Runs, finished: Path) -> None:
    error = _refused(runs, f"--blend-from={finished}@mtbench_en")
    assert f"--blend-from {finished}: it has no mtbench_leaderboard_table_en (task mtbench_en)" in error


def test_a_blend_task_this_run_evaluates_or_two_sources_offer(runs: Runs, finished: Path) -> None:
    error = _refused(runs, f"--blend-from={finished}@jaster_ja_0_shot")
    assert f"task jaster_ja_0_shot is evaluated in this run and also asked of {finished}" in error
    twice = _refused(
        runs,
        f"--blend-from={finished}@jaster_ja_0_shot",
        f"--blend-from={finished}",
        run_llm_jp_eval_ja_0_shot=False,
        run_mt_bench_en=True,
    )
    assert "task jaster_ja_0_shot is in both" in twice


def test_a_malformed_wandb_run_path_or_one_that_cannot_be_read_offline(runs: Runs) -> None:
    assert "neither a run directory" in _refused(runs, "--blend-from=entity/project")
    error = _refused(runs, "--blend-from=entity/project/abc123", wandb={"mode": "offline"})
    assert "--blend-from entity/project/abc123: a W&B run cannot be read while W&B is offline" in error


@pytest.mark.parametrize(
    ("section", "template", "bad"),
    [
        ("custom_prompt_template", "{instruction}\n{inptu}", "{inptu}"),
        ("custom_fewshots_template", "入力: {input}\n出力: {answer}", "{answer}"),
        ("custom_prompt_template", "{instruction} {input.upper}", "{input.upper}"),
    ],
)
def test_a_template_with_a_placeholder_it_may_not_use(runs: Runs, section: str, template: str, bad: str) -> None:
    ja = (
        {section: template}
        if section == "custom_prompt_template"
        else {"custom_prompt_template": "{instruction}\n{input}", section: template}
    )
    error = _refused(
        runs,
        llm_jp_eval={"ja": ja, "dataset_artifact": None, "dataset_dir": str(runs.jaster_dir), "torch_dtype": "fp32"},
    )
    assert f"llm_jp_eval.ja.{section}: placeholder {bad} is not allowed" in error


def test_a_fail_under_key_that_matches_no_score(runs: Runs) -> None:
    error = _refused(runs, "--fail-under", "jnli_exact_match_jaster_ja_0shot=0.3,mtbench_AVG=5")
    assert "--fail-under / report.fail_under: 'mtbench_AVG' matches no score of the tasks this run evaluates" in error
    typo = _refused(runs, "--fail-under", "jnlii=0.5")
    assert "'jnlii' matches no score" in typo and "did you mean" in typo
    # a key for a task switched on but deselected by -k is fine: the rule is about what the config selects
    with serve_faults(FaultServer()) as url:
        done = runs.run(runs.config(url), runs.root / "ok", "-k", "jnli", "--fail-under", "jamp=0")
    assert done.returncode == 1 and "jamp >= 0: no such score in the leaderboard row" in done.stdout


def test_checks_run_before_a_clean_start_too(runs: Runs) -> None:
    """The same config with everything right passes every check and runs (no check refuses a good run)."""
    with serve_faults(FaultServer()) as url:
        config = runs.config(
            url,
            llm_jp_eval={
                "ja": {
                    "custom_prompt_template": "{instruction}\n{input}",
                    "custom_fewshots_template": "{input} -> {output}",
                },
                "dataset_artifact": None,
                "dataset_dir": str(runs.jaster_dir),
                "torch_dtype": "fp32",
            },
        )
        done = runs.run(config, runs.root / "out", "-k", "jnli", "--fail-under", "jnli=0")
    assert done.returncode == 0, done.output[-2000:]
    assert json.loads((runs.root / "out" / "tiny-run" / "leaderboard.json").read_text())["meta"]["complete"] is True


def test_wandb_logging_without_wandb_installed(runs: Runs, tmp_path: Path) -> None:
    """A run to be logged to W&B on a machine without wandb is refused at the start, not left unlogged at the end."""
    hidden = tmp_path / "no-wandb"
    hidden.mkdir()
    (hidden / "sitecustomize.py").write_text("import sys\n\nsys.modules['wandb'] = None  # as if not installed\n")
    server = FaultServer()
    with serve_faults(server) as url:
        config = runs.config(url)
        env = {"PYTHONPATH": os.pathsep.join((str(hidden), str(HERE))), "WANDB_MODE": "offline"}
        done = runs.run(config, runs.root / "out", "-k", "jnli", env=env)
    assert done.returncode == 4 and server.bodies == [] and "Traceback" not in done.output, done.output[-2000:]
    assert f"{config}: wandb.mode: offline, but wandb is not installed: pip install 'nejumi[wandb]'" in done.stderr
    assert not (runs.root / "out").exists()

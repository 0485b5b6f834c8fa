"""The W&B sink's guards: nothing secret in the logged config, bad names said up front, W&B failures lose nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nejumi_plugin.config import load_config
from nejumi_plugin.sinks.wandb_sink import WandbError, WandbTarget, log_run, public_config, target_problem


def test_the_logged_config_has_no_credentials(make_config: Callable[..., Path]) -> None:
    cfg = load_config(
        make_config(
            model={
                "api": "vllm",
                "base_url": "https://user:s3cret@h:8000/v1?key=k2",
                "pretrained_model_name_or_path": "m",
            },
            mtbench={"judge": {"api": "openai_compatible", "base_url": "http://u:s3cret@j/v1", "model": "j"}},
        ),
        [],
    )
    logged = public_config(cfg)
    assert (
        logged["model"]["base_url"] == "https://h:8000/v1" and logged["mtbench"]["judge"]["base_url"] == "http://j/v1"
    )
    assert "s3cret" not in repr(logged) and "k2" not in repr(logged)


def test_a_name_wandb_would_refuse_is_said_before_the_run(make_config: Callable[..., Path]) -> None:
    cfg = load_config(make_config(wandb={"mode": "offline", "entity": "me", "project": "your/WANDB/project"}), [])
    problem = target_problem(cfg, WandbTarget("me", "your/WANDB/project", "r"))
    assert problem and "wandb.project: 'your/WANDB/project' is not a W&B name" in problem
    disabled = load_config(make_config(), [])  # the tests' configs: wandb.mode disabled
    assert target_problem(disabled, WandbTarget("a/b", "c/d", "r")) is None


def test_a_failing_wandb_raises_what_happened_and_says_nothing_else(
    make_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wandb

    def unreachable(**kwargs: object) -> None:
        raise ConnectionError("api.wandb.ai unreachable")

    monkeypatch.setattr(wandb, "init", unreachable)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    cfg = load_config(make_config(wandb={"mode": "offline", "entity": "me", "project": "p"}), [])
    said: list[str] = []
    board = {"columns": ["model_name"], "data": [["m"]]}
    with pytest.raises(WandbError) as failed:
        log_run(cfg, tmp_path, {}, board, WandbTarget("me", "p", "r"), said.append)
    assert (
        str(failed.value)
        == f"W&B logging failed (ConnectionError: api.wandb.ai unreachable); the results are in {tmp_path}"
    )
    assert said == []  # the caller says it, and the run is then not complete (selftests/faults/test_completeness.py)

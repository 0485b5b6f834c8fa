"""Shared by the end-to-end tests: run `pytest benchmarks` in a subprocess, read what a run wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nejumi_plugin.invocation import read_invocations as invocations  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parent.parent
DEMO_MTBENCH = REPO / "nejumi_plugin" / "demo_data" / "mtbench"
MTBENCH_FILE_KEYS = (
    "test_question_artifacts_path",
    "test_referenceanswer_artifacts_path",
    "judge_prompt_artifacts_path",
)


def interruptible() -> dict[str, Any]:
    """Popen keywords for a child that a test stops with Ctrl-C: SIGINT is restored to its default in the child,
    which inherits it ignored when the suite itself runs from a background shell (`pytest selftests &`)."""
    return {"preexec_fn": lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)}


def run_benchmarks(pytester: pytest.Pytester, config: Path, out: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(REPO / "benchmarks"),
        "--model-config",
        str(config),
        "--output-dir",
        str(out),
        "-p",
        "no:cacheprovider",
        *args,
    )


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def mtbench_dataset(*languages: str) -> dict[str, dict[str, str]]:
    """`mtbench.dataset` pointing the test-mode files of `languages` at the vendored small sets."""
    return {lang: {key: str(DEMO_MTBENCH / lang) for key in MTBENCH_FILE_KEYS} for lang in languages}


def write_config(path: Path, model_dir: Path, jaster_dir: Path, **overrides: Any) -> Path:
    """A test-mode run config for the tiny model at `path`; keyword arguments override top-level sections (merged
    one level deep)."""
    cfg: dict[str, Any] = {
        "testmode": True,
        "model_name": "tiny-random",
        "wandb": {"run_name": "tiny-run", "mode": "disabled"},
        "run_mt_bench_ja": False,
        "run_mt_bench_en": False,
        "model": {"use_wandb_artifacts": False, "pretrained_model_name_or_path": str(model_dir), "device_map": "cpu"},
        "llm_jp_eval": {"torch_dtype": "fp32", "dataset_artifact": None, "dataset_dir": str(jaster_dir)},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def run_benchmarks_in(
    cwd: Path, config: Path, out: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`pytest benchmarks` in a fresh interpreter outside pytester (for module-scoped fixtures); output captured."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(REPO / "benchmarks"),
            "--model-config",
            str(config),
            "--output-dir",
            str(out),
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )

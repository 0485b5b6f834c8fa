"""Shared by the end-to-end tests: run `pytest benchmarks` in a subprocess, read what a run wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.invocation import read_invocations as invocations  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parent.parent
DEMO_MTBENCH = REPO / "nejumi_plugin" / "demo_data" / "mtbench"
MTBENCH_FILE_KEYS = ("test_question_artifacts_path", "test_referenceanswer_artifacts_path", "judge_prompt_artifacts_path")


def run_benchmarks(pytester: pytest.Pytester, config: Path, out: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(REPO / "benchmarks"), "--model-config", str(config), "--output-dir", str(out), "-p", "no:cacheprovider",
        *args,
    )  # fmt: skip


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def mtbench_dataset(*languages: str) -> dict[str, dict[str, str]]:
    """`mtbench.dataset` pointing the test-mode files of `languages` at the vendored small sets."""
    return {lang: {key: str(DEMO_MTBENCH / lang) for key in MTBENCH_FILE_KEYS} for lang in languages}

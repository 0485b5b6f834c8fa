"""Runs of `pytest benchmarks` in a fresh interpreter against a fault server, for the fault catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e import REPO, mtbench_dataset, write_config

HERE = Path(__file__).parent
ITEMS_JA_0SHOT = 16 * 4  # jaster ja 0-shot in test mode: 16 datasets x (2 test + 2 dev)
ONLY_JA_0SHOT = {
    "run_llm_jp_eval_ja_few_shots": False,
    "run_llm_jp_eval_en_0_shot": False,
    "run_llm_jp_eval_en_few_shots": False,
}


@dataclass
class Child:
    """A finished child session: what the user saw."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Runs:
    """Writes configs whose model (and judge) is the API at `url`, and runs `pytest benchmarks` in a subprocess."""

    root: Path
    model_dir: Path
    jaster_dir: Path

    def config(self, url: str, name: str = "config.yaml", mtbench: bool = False, **overrides: Any) -> Path:
        model = {
            "api": "openai-compatible",
            "base_url": url,
            "pretrained_model_name_or_path": "served",
            "concurrency": 8,
            "max_retries": 3,
            **overrides.pop("model", {}),
        }
        judge = {
            "api": "openai_compatible",
            "base_url": url,
            "model": "judge",
            "max_retries": 3,
            **overrides.pop("judge", {}),
        }
        sections: dict[str, Any] = {**ONLY_JA_0SHOT, "model": model}
        if mtbench:
            sections |= {
                "run_mt_bench_ja": True,
                "mtbench": {"max_new_token": 8, "parallel": 8, "judge": judge, "dataset": mtbench_dataset("ja")},
            }
        return write_config(self.root / name, self.model_dir, self.jaster_dir, **{**sections, **overrides})

    def command(self, config: Path, out: Path, *args: str) -> list[str]:
        return [
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
        ]

    def run(
        self,
        config: Path,
        out: Path,
        *args: str,
        env: dict[str, str] | None = None,
        wrap: Sequence[str] = (),
        **popen: Any,
    ) -> Child:
        """Run to the end; `wrap` is a command line the pytest command is appended to (e.g. a mount namespace)."""
        environ = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
        popen.setdefault("cwd", self.root)
        done = subprocess.run(
            [*wrap, *self.command(config, out, *args)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=600,
            **popen,
        )
        return Child(done.returncode, done.stdout, done.stderr)

    def start(self, config: Path, out: Path, *args: str) -> subprocess.Popen[str]:
        """Start in the background (the test stops or awaits it)."""
        environ = {**os.environ, "PYTHONPATH": str(HERE)}
        return subprocess.Popen(
            self.command(config, out, *args),
            cwd=self.root,
            env=environ,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

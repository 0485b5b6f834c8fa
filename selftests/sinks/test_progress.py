"""The live progress display, as a user sees it: `pytest benchmarks` in a child on a pseudo-terminal (one line per
phase, redrawn in place, the module named once), and quiet under `-q` and when the output is not a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from selftests.e2e import REPO, run_benchmarks_in, write_config

DEMO_JASTER = REPO / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def mock_config(tmp_path: Path) -> Path:
    """jnli 0-shot in test mode (4 items) answered by `api: mock`: no model to load."""
    return write_config(
        tmp_path / "cfg.yaml",
        tmp_path,
        DEMO_JASTER,
        model={"api": "mock", "pretrained_model_name_or_path": "rules-v1", "options": {"default": "entailment"}},
        run_llm_jp_eval_ja_few_shots=False,
        run_llm_jp_eval_en_0_shot=False,
        run_llm_jp_eval_en_few_shots=False,
    )


def on_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run `python -m pytest ARGS` with a pseudo-terminal as its stdout and stderr; its exit code and output."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a terminal has a size
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=child,
        stderr=child,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def benchmark_args(config: Path, out: Path, *more: str) -> list[str]:
    return [str(REPO / "benchmarks"), "--model-config", str(config), "--output-dir", str(out), "-p", "no:cacheprovider"]


def test_a_terminal_gets_one_live_line_per_phase_and_the_module_once(tmp_path: Path) -> None:
    config = mock_config(tmp_path)
    code, out = on_terminal(tmp_path, *benchmark_args(config, tmp_path / "out"), "-k", "jnli")
    assert code == 0, out
    assert re.search(r"nejumi jaster answers: 100%\|.*\| 4/4 \[\S+<\S+, \S+ req/s\]", out), (
        out
    )  # done/total, elapsed<left, rate
    assert "nejumi: generated" not in out
    assert out.count("test_jnli.py") == 1, out  # pytest does not name the module again after the display
    assert "4 passed" in out
    # the summary says what was left out, and why
    assert "switched off in the config: jaster ja_4shot (run_llm_jp_eval_ja_few_shots: false)" in out
    assert "MT-Bench en (run_mt_bench_en: false)" in out
    selected_away = int(re.search(r"(\d+) deselected", out).group(1)) - 3  # mmlu_en, MT-Bench ja and en: no case
    assert f"deselected by -k/-m: {selected_away} items" in out


def test_quiet_and_non_terminal_runs_draw_no_display(tmp_path: Path) -> None:
    config = mock_config(tmp_path)
    code, quiet = on_terminal(tmp_path, *benchmark_args(config, tmp_path / "q"), "-k", "jnli", "-q")
    assert code == 0, quiet
    piped = run_benchmarks_in(tmp_path, config, tmp_path / "p", "-k", "jnli")
    assert piped.returncode == 0, piped.stdout + piped.stderr
    for out in (quiet, piped.stdout + piped.stderr):
        assert "nejumi jaster answers" not in out and "nejumi: generated" not in out
        assert "jaster_ja_0shot" in out  # the summary is still there

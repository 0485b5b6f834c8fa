"""A real OpenAI-compatible server for selftests: `transformers serve` on the tiny model."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

# The tiny tokenizer has no chat template and `transformers serve` answers chat requests with a 500 without one,
# so the served copy gets this minimal template.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)
STARTUP_TIMEOUT_S = 120.0


class OpenAIServer(NamedTuple):
    base_url: str  # ".../v1", as the openai SDK takes it
    model: str  # the model name clients must send: the served folder's path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else "(no output)"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(model_dir: Path, log_dir: Path) -> tuple[subprocess.Popen[bytes], OpenAIServer]:
    """Start `transformers serve` on a free port and wait until `GET /v1/models` answers (fails the test if not)."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "transformers.cli.transformers",
        "serve",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    stderr_path = log_dir / "serve.stderr"
    with open(log_dir / "serve.stdout", "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True)
    server = OpenAIServer(f"http://127.0.0.1:{port}/v1", str(model_dir))
    started = time.monotonic()
    while not _answers(f"{server.base_url}/models"):
        if proc.poll() is not None:
            pytest.fail(f"`transformers serve` exited with {proc.returncode}:\n{_tail(stderr_path)}")
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            stop_server(proc)
            pytest.fail(f"`transformers serve` did not answer within {STARTUP_TIMEOUT_S:.0f} s:\n{_tail(stderr_path)}")
        time.sleep(0.25)
    print(f"transformers serve answered after {time.monotonic() - started:.1f} s at {server.base_url}")
    return proc, server


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def openai_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAIServer]:
    """`(base_url, model)` of `transformers serve` running the tiny model (with a chat template) on 127.0.0.1."""
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"`transformers serve` needs {', '.join(missing)}: pip install 'transformers[serving]'")
    root = tmp_path_factory.mktemp("openai-server")
    model_dir = root / "tiny-chat"
    shutil.copytree(tiny_model_dir, model_dir)
    (model_dir / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    proc, server = start_server(model_dir, root)
    try:
        yield server
    finally:
        stop_server(proc)

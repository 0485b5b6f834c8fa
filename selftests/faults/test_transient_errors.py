"""Class 1 — transient errors under concurrency.

A fresh interpreter (a pytest session in a subprocess: nothing imported beforehand can hide a race) evaluates
jaster and MT-Bench (answers and judgments) through the OpenAI SDK against a local server that fails the first two
attempts of every request, with 16 requests in flight. Every request is retried until it is answered, each one is
answered (paid for) exactly once, and the leaderboard row and every output table equal those of a clean run. No
module is first imported on a worker thread: the SDK reads `httpx` from `sys.modules` on other threads, and a
half-imported module there used to break every request in flight.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from e2e import load, mtbench_dataset, run_benchmarks_in, write_config
from fault_server import FaultServer, serve_faults

CONCURRENCY = 16
ITEMS = 16 * 4 + 8  # jaster ja 0-shot (16 datasets x 4 test-mode items) + MT-Bench ja (8 questions)
VOLATILE = {"latency", "tstamp"}  # wall-clock columns
CHILD = Path(__file__).with_name("provider_child.py")


class Run(NamedTuple):
    server: FaultServer
    run_dir: Path
    returncode: int
    output: str
    worker_imports: list[dict[str, str]]


def evaluate(root: Path, model_dir: Path, jaster_dir: Path, name: str, plan: tuple[str, ...]) -> Run:
    """One run against a fault server with `plan`, in a fresh interpreter that watches its worker threads' imports."""
    server = FaultServer(plan, delay_s=0.25)  # long enough that a burst of 16 requests is in flight at once
    watch = root / f"{name}-imports.json"
    with serve_faults(server) as url:
        api = {
            "api": "openai-compatible",
            "base_url": url,
            "pretrained_model_name_or_path": "served",
            "concurrency": CONCURRENCY,
        }
        judge = {"api": "openai_compatible", "base_url": url, "model": "judge"}
        config = write_config(
            root / f"{name}.yaml",
            model_dir,
            jaster_dir,
            run_llm_jp_eval_ja_few_shots=False,
            run_llm_jp_eval_en_0_shot=False,
            run_llm_jp_eval_en_few_shots=False,
            run_mt_bench_ja=True,
            model=api,
            mtbench={"max_new_token": 8, "parallel": CONCURRENCY, "judge": judge, "dataset": mtbench_dataset("ja")},
        )
        env = {"NEJUMI_IMPORT_WATCH": str(watch), "PYTHONPATH": str(Path(__file__).parent)}
        done = run_benchmarks_in(root, config, root / name, "-p", "import_watch", env=env)
    return Run(server, root / name / "tiny-run", done.returncode, done.stdout + done.stderr, load(watch))


def tables(run_dir: Path) -> dict[str, Any]:
    """Every table of a run without its wall-clock columns."""
    out = {}
    for path in sorted((run_dir / "tables").glob("*.json")):
        table = load(path)
        keep = [i for i, c in enumerate(table["columns"]) if c not in VOLATILE]
        out[path.stem] = [[row[i] for i in keep] for row in table["data"]]
    return out


def passed(run: Run) -> int:
    found = re.search(r"(\d+) passed", run.output)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_jaster_dir: Path) -> Run:
    run = evaluate(tmp_path_factory.mktemp("clean"), tiny_model_dir, tiny_jaster_dir, "clean", ())
    assert run.returncode == 0 and passed(run) == ITEMS, run.output[-3000:]
    return run


@pytest.mark.parametrize("fault", ["429", "429-bare", "500", "drop"])
def test_the_first_attempts_of_every_request_fail_and_the_row_equals_a_clean_run(
    clean: Run, tmp_path: Path, tiny_model_dir: Path, tiny_jaster_dir: Path, fault: str
) -> None:
    run = evaluate(tmp_path, tiny_model_dir, tiny_jaster_dir, fault, (fault, fault))
    assert run.returncode == 0 and passed(run) == ITEMS, run.output[-3000:]
    assert "(complete)" in run.output
    # every request (jaster answers, MT-Bench answers of both turns, judgments) was answered as often as in the clean
    # run — a judge asked again is a request of its own — and each answer took three attempts
    assert run.server.answered == clean.server.answered and run.server.paid == clean.server.paid
    assert run.server.attempts == {key: 3 * n for key, n in clean.server.answered.items()}
    assert run.server.max_in_flight >= CONCURRENCY
    board, clean_board = load(run.run_dir / "leaderboard.json"), load(clean.run_dir / "leaderboard.json")
    assert (board["columns"], board["data"]) == (clean_board["columns"], clean_board["data"])
    assert tables(run.run_dir) == tables(clean.run_dir)
    assert run.worker_imports == [], json.dumps(run.worker_imports[:20], indent=1)


PROVIDERS = {  # provider -> (the key variable it reads, the base URL suffix its SDK expects)
    "openai": ("OPENAI_API_KEY", "/v1"),
    "azure": ("AZURE_OPENAI_KEY", ""),
    "anthropic": ("ANTHROPIC_API_KEY", ""),
    "google": ("GEMINI_API_KEY", ""),
    "cohere": ("COHERE_API_KEY", ""),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_provider_retries_under_concurrency_in_a_fresh_interpreter(provider: str, tmp_path: Path) -> None:
    """Each provider's backend, alone in a new interpreter: 32 requests, 16 in flight, the first attempt of each
    refused with 429 and the second dropped; every request is answered once and nothing is imported on a worker."""
    key_env, suffix = PROVIDERS[provider]
    server = FaultServer(("429", "drop"), delay_s=0.25)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "GOOGLE_", "GEMINI_", "CO_"))}
    env.update({key_env: "sk-fault-test", "PYTHONPATH": str(Path(__file__).parent)})
    with serve_faults(server) as url:
        base = url.removesuffix("/v1") + suffix
        done = subprocess.run(
            [sys.executable, str(CHILD), provider, base, "32", str(CONCURRENCY)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["answers"] == {str(i): "Rating: [[8]]" for i in range(32)}
    assert len(server.answered) == 32 and set(server.answered.values()) == {1}
    assert set(server.attempts.values()) == {3} and server.max_in_flight >= CONCURRENCY
    assert result["worker_imports"] == [], json.dumps(result["worker_imports"][:20], indent=1)

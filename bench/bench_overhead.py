"""The harness's own overhead on the full Neo item set: collection, and a fully cached replay of a full run.

    python bench/bench_overhead.py [--jaster-data …/evaluation/test] [--mtbench-data …/mtbench] [--out DIR]
        [--skip collect|run|replay|profile] [--profile-collect] [--bytecode-cache] [--top 25]

(i)   `pytest benchmarks --collect-only -q` with every task on (jaster ja/en 0/4-shot, test and dev; MT-Bench ja/en),
      testmode false, the full data; the model is an OpenAI-compatible URL, so nothing is loaded. Target: < 5 s.
(ii)  a full (non-test-mode) run against an in-process scripted OpenAI-compatible server (selftests/scripted_judge.py,
      model and judge), then `pytest … --replay` on the same run directory, timed from outside. Target: < 60 s.
(iii) the replay again under `python -m cProfile`; prints the top cumulative entries inside nejumi_plugin and the
      top entries overall by own time. `--profile-collect` profiles the collection the same way.
With `--out DIR` the run directory is kept, and a later call with `--skip run` replays it without the server.
`--bytecode-cache` lets the pytest subprocesses cache bytecode (PYTHONPYCACHEPREFIX=<out>/pycache) where the
environment sets PYTHONDONTWRITEBYTECODE=1 (then every run compiles the harness and rewrites its asserts anew).
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "selftests"))
from scripted_judge import ScriptedJudge, serve  # type: ignore[import-not-found]

DEMO_JASTER = REPO / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"  # 2 items a dataset
DEMO_MTBENCH = REPO / "nejumi_plugin" / "demo_data" / "mtbench"  # the 8-question test-mode sets
RUN = "full"
DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens: collection and replay must not call anything


def write_config(path: Path, url: str, jaster: Path, mtbench: Path, testmode: bool = False) -> Path:
    """Every Neo task on, full data (test mode: Neo's test-mode counts, the vendored 8-question MT-Bench sets), the
    model and the judge both served at `url`."""
    keys = (
        "question_artifacts_path",
        "test_question_artifacts_path",
        "referenceanswer_artifacts_path",
        "test_referenceanswer_artifacts_path",
        "judge_prompt_artifacts_path",
    )
    cfg: dict[str, Any] = {
        "testmode": testmode,
        "model_name": "scripted",
        "wandb": {"run_name": RUN, "mode": "disabled"},
        "run_llm_jp_eval_ja_0_shot": True,
        "run_llm_jp_eval_ja_few_shots": True,
        "run_llm_jp_eval_en_0_shot": True,
        "run_llm_jp_eval_en_few_shots": True,
        "run_mt_bench_ja": True,
        "run_mt_bench_en": True,
        "model": {"api": "vllm", "base_url": url, "pretrained_model_name_or_path": "scripted", "concurrency": 32},
        "llm_jp_eval": {"dataset_artifact": None, "dataset_dir": str(jaster)},
        "mtbench": {
            "custom_conv_template": True,
            "parallel": 32,
            "dataset": {lang: dict.fromkeys(keys, str(mtbench / lang)) for lang in ("ja", "en")},
            "judge": {"api": "openai_compatible", "model": "judge", "base_url": url},
        },
    }
    if testmode:
        for lang in ("ja", "en"):
            for key in ("test_question_artifacts_path", "test_referenceanswer_artifacts_path"):
                cfg["mtbench"]["dataset"][lang][key] = str(DEMO_MTBENCH / lang)
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def pytest_cmd(cfg: Path, out: Path, *extra: str, profile: Path | None = None) -> list[str]:
    head = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    return [
        *head,
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
        *extra,
    ]


def timed(cmd: list[str], label: str, env: dict[str, str], timeout: float = 3600) -> tuple[float, str]:
    """Run `cmd` from the repo root; its wall time and the last line pytest printed (its summary)."""
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    summary = next(
        (line for line in reversed(lines) if re.search(r"\d+ (passed|failed|tests? collected)", line)),
        lines[-1] if lines else "",
    )
    if done.returncode != 0:
        print(f"{label}: rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    print(f"{label}: {wall:.2f} s  ({summary.strip('= ')})", flush=True)
    return wall, summary


def report_profile(path: Path, top: int) -> None:
    """Top entries inside nejumi_plugin by cumulative time, then the top entries overall by own time."""
    stats = pstats.Stats(str(path))
    total = max((v[3] for v in stats.stats.values()), default=0.0)  # type: ignore[attr-defined]
    print(f"\nprofile {path} (largest cumulative entry {total:.1f} s)")
    rows = [(cum, tt, nc, f"{file}:{line}:{func}") for (file, line, func), (_, nc, tt, cum, _) in stats.stats.items()]  # type: ignore[attr-defined]

    def short(name: str) -> str:
        for root in (str(REPO) + "/", "site-packages/", "lib/python3.11/"):
            name = name.split(root, 1)[-1] if root in name else name
        return name

    print(f"top {top} in nejumi_plugin by cumulative time:\n{'cum s':>8}{'own s':>8}{'calls':>9}  where")
    ours = sorted((r for r in rows if "/nejumi_plugin/" in r[3]), reverse=True)[:top]
    for cum, tt, nc, where in ours:
        print(f"{cum:8.2f}{tt:8.2f}{nc:9d}  {short(where)}")
    print(f"top {top} overall by own time:\n{'own s':>8}{'cum s':>8}{'calls':>9}  where")
    for cum, tt, nc, where in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"{tt:8.2f}{cum:8.2f}{nc:9d}  {short(where)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--jaster-data",
        type=Path,
        help="jaster 1.2.6 evaluation/test (the full data; --testmode: default the demo excerpt)",
    )
    parser.add_argument(
        "--mtbench-data",
        type=Path,
        help="a folder holding MT-Bench's ja/ and en/ files (--testmode: default the demo's 8-question sets)",
    )
    parser.add_argument("--out", type=Path, default=None, help="keep the run here (default: a temp folder)")
    parser.add_argument("--skip", action="append", default=[], help="collect, run, replay or profile")
    parser.add_argument("--profile-collect", action="store_true")
    parser.add_argument("--bytecode-cache", action="store_true", help="see above")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--testmode", action="store_true", help="Neo's test mode instead of the full item set")
    args = parser.parse_args()
    skip = {s for arg in args.skip for s in arg.split(",")}
    if args.testmode:
        args.jaster_data = args.jaster_data or DEMO_JASTER
        args.mtbench_data = args.mtbench_data or DEMO_MTBENCH
    elif args.jaster_data is None or args.mtbench_data is None:
        parser.error("the full item set needs --jaster-data and --mtbench-data (or --testmode for the demo data)")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory(prefix="nejumi-overhead-") as tmp_name:
        base = args.out.resolve() if args.out else Path(tmp_name)
        base.mkdir(parents=True, exist_ok=True)
        out, cfg_path = base / "out", base / "config.yaml"
        env = dict(os.environ)
        if args.bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
        print("bytecode cache:", "off (PYTHONDONTWRITEBYTECODE)" if env.get("PYTHONDONTWRITEBYTECODE") else "on")
        if not cfg_path.exists():
            write_config(cfg_path, DEAD_URL, args.jaster_data, args.mtbench_data, args.testmode)
        if "collect" not in skip:
            for attempt in (1, 2):  # the first may read the data files from disk and fill the bytecode cache
                timed(pytest_cmd(cfg_path, base / "collect-out", "--collect-only"), f"collect-only #{attempt}", env)
        if args.profile_collect:
            prof = base / "collect.prof"
            cmd = pytest_cmd(cfg_path, base / "collect-out", "--collect-only", profile=prof)
            timed(cmd, "collect (cProfile)", env)
            report_profile(prof, args.top)
        if "run" not in skip:
            server = ScriptedJudge()
            with serve(server) as url:
                write_config(cfg_path, url, args.jaster_data, args.mtbench_data, args.testmode)
                timed(pytest_cmd(cfg_path, out), "full run (scripted server)", env)
            print(f"server answered {server.requests} requests")
        if "replay" not in skip:
            timed(pytest_cmd(cfg_path, out, "--replay"), "replay", env)
        if "profile" not in skip:
            prof = base / "replay.prof"
            timed(pytest_cmd(cfg_path, out, "--replay", profile=prof), "replay (cProfile)", env)
            report_profile(prof, args.top)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: N requests to an OpenAI-compatible server that takes DELAY seconds per answer, at several concurrency
limits, through the real OpenAI backend. Prints wall times and the speed-up against one request at a time.

    python selftests/perf/bench_api_concurrency.py [--requests 32] [--delay 0.25] [--limits 1 4 8 32]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripted_judge import ScriptedJudge, serve

from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import GenerationRequest
from nejumi_plugin.backends.openai_api import OpenAIBackend


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--limits", type=int, nargs="+", default=[1, 4, 8, 32])
    args = parser.parse_args()
    requests = [GenerationRequest("", 4, messages=(("user", f"[Instruction] {i}"),)) for i in range(args.requests)]
    baseline = None
    for limit in args.limits:
        server = ScriptedJudge(delay_s=args.delay)
        with serve(server) as url:
            backend = OpenAIBackend(ApiSettings("bench", provider="openai_compatible", base_url=url, concurrency=limit))
            started = time.perf_counter()
            done = sum(1 for _ in backend.generate(requests))
            wall = time.perf_counter() - started
            backend.close()
        baseline = baseline or wall
        ideal = math.ceil(args.requests / limit) * args.delay
        print(
            f"limit {limit:>3}: {done} answers in {wall:6.2f} s (ideal {ideal:5.2f} s, max in flight "
            f"{server.max_in_flight}), speed-up x{baseline / wall:5.1f}"
        )


if __name__ == "__main__":
    main()

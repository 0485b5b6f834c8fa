"""How the local backend's queue order changes generation time, on the demo's own jaster prompts.

    python bench/bench_queue_order.py [--model embedded:gemma-3-270m] [--batch-size 24] [--data <…/evaluation/test>]

Runs HFBackend.generate twice in one process on the harness's jaster requests for a data folder (default: the demo
data, test and dev items as in test mode, ja and en, 0- and 4-shot: the 356 prompts of the demo), once with the rows
ordered by prompt length alone (the order before long budgets were grouped) and once in the backend's order
(`hf._queue_key`: long budgets first, grouped). Prints wall, prefill and decode seconds of each and checks that the
texts are identical (the order changes which rows share a batch, never a row's greedy tokens).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "selftests" / "backends"))
sys.path.insert(0, str(REPO))

from prefix_mix import jaster_requests  # the harness's own requests, as the e2e tests send them

from nejumi_plugin.backends import hf
from nejumi_plugin.backends.hf import HFBackend, HFSettings
from nejumi_plugin.models.embedded import resolve_model_path

DEMO_DATA = REPO / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation" / "test"


def by_length(budget: int, length: int) -> tuple[int, int]:
    return (0, -length)


def run(backend: HFBackend, requests: list, label: str) -> tuple[dict[int, str], str]:
    before = replace(backend.timing)
    started = time.perf_counter()
    texts = {i: done.text for i, done in backend.generate(requests) if not isinstance(done, Exception)}
    wall = time.perf_counter() - started
    t = backend.timing
    line = (
        f"{label:<34} wall {wall:7.1f} s  prefill {t.prefill_s - before.prefill_s:7.1f} s  "
        f"decode {t.decode_s - before.decode_s:7.1f} s"
    )
    return texts, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:gemma-3-270m")
    parser.add_argument("--batch-size", default="24", help="a number, or auto (the demo config says 24)")
    parser.add_argument("--data", type=Path, default=DEMO_DATA)
    args = parser.parse_args()
    batch = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    path = resolve_model_path(args.model) if args.model.startswith("embedded:") else args.model
    backend = HFBackend(HFSettings(path, dtype="float32", device_map="cpu", batch_size=batch))
    requests = jaster_requests(args.data)
    list(backend.generate(requests[:1]))  # loads the model, outside the timings
    grouped = hf._queue_key
    hf._queue_key = by_length
    old, old_line = run(backend, requests, f"prompt length only, B={batch}")
    hf._queue_key = grouped
    new, new_line = run(backend, requests, f"long budgets grouped, B={batch}")
    print(f"{len(requests)} prompts, {args.model}, fp32, CPU")
    print(old_line)
    print(new_line)
    same = sum(old[i] == new.get(i) for i in old)
    print(f"identical texts: {same}/{len(requests)}")
    return 0 if same == len(requests) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Class 9 — Neo's GPU keys.

`mtbench.num_gpus_per_model`, `num_gpus_total` and `max_gpu_memory` have their Neo meaning on the local model path
(FastChat's placement over a GPU group, one group per xdist worker: `selftests/backends/test_factory.py` checks the
mapping); where they cannot apply, start-up says so plainly and why, before any item, and the summary repeats it.
A Neo config never means something silently different.
"""

from __future__ import annotations

import pytest
from fault_runs import Runs
from fault_server import FaultServer, serve_faults

KEYS = {"num_gpus_per_model": 2, "num_gpus_total": 4, "max_gpu_memory": "20GiB"}
SAID = "mtbench.num_gpus_per_model=2, num_gpus_total=4, max_gpu_memory=20GiB: ignored, "


@pytest.mark.parametrize(
    ("model", "why"),
    [
        ({}, "the model is served by an API"),
        ({"api": False, "device_map": "cpu"}, "model.device_map is cpu (the model runs on the CPU)"),
    ],
)
def test_gpu_keys_that_cannot_apply_are_said_at_start_up(runs: Runs, model: dict[str, object], why: str) -> None:
    if model.get("api") is False:
        model["pretrained_model_name_or_path"] = str(runs.model_dir)
    with serve_faults(FaultServer()) as url:
        config = runs.config(url, mtbench=True, model=model, run_llm_jp_eval_ja_0_shot=False)
        config.write_text(
            config.read_text().replace(
                "mtbench:\n", "mtbench:\n" + "".join(f"  {k}: {v}\n" for k, v in KEYS.items()), 1
            )
        )
        done = runs.run(config, runs.root / "out", "-k", "mtbench_ja and coding")
    assert done.returncode == 0, done.output[-3000:]
    header, summary = done.stdout.split("nejumi leaderboard", 1)
    assert f"nejumi: WARNING: {SAID}{why}" in header and f"WARNING: {SAID}{why}" in summary


def test_neos_default_gpu_keys_say_nothing(runs: Runs) -> None:
    with serve_faults(FaultServer()) as url:
        done = runs.run(
            runs.config(url, mtbench=True, run_llm_jp_eval_ja_0_shot=False),
            runs.root / "out",
            "-k",
            "mtbench_ja and coding",
        )
    assert done.returncode == 0 and "num_gpus" not in done.stdout

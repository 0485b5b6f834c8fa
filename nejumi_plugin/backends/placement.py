"""Where a local model goes: one GPU (or GPU group) per xdist worker, and Neo's MT-Bench GPU keys.

Neo generates MT-Bench answers with FastChat, which loads the model on `mtbench.num_gpus_per_model` GPUs (one GPU;
or several with `device_map` "auto" and `max_memory` = `mtbench.max_gpu_memory` on each, "sequential" with 85 % of
each GPU's free memory when that is null) and runs `num_gpus_total / num_gpus_per_model` copies side by side (Ray).
Here a copy is an xdist worker: under `pytest -n K`, worker `gwK` takes GPU group `K mod (GPUs / per model)`.
Whatever of this cannot apply (no GPU, an API model, fewer workers than copies) is said at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config.mtbench_schema import MtbenchConfig

FASTCHAT_MEMORY_SHARE = 0.85  # FastChat's max_memory per GPU when max_gpu_memory is null


@dataclass(frozen=True)
class Placement:
    """`device_map` and `max_memory` (GPU index -> e.g. "20GiB") for `from_pretrained`."""

    device_map: str | None
    max_memory: tuple[tuple[int, str], ...] | None = None


def gpu_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def worker_index() -> int | None:
    """K of xdist worker `gwK`, None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def worker_count() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def worker_device_map(device_map: str | None) -> str | None:
    """Under `pytest -n N` on a machine with several GPUs, each worker puts its model on its own GPU (gw0 on
    cuda:0, gw1 on cuda:1, … wrapping around) instead of every worker spreading its copy over all of them.
    Only `device_map: auto` is changed; outside xdist, or with one GPU, it is kept."""
    index, gpus = worker_index(), gpu_count()
    if device_map != "auto" or index is None or gpus <= 1:
        return device_map
    return f"cuda:{index % gpus}"


def mtbench_placement(mtbench: MtbenchConfig, device_map: str | None) -> Placement:
    """Where MT-Bench's answer model goes: as the jaster model unless Neo's GPU keys ask for a GPU group."""
    per = mtbench.num_gpus_per_model
    if device_map == "cpu" or (per == 1 and mtbench.max_gpu_memory is None):
        return Placement(worker_device_map(device_map))  # a model the config keeps on the CPU stays there
    gpus = gpu_count()
    if gpus == 0:
        return Placement(worker_device_map(device_map))
    groups = max(1, gpus // per)
    first = ((worker_index() or 0) % groups) * per
    group = list(range(first, min(gpus, first + per)))
    if per == 1:
        return Placement(f"cuda:{group[0]}")  # FastChat: one GPU, max_gpu_memory unused
    if mtbench.max_gpu_memory is not None:
        return Placement("auto", tuple((i, mtbench.max_gpu_memory) for i in group))
    return Placement("sequential", tuple((i, _free_share(i)) for i in group))


def _free_share(gpu: int) -> str:
    import torch

    free, _ = torch.cuda.mem_get_info(gpu)
    return f"{int(free * FASTCHAT_MEMORY_SHARE / 2**30)}GiB"


def gpu_key_notes(mtbench: MtbenchConfig, *, api: bool, workers: int, device_map: str | None = "auto") -> list[str]:
    """What start-up says about Neo's GPU keys when they cannot mean on this run what they meant on Neo (nothing,
    and torch is not even imported, when they are at their defaults)."""
    per, total = mtbench.num_gpus_per_model, mtbench.num_gpus_total
    if (per, total, mtbench.max_gpu_memory) == (1, 1, None):
        return []
    keys = f"mtbench.num_gpus_per_model={per}, num_gpus_total={total}, max_gpu_memory={mtbench.max_gpu_memory}"
    if api:
        return [f"{keys}: ignored, the model is served by an API"]
    if device_map == "cpu":
        return [f"{keys}: ignored, model.device_map is cpu (the model runs on the CPU)"]
    gpus = gpu_count()
    if gpus == 0:
        return [f"{keys}: ignored, no GPU is visible (the model runs on the CPU)"]
    notes = []
    if per > gpus:
        notes.append(f"mtbench.num_gpus_per_model={per} but {gpus} GPU(s) are visible: each copy uses all of them")
    copies = max(1, total // per)
    if copies > 1 and workers != copies:
        notes.append(
            f"mtbench.num_gpus_total={total} with num_gpus_per_model={per} is {copies} copies of the model "
            f"on Neo: run `pytest -n {copies}` for that (each worker takes its own {per}-GPU group); this run "
            f"has {workers} worker(s)"
        )
    return notes

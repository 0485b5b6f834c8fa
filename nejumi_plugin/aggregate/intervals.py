"""95 % bootstrap intervals for every score of a run's leaderboard row (issue: "numbers with error bars").

Each replicate recomputes a score exactly the way the leaderboard does, on a resample drawn with replacement from
the samples that score was computed on: each family resamples its own way (jaster: test samples within each
dataset; MT-Bench: questions within each category) through `Family.replicates`. Draws come from
`numpy.random.default_rng([seed, crc32(name)])` per group (a dataset, a category), so a group's interval does not
depend on what else the run holds, and two runs with the same samples are resampled with the same draws (a paired
comparison). Intervals are percentile intervals, keyed by the run's leaderboard column names.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .samples import Table, read_tables

if TYPE_CHECKING:
    import numpy as np

    from ..family import Family

Interval = dict[str, float]  # {"low": x, "high": y}

DEFAULT_B = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
METHOD = "percentile bootstrap"


def resample_indices(name: str, n: int, b: int = DEFAULT_B, seed: int = DEFAULT_SEED) -> np.ndarray:
    """`b` x `n` indices into `n` samples, drawn with replacement; the same (name, n, b, seed) gives the same draws."""
    import numpy as np  # here, not at load: collecting items and the report's helpers need no numpy

    rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    return rng.integers(0, n, size=(b, n)) if n else np.zeros((b, 0), dtype=np.int64)


def percentile_interval(replicates: np.ndarray, level: float = DEFAULT_LEVEL) -> Interval | None:
    """The percentile interval of the replicates (NaN replicates, where a score was undefined, left out)."""
    import numpy as np

    values = np.asarray(replicates, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return {"low": float(low), "high": float(high)}


# --- a whole run --------------------------------------------------------------------------------------------------


def run_intervals(
    tables: Mapping[str, Table],
    families: Sequence[Family],
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> dict[str, Interval]:
    """Intervals for every score the run's tables support (what `tables/*.json` holds), keyed by leaderboard column
    name: each family's tasks found among the tables, resampled as the family resamples them."""
    blocks: dict[str, np.ndarray] = {}
    for family in families:
        for task in family.found(tables):
            reps = family.replicates(task, family.samples(task, tables), b=b, seed=seed)
            blocks.update({task.column(k): v for k, v in reps.items()})
    out = {column: percentile_interval(reps, level) for column, reps in blocks.items()}
    return {column: interval for column, interval in out.items() if interval is not None}


def run_dir_intervals(
    run_dir: Path,
    families: Sequence[Family],
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> dict[str, Interval]:
    """`run_intervals` over the tables a run directory holds."""
    return run_intervals(read_tables(run_dir), families, b=b, seed=seed, level=level)


def intervals_meta(
    intervals: Mapping[str, Interval],
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
    families: Sequence[Family] = (),
) -> dict[str, Any]:
    """The `meta["intervals"]` block of leaderboard.json: how the intervals were made (each family saying how it
    resamples), then one per column (bounds rounded to 6 decimals)."""
    return {
        "method": METHOD,
        "level": level,
        "b": b,
        "seed": seed,
        "resampling": "; ".join(f"{family.title}: {family.resampling}" for family in families),
        "columns": {k: {side: round(x, 6) for side, x in v.items()} for k, v in intervals.items()},
    }


def columns_of_meta(meta: Mapping[str, Any]) -> dict[str, Interval]:
    """The per-column intervals of a leaderboard.json meta (empty when it has none)."""
    block = meta.get("intervals") or {}
    return dict(block.get("columns", {})) if isinstance(block, Mapping) else {}


def format_interval(value: float | None, interval: Mapping[str, float] | None, digits: int = 4) -> str:
    """`0.4550 [0.3600, 0.5500]`, or the value alone without an interval."""
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    return f"{text} [{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]" if interval else text

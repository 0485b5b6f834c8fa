"""A stratified bootstrap for any family: units resampled within each group, every replicate rescored as a whole.

It is what `FamilyBase.replicates` uses for a family that does not vectorise its own (jaster and MT-Bench do): slow
(each replicate calls the family's scoring), but it scores replicates exactly as the leaderboard scores the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..family import Sample
from .intervals import resample_indices


def stratified_replicates(
    samples: Sequence[Sample], score: Callable[[list[Sample]], Mapping[str, float]], *, b: int, seed: int
) -> dict[str, np.ndarray]:
    """column -> `b` replicates of `score` over resamples: the units of each group drawn with replacement (a unit's
    samples travel together), with the draws of `resample_indices(group, units, b, seed)`."""
    units: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    for sample in samples:
        units[sample.group][sample.unit].append(sample)
    ordered = {g: [members[u] for u in sorted(members)] for g, members in sorted(units.items())}
    draws = {g: resample_indices(g, len(us), b, seed) for g, us in ordered.items()}
    columns: dict[str, list[float]] = defaultdict(list)
    for i in range(b):
        picked = [s for g, us in ordered.items() for j in draws[g][i] for s in us[j]]
        for column, value in score(picked).items():
            columns[column].append(value)
    return {column: np.asarray(values, dtype=np.float64) for column, values in columns.items() if len(values) == b}

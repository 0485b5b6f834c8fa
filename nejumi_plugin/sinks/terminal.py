"""A readable summary of the run at the end of the pytest output."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..aggregate.jaster import JasterTaskTables

_HEADLINE = ("AVG", "NLI", "QA", "RC", "MC", "FA", "MR")


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def _mmlu_mean(scores: dict[str, float]) -> tuple[int, float] | None:
    subjects = [v for k, v in scores.items() if k.startswith("mmlu_en_")]
    return (len(subjects), statistics.mean(subjects)) if subjects else None


def summary_lines(tasks: Sequence[JasterTaskTables], run_dir: str, complete: bool, failed: int) -> list[str]:
    """One column per task: headline scores, then each Japanese dataset, then the MMLU subjects' mean."""
    if not tasks:
        return ["no jaster task was scored"]
    keys = [k for k in _HEADLINE if any(k in t.scores for t in tasks)]
    keys += sorted({k for t in tasks for k in t.scores if k not in _HEADLINE and not k.startswith("mmlu_en_")})
    rows = [[k, *(f"{t.scores[k]:.4f}" if k in t.scores else "" for t in tasks)] for k in keys]
    mmlu = [_mmlu_mean(t.scores) for t in tasks]
    if any(mmlu):
        n = max(m[0] for m in mmlu if m)
        rows.append([f"mmlu_en ({n} subjects, mean)", *(f"{m[1]:.4f}" if m else "" for m in mmlu)])
    lines = _grid(["score", *(t.setting.task for t in tasks)], rows)
    state = "complete" if complete else f"INCOMPLETE: {failed} item(s) could not be scored"
    return [*lines, "", f"results: {run_dir} ({state})"]

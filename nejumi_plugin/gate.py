"""A regression gate on the leaderboard row: `--fail-under jnli=0.55,AVG=0.4` fails the run below a bound.

A bound is `KEY=NUMBER`; a spec is bounds joined by commas (spaces around the parts are ignored). A key selects
leaderboard columns by this rule, first match wins:

1. the exact column name (`jnli_exact_match_jaster_ja_0shot`, `AVG_MTbench_en`) selects that column;
2. a key holding `*`, `?` or `[` is a shell pattern over the whole name (`*_jaster_ja_0shot`, `AVG_MTbench_*`);
3. otherwise the key's `_`-separated tokens must be the leading tokens of the column name: `jnli` selects
   `jnli_exact_match_jaster_ja_0shot` and `jnli_exact_match_jaster_ja_4shot`, `AVG_jaster` every jaster AVG,
   `AVG_MTbench_ja` that one column, `wiki` every wiki_* dataset, `mmlu_en` every MMLU subject.

Every selected column must reach the bound (a value equal to the bound passes). Note that `AVG` selects the jaster
AVGs (0-1) and the MT-Bench AVGs (1-10) alike; use `AVG_jaster` / `AVG_MTbench` to bound one scale. A key that
selects no column is a violation ("no such score"), never a silent pass; so is a selected column without a number
(e.g. an MT-Bench AVG with every judgment unreadable).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from typing import Any

Bounds = dict[str, float]


def parse_bounds(spec: str | Mapping[str, Any]) -> Bounds:
    """`"jnli=0.55,AVG=0.4"` (or a mapping, e.g. from a config block) -> {"jnli": 0.55, "AVG": 0.4}.

    Raises ValueError naming the part that is not `KEY=NUMBER`, or a key given twice."""
    items: list[tuple[str, Any]]
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        items = []
        for part in spec.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"bad bound {part.strip()!r} in {spec!r}: expected KEY=NUMBER, e.g. jnli=0.55")
            items.append((key.strip(), value.strip()))
    bounds: Bounds = {}
    for key, value in items:
        if not key or any(c.isspace() for c in key):
            raise ValueError(f"bad bound key {key!r}: a column name, its leading tokens or a pattern")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"bad bound {key}={value!r}: {value!r} is not a number") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise ValueError(f"bad bound {key}={value!r}: not a finite number")
        if key in bounds:
            raise ValueError(f"bound {key!r} is given twice")
        bounds[key] = number
    return bounds


def matching_columns(key: str, columns: Sequence[str]) -> list[str]:
    """The leaderboard columns `key` selects (see the module docstring for the rule)."""
    if key in columns:
        return [key]
    if any(c in key for c in "*?["):
        return [c for c in columns if fnmatch.fnmatchcase(c, key)]
    tokens = key.split("_")
    return [c for c in columns if c.split("_")[: len(tokens)] == tokens]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def check_bounds(row_columns: Sequence[str], row_values: Sequence[Any], bounds: Mapping[str, float]) -> list[str]:
    """The violations of `bounds` by one leaderboard row, as readable lines (empty: the gate passes)."""
    row = dict(zip(row_columns, row_values))
    columns = [c for c in row_columns if c != "model_name"]
    problems = []
    for key, bound in bounds.items():
        selected = matching_columns(key, columns)
        if not selected:
            problems.append(f"{key} >= {bound:g}: no such score in the leaderboard row")
        for column in selected:
            value = _number(row[column])
            if value is None:
                problems.append(f"{column} >= {bound:g} ({key}): no score ({row[column]!r})")
            elif value < bound:
                problems.append(f"{column} = {value:.4f} is below {bound:g} ({key})")
    return problems

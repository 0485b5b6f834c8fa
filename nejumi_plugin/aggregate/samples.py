"""A run's tables read back as tasks and samples: what intervals, the HTML report and `compare` work from.

Per-sample scores: a jaster sample is scored with its dataset's first mean metric (exact_match -> `exact`,
char_f1, set_f1, as `metrics.py` scores one pair); a dataset scored only by correlations (jsts) has no per-sample
score, and its sample counts as wrong when the prediction differs from the gold answer. An MT-Bench sample is one
(question, turn) with its judge rating; -1 is a judgment whose rating could not be read (a parse failure).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..metrics import char_f1, exact, set_f1
from ..tasks.jaster.datasets import CATEGORIES

Table = Mapping[str, Any]  # {"columns": [...], "data": [[...], ...]}
Row = Mapping[str, Any]

MEAN_METRICS = {"exact_match": exact, "char_f1": char_f1, "set_f1": set_f1}
CORRELATION_METRICS = ("pearson", "spearman")
JASTER_OUTPUT = re.compile(r"^jaster_output_table_(?P<suffix>(?P<lang>[a-z]+)_(?P<shots>\d+)shot)$")
MTBENCH_OUTPUT = re.compile(r"^mtbench_output_table_(?P<lang>[a-z]+)$")


def rows_of(table: Table) -> list[dict[str, Any]]:
    """A `{"columns", "data"}` table as one dict per row."""
    columns = list(table["columns"])
    return [dict(zip(columns, row)) for row in table["data"]]


def read_tables(run_dir: Path) -> dict[str, Table]:
    """Every `tables/<name>.json` of a run directory, by name."""
    folder = Path(run_dir) / "tables"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no tables folder (is {run_dir} a nejumi run directory?)")
    tables: dict[str, Table] = {}
    for path in sorted(folder.glob("*.json")):
        table = _read_json(path)
        if not isinstance(table, dict) or "columns" not in table or "data" not in table:
            raise ValueError(f"{path}: not a table (expected {{\"columns\": [...], \"data\": [[...]]}})")
        tables[path.stem] = table
    return tables


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def read_leaderboard(run_dir: Path) -> dict[str, Any]:
    """`leaderboard.json` of a run directory (columns, data, meta)."""
    path = Path(run_dir) / "leaderboard.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no leaderboard.json (is {run_dir} a finished nejumi run directory?)")
    board = _read_json(path)
    if not isinstance(board, dict) or "columns" not in board or not board.get("data"):
        raise ValueError(f"{path}: not a leaderboard table (expected columns, data and meta)")
    return board


def default_metrics(dataset: str) -> tuple[str, ...]:
    """A dataset's metrics when no leaderboard table names them: Neo's categories, MMLU exact_match, jsts both."""
    if dataset == "jsts":
        return CORRELATION_METRICS
    for keys in CATEGORIES.values():
        for key in keys:
            if key.startswith(f"{dataset}_") and key[len(dataset) + 1 :] in MEAN_METRICS:
                return (key[len(dataset) + 1 :],)
    return ("exact_match",)


def metrics_from_columns(datasets: Iterable[str], columns: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each dataset's metrics as named by `<dataset>_<metric>` columns (a task's leaderboard table); defaults else."""
    columns = list(columns)
    known = (*MEAN_METRICS, *CORRELATION_METRICS)
    out = {}
    for name in sorted(set(datasets)):
        named = tuple(c[len(name) + 1 :] for c in columns if c.startswith(f"{name}_") and c[len(name) + 1 :] in known)
        out[name] = named or default_metrics(name)
    return out


@dataclass(frozen=True)
class JasterTask:
    """One jaster task of a run: its test rows and each dataset's metrics."""

    suffix: str  # `ja_0shot`
    language: str
    shots: int
    rows: tuple[dict[str, Any], ...]
    metrics: dict[str, tuple[str, ...]]


def jaster_tasks(tables: Mapping[str, Table]) -> dict[str, JasterTask]:
    """Every `jaster_output_table_<lang>_<N>shot` (test split), by suffix, ja before en and 0-shot first."""
    found = []
    for name, tbl in tables.items():
        if m := JASTER_OUTPUT.match(name):
            rows = tuple(r for r in rows_of(tbl) if r.get("data_type", "test") == "test")
            board = tables.get(f"jaster_leaderboard_table_{m['suffix']}", {"columns": []})
            metrics = metrics_from_columns((r["target_dataset"] for r in rows), board["columns"])
            found.append(JasterTask(m["suffix"], m["lang"], int(m["shots"]), rows, metrics))
    found.sort(key=lambda t: (t.language != "ja", t.language, t.shots))
    return {t.suffix: t for t in found}


def mtbench_tasks(tables: Mapping[str, Table]) -> dict[str, list[dict[str, Any]]]:
    """Every `mtbench_output_table_<lang>`'s rows, by language (ja first)."""
    found = {m["lang"]: rows_of(tbl) for name, tbl in tables.items() if (m := MTBENCH_OUTPUT.match(name))}
    return dict(sorted(found.items(), key=lambda kv: (kv[0] != "ja", kv[0])))


def sample_metric(metrics: Sequence[str]) -> str | None:
    """The metric a single jaster sample is scored with: the dataset's first mean metric (None for jsts)."""
    return next((m for m in metrics if m in MEAN_METRICS), None)


def sample_score(metric: str | None, pred: str, true: str) -> float | None:
    """One sample's score under `metric` (None when the metric has no per-sample form)."""
    return float(MEAN_METRICS[metric](str(pred), str(true))) if metric in MEAN_METRICS else None


def is_wrong(metric: str | None, pred: str, true: str) -> bool:
    """Score below 1, or (no per-sample score) a prediction that is not the gold answer."""
    score = sample_score(metric, pred, true)
    return score < 1.0 if score is not None else str(pred) != str(true)

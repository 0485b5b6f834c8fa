"""Radar charts as in Neo's W&B dashboard: a task's categories (jaster per task, MT-Bench per language), as PNG.

matplotlib is optional (`pip install "nejumi[report]"`) and imported only here, through its object API (no pyplot,
no global backend switch), so drawing never touches the state of a user's own plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..family import Task

Interval = Mapping[str, float]


@dataclass(frozen=True)
class Radar:
    """One chart: categories, their scores and (optionally) interval bounds, on a 0..`top` scale."""

    name: str  # file stem without `radar_`: `jaster_ja_0shot`, `mtbench_en`
    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    low: tuple[float, ...] | None
    high: tuple[float, ...] | None
    top: float


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def radars(
    tables: Mapping[str, Mapping[str, Any]], intervals: Mapping[str, Interval], tasks: Sequence[Task]
) -> list[Radar]:
    """A chart for every task with a radar table among `tables` (a band where every category has an interval)."""
    out = []
    for task in tasks:
        if task.radar is None or task.radar not in tables:
            continue
        data = [(str(c), float(s)) for c, s in tables[task.radar]["data"] if s is not None]
        if len(data) < 3:
            continue  # a radar needs three axes
        bounds = [intervals.get(task.column(c)) for c, _ in data]
        low = tuple(b["low"] for b in bounds) if all(bounds) else None  # type: ignore[index]
        high = tuple(b["high"] for b in bounds) if all(bounds) else None  # type: ignore[index]
        out.append(
            Radar(
                task.name,
                task.shown.replace("_", " "),
                tuple(c for c, _ in data),
                tuple(s for _, s in data),
                low,
                high,
                task.scale,
            )
        )
    return out


def _closed(values: Sequence[float]) -> list[float]:
    return [*values, values[0]]


def draw(radar: Radar, path: Path) -> Path:
    """Write one radar chart to `path` (PNG) and return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    angles = [2 * math.pi * i / len(radar.labels) for i in range(len(radar.labels))]
    fig = Figure(figsize=(4.8, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax: Any = fig.add_subplot(projection="polar")  # a PolarAxes
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    if radar.low is not None and radar.high is not None:
        ax.fill_between(
            _closed(angles),
            _closed(radar.low),
            _closed(radar.high),
            color="#4c78a8",
            alpha=0.25,
            linewidth=0,
            label="95% interval",
        )
        for angle, low, high in zip(angles, radar.low, radar.high):  # the band pinches where a bound is 0: bars too
            ax.plot([angle, angle], [low, high], color="#4c78a8", alpha=0.6, linewidth=5, solid_capstyle="butt")
    ax.plot(_closed(angles), _closed(radar.values), color="#1f4e8c", linewidth=2, marker="o", label="score")
    ax.set_xticks(angles)
    ax.set_xticklabels(radar.labels)
    ax.set_ylim(0, radar.top)
    ax.set_title(radar.title, pad=18)
    if radar.low is not None:
        ax.legend(loc="lower right", bbox_to_anchor=(1.15, -0.12), fontsize="small", frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def write_radars(run_dir: Path, charts: Sequence[Radar]) -> list[Path]:
    """`<run_dir>/radar_<name>.png` for each chart; [] without matplotlib."""
    if not matplotlib_available():
        return []
    return [draw(chart, Path(run_dir) / f"radar_{chart.name}.png") for chart in charts]

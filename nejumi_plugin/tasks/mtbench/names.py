"""Every name MT-Bench gives Neo's tables, its row's columns and its blend tasks, in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ...family import Task

FAMILY = "mtbench"
LANGUAGES = ("ja", "en")
_TABLE = re.compile(r"^mtbench_(?:output|leaderboard|radar)_table_(?P<lang>[a-z]+)$")


def output_table(language: str) -> str:
    return f"mtbench_output_table_{language}"


def leaderboard_table_name(language: str) -> str:
    return f"mtbench_leaderboard_table_{language}"


def radar_table_name(language: str) -> str:
    return f"mtbench_radar_table_{language}"


def task_of(language: str) -> Task:
    """`mtbench_ja`: columns `<column>_MTbench_ja`, Neo's blend name `mtbench_ja`, its tables in Neo's blend order
    (leaderboard, output, radar), ratings on a 1-10 scale."""
    name = f"mtbench_{language}"
    tables = (leaderboard_table_name(language), output_table(language), radar_table_name(language))
    return Task(
        FAMILY,
        name,
        f"MTbench_{language}",
        tables,
        name,
        radar_table_name(language),
        scale=10.0,
        title=f"MT-Bench {language}",
        switch=f"run_mt_bench_{language}",
        units="questions",
        reference_label="question",
    )


def languages_in(tables: Iterable[str]) -> list[str]:
    """The languages whose output table is among `tables`, ja first."""
    found = {m["lang"] for name in tables if (m := _TABLE.match(name)) and name == output_table(m["lang"])}
    return sorted(found, key=lambda lang: (lang != "ja", lang))

"""Every name jaster gives Neo's tables, its row's columns and its blend tasks, in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ...family import Task
from .cases import JasterSetting
from .datasets import CATEGORIES

FAMILY = "jaster"
HEADLINE = ("AVG", *CATEGORIES)  # the block's columns shown first
_TABLE = re.compile(r"^jaster_(?:leaderboard|output|output_dev|radar)_table_(?P<lang>[a-z]+)_(?P<shots>\d+)shot$")


def leaderboard_table(setting: JasterSetting) -> str:
    return f"jaster_leaderboard_table_{setting.suffix}"


def output_table(setting: JasterSetting, split: str = "test") -> str:
    return f"jaster_output_table_{setting.suffix}" if split == "test" else f"jaster_output_table_dev_{setting.suffix}"


def radar_table(setting: JasterSetting) -> str | None:
    return f"jaster_radar_table_{setting.suffix}" if setting.language == "ja" else None


def task_of(setting: JasterSetting) -> Task:
    """The task of one setting: `jaster_ja_4shot`, its columns `<column>_jaster_ja_4shot`, blend name
    `jaster_ja_4_shot`, and its tables in Neo's blend order (leaderboard, dev output, output, radar)."""
    radar = radar_table(setting)
    tables = (
        leaderboard_table(setting),
        output_table(setting, "dev"),
        output_table(setting),
        *((radar,) if radar else ()),
    )
    blend = f"jaster_{setting.language}_{setting.shots}_shot"
    title = f"jaster {setting.suffix}"
    switch = f"run_llm_jp_eval_{setting.language}_{'0_shot' if setting.shots == 0 else 'few_shots'}"
    return Task(FAMILY, setting.task, setting.task, tables, blend, radar, headline=HEADLINE, title=title, switch=switch)


def settings_in(tables: Iterable[str]) -> list[JasterSetting]:
    """The settings whose tables are among `tables`, ja before en, fewer shots first."""
    found = {JasterSetting(m["lang"], int(m["shots"])) for name in tables if (m := _TABLE.match(name))}
    return sorted(found, key=lambda s: (s.language != "ja", s.language, s.shots))

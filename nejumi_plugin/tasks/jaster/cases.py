"""Which jaster items exist for a config: one case per (dataset, shot setting, split, sample); see
docs/scoring-jaster.md."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import RunConfig
from .data import DataError, JasterFile, JasterLayout
from .datasets import Split, expand_target, get_spec


@dataclass(frozen=True)
class JasterSetting:
    """One of Neo's jaster tasks: a language and a number of few-shot examples."""

    language: str
    shots: int

    @property
    def suffix(self) -> str:
        """Neo's table suffix, e.g. `ja_4shot` in `jaster_leaderboard_table_ja_4shot`."""
        return f"{self.language}_{self.shots}shot"

    @property
    def task(self) -> str:
        return f"jaster_{self.suffix}"


@dataclass(frozen=True)
class JasterCase:
    """One scored sample: the first `index`-th item of a split, under one setting."""

    dataset: str
    setting: JasterSetting
    split: Split
    index: int

    @property
    def id(self) -> str:
        """The readable part of the pytest node id, e.g. `ja-4shot-test-17`."""
        head = f"{self.dataset.removeprefix('mmlu_en_')}-" if self.dataset.startswith("mmlu_en_") else ""
        return f"{head}{self.setting.language}-{self.setting.shots}shot-{self.split}-{self.index}"

    @property
    def key(self) -> str:
        """Unique within a run."""
        return f"{self.setting.task}/{self.dataset}/{self.split}/{self.index}"

    @property
    def task(self) -> str:
        return self.setting.task

    @property
    def keyword(self) -> str:
        """An extra `-k` keyword: `-k mmlu_en_anatomy` selects a subject."""
        return self.dataset


def enabled_settings(cfg: RunConfig) -> list[JasterSetting]:
    """The jaster tasks switched on by `run_llm_jp_eval_*` (a few-shot count of 0 is the 0-shot task itself)."""
    settings: list[JasterSetting] = []
    ev = cfg.llm_jp_eval
    for language, zero, few, n in (
        ("ja", cfg.run_llm_jp_eval_ja_0_shot, cfg.run_llm_jp_eval_ja_few_shots, ev.ja_num_shots),
        ("en", cfg.run_llm_jp_eval_en_0_shot, cfg.run_llm_jp_eval_en_few_shots, ev.en_num_shots),
    ):
        if zero:
            settings.append(JasterSetting(language, 0))
        if few and not (zero and n == 0):
            settings.append(JasterSetting(language, n))
    return settings


def plan_cases(datasets: tuple[str, ...], cfg: RunConfig, layout: JasterLayout) -> list[JasterCase]:
    """Every case of `datasets` that the config asks for, in a stable order."""
    selected = expand_target(cfg.llm_jp_eval.target_dataset)
    testmode = cfg.testmode
    cases: list[JasterCase] = []
    for name in datasets:
        spec = get_spec(name)
        if name not in selected:
            continue
        for setting in enabled_settings(cfg):
            if setting.language != spec.language:
                continue
            for split in ("test", "dev"):
                count = spec.max_samples(split, testmode)
                _check_size(layout.load(name, split), split, count, testmode)
                cases.extend(JasterCase(name, setting, split, i) for i in range(count))
    return cases


def _check_size(file: JasterFile, split: str, needed: int, testmode: bool) -> None:
    """A file with fewer samples than Neo scores would drop out of the row silently (and its category and the AVG
    with it): a data error instead, naming the file."""
    if len(file.samples) < needed:
        has = f"has only {len(file.samples)}" if file.samples else "has an empty samples list"
        raise DataError(
            f"{file.path}: the run scores the first {needed} {split} samples "
            f"({'test mode' if testmode else 'as Neo does'}) but the file {has}; use the complete "
            "jaster 1.2.6 file"
        )

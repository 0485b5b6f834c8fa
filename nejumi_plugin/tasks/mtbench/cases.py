"""Which MT-Bench items exist for a config: one case per question of each language switched on."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import RunConfig
from .data import MtbenchData


@dataclass(frozen=True)
class MtbenchCase:
    """One question: both of its turns and their two judgments."""

    language: str
    question_id: int
    category: str

    @property
    def task(self) -> str:
        """Neo's task name (as in blend_run's TASK_DICT), e.g. `mtbench_ja`."""
        return f"mtbench_{self.language}"

    @property
    def id(self) -> str:
        """The readable part of the pytest node id, e.g. `coding-1`."""
        return f"{self.category}-{self.question_id}"

    @property
    def key(self) -> str:
        """Unique within a run."""
        return f"{self.task}/{self.question_id}"

    @property
    def keyword(self) -> str:
        """An extra `-k` keyword: `-k "mtbench_ja and coding"` selects a category."""
        return self.category


def enabled_languages(cfg: RunConfig) -> list[str]:
    """The languages switched on by `run_mt_bench_ja` / `run_mt_bench_en`."""
    return [lang for lang, on in (("ja", cfg.run_mt_bench_ja), ("en", cfg.run_mt_bench_en)) if on]


def plan_cases(language: str, cfg: RunConfig, data: MtbenchData) -> list[MtbenchCase]:
    """Every question of the language's question file (the small set in test mode), in file order."""
    if language not in enabled_languages(cfg):
        return []
    return [MtbenchCase(language, q.question_id, q.category) for q in data.questions]

"""Which items exist: Neo's sample counts, switches and target_dataset (docs/scoring-jaster.md, "Sample counts")."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from nejumi_plugin.config import RunConfig
from nejumi_plugin.tasks.jaster.cases import JasterSetting, enabled_settings, plan_cases
from nejumi_plugin.tasks.jaster.data import JasterFile, JasterLayout, Sample
from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA, expand_target, get_spec

# the full rebuilt jaster's sample counts (vendored: selftests/data/README.md)
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "jaster" / "1.2.6" / "samples.json"


def config(**kw: object) -> RunConfig:
    return RunConfig.model_validate(kw)


@pytest.mark.parametrize(
    ("name", "testmode", "expected"),
    [
        ("jnli", False, (100, 10)),
        ("wiki_ner", False, (20, 5)),
        ("mmlu_en_anatomy", False, (5, 1)),
        ("jnli", True, (2, 2)),
        ("wiki_ner", True, (2, 2)),
        ("mmlu_en_anatomy", True, (1, 1)),
    ],
)
def test_neo_sample_caps(name: str, testmode: bool, expected: tuple[int, int]) -> None:
    spec = get_spec(name)
    assert (spec.max_samples("test", testmode), spec.max_samples("dev", testmode)) == expected


def test_settings_follow_switches_and_shot_counts() -> None:
    assert enabled_settings(config()) == [
        JasterSetting("ja", 0),
        JasterSetting("ja", 4),
        JasterSetting("en", 0),
        JasterSetting("en", 4),
    ]
    cfg = config(run_llm_jp_eval_en_0_shot=False, llm_jp_eval={"ja_num_shots": 2, "en_num_shots": 3})
    assert enabled_settings(cfg) == [JasterSetting("ja", 0), JasterSetting("ja", 2), JasterSetting("en", 3)]
    # a few-shot count of 0 is the 0-shot task itself, not a second copy of it
    assert enabled_settings(config(llm_jp_eval={"ja_num_shots": 0})) == [
        JasterSetting("ja", 0),
        JasterSetting("en", 0),
        JasterSetting("en", 4),
    ]


def test_target_dataset() -> None:
    assert expand_target("all") == set(ALL_JA) | {"jsts"} | set(ALL_EN)
    assert expand_target("mmlu_en") == set(ALL_EN)
    assert expand_target(["jnli", "mmlu_en_anatomy"]) == {"jnli", "mmlu_en_anatomy"}
    with pytest.raises(ValueError, match="llm_jp_eval.target_dataset: unknown dataset 'jnil'"):
        expand_target("jnil")


@dataclass(frozen=True)
class RecordedLayout(JasterLayout):
    """The full data's layout as far as planning reads it: each split's sample count, recorded from the real files."""

    counts: dict[str, dict[str, dict[str, int]]]

    def load(self, name: str, split: str) -> JasterFile:
        n = self.counts[name][split]["samples"]
        return JasterFile(self.path(name, split), "", 1, ("exact_match",), (Sample("", ""),) * n)


def test_full_run_item_counts_on_the_real_data() -> None:
    """Neo's counts: ja = 10 x 100 + 5 x 20 test (+ jsts 100), en = 57 x 5; dev 10 / 5 / 1."""
    counts = json.loads(SAMPLES.read_text(encoding="utf-8"))["datasets"]
    layout = RecordedLayout(Path("evaluation") / "test", counts)
    cases = plan_cases(ALL_JA + ("jsts",) + ALL_EN, config(), layout)
    per = Counter((c.setting.task, c.split) for c in cases)
    assert per[("jaster_ja_0shot", "test")] == 10 * 100 + 5 * 20 + 100
    assert per[("jaster_ja_4shot", "dev")] == 11 * 10 + 5 * 5
    assert per[("jaster_en_4shot", "test")] == 57 * 5
    assert per[("jaster_en_0shot", "dev")] == 57
    first = [c for c in cases if c.dataset == "jnli" and c.split == "test" and c.setting.shots == 4]
    assert [c.index for c in first] == list(range(100)) and first[17].id == "ja-4shot-test-17"

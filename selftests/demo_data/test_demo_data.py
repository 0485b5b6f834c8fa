"""The vendored demo excerpt of jaster 1.2.6 (``nejumi_plugin/demo_data``) is complete and faithful."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nejumi_plugin.tasks.jaster.datasets import ALL_EN, ALL_JA, REPORTED_JA

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation"
# digests of the full rebuilt jaster's files and of the excerpt made from each (vendored: selftests/data/README.md)
FULL = REPO_ROOT / "selftests" / "data" / "jaster" / "1.2.6" / "samples.json"
SPLITS = ("train", "dev", "test")
KEYS = {"instruction", "output_length", "metrics", "few_shots", "samples"}

ALL_DATASETS = ALL_JA + REPORTED_JA + ALL_EN  # every dataset the harness knows


def expected_count(name: str, split: str) -> int:
    """Samples kept: 4 train (few-shots) + Neo's test mode (2 dev / 2 test; MMLU 1 / 1)."""
    if split == "train":
        return 4
    return 1 if name.startswith("mmlu_en_") else 2


def load(path: Path) -> dict:
    """Read an evaluation JSON file."""
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def test_subject_list_is_complete() -> None:
    assert len(ALL_EN) == 57 and len(set(ALL_DATASETS)) == 16 + 57


@pytest.mark.parametrize("split", SPLITS)
def test_no_extra_files(split: str) -> None:
    present = {p.stem for p in (DEMO / split).glob("*")}
    assert present == set(ALL_DATASETS)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", ALL_DATASETS)
def test_structure(name: str, split: str) -> None:
    obj = load(DEMO / split / f"{name}.json")
    assert set(obj) == KEYS
    assert isinstance(obj["instruction"], str) and obj["instruction"]
    assert isinstance(obj["output_length"], int) and obj["output_length"] > 0
    assert isinstance(obj["metrics"], list) and obj["metrics"]
    assert len(obj["samples"]) == expected_count(name, split)
    for s in obj["samples"]:
        assert set(s) == {"input", "output"} and isinstance(s["input"], str) and isinstance(s["output"], str)


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("name", ALL_DATASETS)
def test_equals_prefix_of_the_full_data(name: str, split: str) -> None:
    """Byte for byte the full file with only its first samples: `demo_excerpt_sha256` is the digest of
    `json.dumps(dict(full, samples=full["samples"][:n]), ensure_ascii=False, indent=4)`, computed from the full file."""
    full = load(FULL)["datasets"][name][split]
    path = DEMO / split / f"{name}.json"
    assert full["samples"] >= expected_count(name, split)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == full["demo_excerpt_sha256"]
    # written exactly like the generator (and llm-jp-eval) writes it
    assert path.read_text(encoding="utf-8") == json.dumps(load(path), ensure_ascii=False, indent=4)

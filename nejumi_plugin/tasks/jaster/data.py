"""Reading llm-jp-eval's evaluation layout: `<root>/{train,dev,test}/<name>.json`
(docs/scoring-jaster.md, "Data layout")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


class DataError(Exception):
    """A jaster data file is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Sample:
    input: str
    output: str


@dataclass(frozen=True)
class JasterFile:
    """One split of one dataset as llm-jp-eval writes it."""

    path: Path
    instruction: str
    output_length: int
    metrics: tuple[str, ...]
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class JasterLayout:
    """Where a dataset's splits live. `test_dir` is Neo's `dataset_dir`; dev and train are its siblings."""

    test_dir: Path

    def path(self, name: str, split: str) -> Path:
        folder = self.test_dir if split == "test" else self.test_dir.parent / split
        return folder / f"{name}.json"

    def load(self, name: str, split: str) -> JasterFile:
        return load_file(self.path(name, split))

    def few_shots(self, name: str, n: int) -> tuple[Sample, ...]:
        """The first `n` train samples, shared by every item (docs/scoring-jaster.md, "Few-shot examples")."""
        if n == 0:
            return ()
        train = self.load(name, "train")
        if len(train.samples) < n:
            raise DataError(
                f"{train.path}: {n} few-shot examples requested but the train split has only "
                f"{len(train.samples)}; lower llm_jp_eval.ja_num_shots / en_num_shots"
            )
        return train.samples[:n]


@lru_cache(maxsize=512)
def load_file(path: Path) -> JasterFile:
    """Read and validate one evaluation JSON file (cached: collection and scoring read the same files)."""
    if not path.is_file():
        raise DataError(f"{path}: file not found; check llm_jp_eval.dataset_dir (it must point at the 'test' folder)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: not readable as UTF-8 JSON: {err}") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a JSON object with instruction, output_length, metrics, samples")
    missing = [k for k in ("instruction", "output_length", "metrics", "samples") if k not in raw]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}")
    if not isinstance(raw["instruction"], str):
        raise DataError(f"{path}: 'instruction' must be a string")
    length = raw["output_length"]
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise DataError(f"{path}: 'output_length' must be a positive integer (got {length!r})")
    metrics = raw["metrics"]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise DataError(f"{path}: 'metrics' must be a list of metric names")
    if not isinstance(raw["samples"], list):
        raise DataError(f"{path}: 'samples' must be a list")
    samples = []
    for i, item in enumerate(raw["samples"]):
        if not (isinstance(item, dict) and isinstance(item.get("input"), str) and isinstance(item.get("output"), str)):
            raise DataError(f"{path}: samples[{i}] must be an object with string 'input' and 'output'")
        samples.append(Sample(item["input"], item["output"]))
    return JasterFile(path, raw["instruction"], length, tuple(metrics), tuple(samples))

"""Reading llm-jp-eval's evaluation files: errors name the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nejumi_plugin.tasks.jaster.data import DataError, JasterLayout, load_file


def write(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


GOOD = {
    "instruction": "i",
    "output_length": 3,
    "metrics": ["exact_match"],
    "few_shots": [],
    "samples": [{"input": "a", "output": "b"}, {"input": "c", "output": "d"}],
}


def test_layout_reads_splits_and_few_shots(tmp_path: Path) -> None:
    write(tmp_path / "test" / "x.json", GOOD)
    write(tmp_path / "train" / "x.json", GOOD)
    layout = JasterLayout(tmp_path / "test")
    assert layout.load("x", "test").output_length == 3
    assert [s.output for s in layout.few_shots("x", 1)] == ["b"]
    assert layout.few_shots("x", 0) == ()
    with pytest.raises(DataError, match=r"train/x.json: 3 few-shot examples requested but the train split has only 2"):
        layout.few_shots("x", 3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable as UTF-8 JSON"),
        ([1, 2], "expected a JSON object"),
        ({"instruction": "i"}, "missing key\\(s\\) output_length, metrics, samples"),
        ({**GOOD, "output_length": 0}, "'output_length' must be a positive integer"),
        ({**GOOD, "metrics": "exact_match"}, "'metrics' must be a list"),
        ({**GOOD, "samples": [{"input": "a"}]}, r"samples\[0\] must be an object with string 'input' and 'output'"),
    ],
)
def test_malformed_files_name_file_and_problem(tmp_path: Path, content: object, message: str) -> None:
    path = write(tmp_path / "bad.json", content)
    with pytest.raises(DataError, match=f"{path}.*{message}"):
        load_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.json: file not found; check llm_jp_eval.dataset_dir"):
        load_file(tmp_path / "nope.json")

"""Real-model runs on the embedded Gemma-3 270M (slow: deselected by default; `pytest selftests -m slow`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "configs" / "demo.yaml"


def output_rows(run_dir: Path, name: str) -> list[dict]:
    table = json.loads((run_dir / "tables" / f"{name}.json").read_text(encoding="utf-8"))
    return [dict(zip(table["columns"], row)) for row in table["data"]]


@pytest.mark.slow
def test_demo_subset_on_gemma_and_blank_line_stop_changes_nothing(pytester: pytest.Pytester) -> None:
    """Gemma answers in Japanese through the whole pipeline; stopping at the first blank line leaves every score."""
    args = [str(REPO / "benchmarks"), "--model-config", str(DEMO), "-p", "no:cacheprovider", "-k", "jnli or niilc"]
    stopped = pytester.runpytest_subprocess(*args, "--output-dir", "stop")
    stopped.assert_outcomes(passed=16)
    full = pytester.runpytest_subprocess(*args, "--output-dir", "full", "--set", "llm_jp_eval.stop_at_blank_line=false")
    full.assert_outcomes(passed=16)
    for name in ("jaster_output_table_ja_0shot", "jaster_output_table_ja_4shot", "jaster_output_table_dev_ja_4shot"):
        a = output_rows(pytester.path / "stop" / "demo-gemma-3-270m", name)
        b = output_rows(pytester.path / "full" / "demo-gemma-3-270m", name)
        assert [(r["pred"], r["exact"], r["char_f1"], r["set_f1"]) for r in a] == [
            (r["pred"], r["exact"], r["char_f1"], r["set_f1"]) for r in b
        ]
        assert any(r["pred"].strip() for r in a)  # a real model: not all blank
    lb = json.loads((pytester.path / "stop" / "demo-gemma-3-270m" / "leaderboard.json").read_text())
    assert lb["meta"]["complete"] and "niilc_char_f1_jaster_ja_4shot" in lb["columns"]

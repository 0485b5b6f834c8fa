"""The end-of-run summary."""

from __future__ import annotations

from nejumi_plugin.aggregate.jaster import JasterTaskTables
from nejumi_plugin.sinks.terminal import summary_lines
from nejumi_plugin.tasks.jaster.cases import JasterSetting

COUNTS = {"expected": 4, "scored": 4, "failed": 0, "from_cache": 0}


def test_summary_has_one_column_per_task_and_folds_mmlu_subjects() -> None:
    ja = JasterTaskTables(JasterSetting("ja", 0), {"AVG": 0.5, "NLI": 0.25, "jnli_exact_match": 0.25})
    en = JasterTaskTables(JasterSetting("en", 4), {"mmlu_en_anatomy_exact_match": 1.0, "mmlu_en_virology_exact_match": 0.0})
    lines = summary_lines([ja, en], "outputs/run", True, COUNTS)
    assert lines[0].split() == ["score", "jaster_ja_0shot", "jaster_en_4shot"]
    assert lines[2].split() == ["AVG", "0.5000"] and lines[4].split() == ["jnli_exact_match", "0.2500"]
    assert lines[5].split()[-1] == "0.5000" and "mmlu_en (2 subjects, mean)" in lines[5]
    assert lines[-1] == "results: outputs/run (complete)"


def test_incomplete_runs_say_so() -> None:
    lines = summary_lines([], "outputs/run", False, {**COUNTS, "scored": 1, "failed": 1})
    assert lines[-1] == "results: outputs/run (INCOMPLETE: 1 of 4 items scored, 1 failed)"

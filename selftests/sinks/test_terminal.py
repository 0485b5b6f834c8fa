"""The end-of-run summary."""

from __future__ import annotations

from nejumi_plugin.family import Built
from nejumi_plugin.sinks.terminal import calls_line, state_line
from nejumi_plugin.tasks.jaster.cases import JasterSetting
from nejumi_plugin.tasks.jaster.names import task_of as jaster_task
from nejumi_plugin.tasks.jaster.report import summary_lines as jaster_lines
from nejumi_plugin.tasks.mtbench.canary import canary_line
from nejumi_plugin.tasks.mtbench.names import task_of as mtbench_task
from nejumi_plugin.tasks.mtbench.report import summary_lines as mtbench_lines
from nejumi_plugin.tasks.mtbench.tables import judge_line

COUNTS = {"expected": 4, "scored": 4, "failed": 0}


def test_summary_has_one_column_per_task_and_folds_mmlu_subjects() -> None:
    ja = Built(jaster_task(JasterSetting("ja", 0)), {}, {"AVG": 0.5, "NLI": 0.25, "jnli_exact_match": 0.25})
    en = Built(
        jaster_task(JasterSetting("en", 4)),
        {},
        {"mmlu_en_anatomy_exact_match": 1.0, "mmlu_en_virology_exact_match": 0.0},
    )
    lines = jaster_lines([ja, en])
    assert lines[0].split() == ["score", "jaster_ja_0shot", "jaster_en_4shot"]
    assert lines[2].split() == ["AVG", "0.5000"] and lines[4].split() == ["jnli_exact_match", "0.2500"]
    assert lines[5].split()[-1] == "0.5000" and "mmlu_en (2 subjects, mean)" in lines[5]
    assert state_line("outputs/run", True, COUNTS) == "results: outputs/run (complete)"


def test_incomplete_runs_say_so() -> None:
    line = state_line("outputs/run", False, {**COUNTS, "scored": 1, "failed": 1})
    assert line == "results: outputs/run (INCOMPLETE: 1 of 4 items scored, 1 failed)"
    sink = state_line("outputs/run", False, COUNTS, ["W&B logging failed (OSError: full)"])
    assert sink == "results: outputs/run (INCOMPLETE: all 4 items scored, but W&B logging failed (OSError: full))"


def test_mtbench_grid_shows_neo_scores_show_result_and_the_judge() -> None:
    meta = {
        "show_result": {"turn1": 4.5, "turn2": 5.0, "average": 4.75},
        "parse_failures": 2,
        "judge": {"api": "hf", "model": "tiny"},
        "notes": [judge_line({"api": "hf", "model": "tiny"}), canary_line(None)],
    }
    ja = Built(mtbench_task("ja"), {}, {"coding": 3.0, "writing": 6.5, "AVG": 4.75}, meta=meta)
    lines = mtbench_lines([ja])
    assert lines[0].split() == ["score", "mtbench_ja"]
    assert [line.split()[-1] for line in lines[2:5]] == ["4.7500", "3.0000", "6.5000"]  # AVG first
    assert "show_result turn2" in lines[6] and lines[6].endswith("5.0000")
    assert lines[8].split()[-1] == "2"
    local = "(a local model: for demonstration only; its scores are not comparable with GPT-4's)"
    assert lines[9] == f"mtbench_ja: AVG judged by hf tiny {local}"
    assert lines[10] == "mtbench_ja: canary: off (mtbench.judge.canary: 0)"


def test_calls_line_says_what_was_made_and_what_the_store_served() -> None:
    calls = {
        "model": {"made": 3, "served": 5, "failed": 0, "output_tokens": 9},
        "judge": {"made": 0, "served": 2, "failed": 1, "output_tokens": 0},
    }
    assert calls_line(calls, False) == "calls: model 3 made, 5 from the store; judge 0 made, 2 from the store, 1 failed"
    assert calls_line({}, True) == "calls: none (replay)"

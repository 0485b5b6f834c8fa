"""`compare`: two crafted runs -> exactly the samples whose score changed, and paired bootstrap differences."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_run import jaster_record, mtbench_record, synthetic_jaster, write_fake_run

from nejumi_plugin.__main__ import main
from nejumi_plugin.compare import compare_runs, format_comparison
from nejumi_plugin.tasks.jaster.metrics import char_f1


def _jaster(changes: dict[tuple[str, int], str], extra: int = 0) -> list[dict]:
    """jnli 0-9 (even ids right), jsquad 0-4, jsts 0-4; `changes` overrides predictions; `extra` more jnli ids."""
    preds = {("jnli", i): "entailment" if i % 2 == 0 else "neutral" for i in range(10 + extra)}
    preds |= {("jsquad", i): "東京 都庁" for i in range(5)} | {("jsts", i): f"{i}.0" for i in range(5)}
    gold = {"jnli": "entailment", "jsquad": "東京 都庁", "jsts": None}
    out = []
    for (dataset, i), pred in {**preds, **changes}.items():
        out.append(jaster_record(dataset, 0, i, pred, gold[dataset] or f"{i}.5"))
    return out


def _mtbench(changes: dict[int, tuple[tuple[float, float], tuple[str, str]]]) -> list[dict]:
    base = {q: ((5 + q % 3, 6), (f"答え {q}-1", f"答え {q}-2")) for q in range(1, 9)}
    base |= changes
    return [
        mtbench_record(q, "writing" if q <= 4 else "math", scores, answers=answers)  # type: ignore[arg-type]
        for q, (scores, answers) in base.items()
    ]


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "run-a", tmp_path / "run-b"
    write_fake_run(a, {("ja", 0): _jaster({})}, {"ja": _mtbench({})})
    changed = {
        ("jnli", 2): "neutral",  # right -> wrong: listed
        ("jnli", 3): "entailment",  # wrong -> right: listed
        ("jnli", 5): "contradiction",  # wrong -> another wrong answer: same score, not listed
        ("jsquad", 1): "東京 タワー",  # char_f1 drops: listed
        ("jsts", 1): "4.0",  # the number the correlation sees changes: listed
        ("jsts", 2): "2.00",  # another spelling of 2.0: not listed
    }
    b_mt = {
        1: ((5 + 1 % 3, 9), ("答え 1-1", "もっと良い答え")),  # turn 2 rating 6 -> 9: listed
        2: ((-1, 6), ("答え 2-1", "答え 2-2")),  # turn 1 becomes unreadable: listed
        3: ((5, 6), ("別の答え", "答え 3-2")),
    }  # same ratings, other answer: not listed
    write_fake_run(b, {("ja", 0): _jaster(changed, extra=1)}, {"ja": _mtbench(b_mt)})
    return a, b


def test_lists_exactly_the_samples_whose_score_changed(runs: tuple[Path, Path]) -> None:
    result = compare_runs(*runs, b=300)
    got = {(s.task, s.group, s.key, s.score_a, s.score_b) for s in result.changed}
    assert got == {
        ("jaster_ja_0shot", "jnli", "2", 1.0, 0.0),
        ("jaster_ja_0shot", "jnli", "3", 0.0, 1.0),
        ("jaster_ja_0shot", "jsquad", "1", 1.0, char_f1("東京 タワー", "東京 都庁")),
        ("jaster_ja_0shot", "jsts", "1", 1.0, 4.0),
        ("mtbench_ja", "writing", "q1 turn 2", 6.0, 9.0),
        ("mtbench_ja", "writing", "q2 turn 1", 7.0, -1.0),
    }
    jsquad = next(s for s in result.changed if s.group == "jsquad")
    assert (jsquad.pred_a, jsquad.pred_b, jsquad.reference) == ("東京 都庁", "東京 タワー", "東京 都庁")
    assert result.shared == {"jaster_ja_0shot": 20, "mtbench_ja": 8}
    assert result.only == {"jaster_ja_0shot": (0, 1), "mtbench_ja": (0, 0)}
    text = format_comparison(result)
    assert "samples whose score changed: 6" in text
    assert "B: もっと良い答え" in text and "rating 7.0000 -> unreadable" in text
    # each task's own words, from its Task: MT-Bench resamples questions and shows the question, jaster the gold
    assert (
        "jaster_ja_0shot: 20 shared samples (0 only in A, 1 only in B)" in text
        and "mtbench_ja: 8 shared questions" in text
    )
    assert "    gold: 東京 都庁" in text and "    question: " in text


def test_paired_differences(runs: tuple[Path, Path], tmp_path: Path) -> None:
    result = compare_runs(*runs, b=300)
    diffs = {d.column: d for d in result.diffs}
    jnli = diffs["jnli_exact_match_jaster_ja_0shot"]
    assert (jnli.a, jnli.b) == (0.5, round(6 / 11, 4))  # B has an 11th sample (right, not paired)
    assert jnli.low is not None and jnli.low < 0 < jnli.high and jnli.p_value == 1.0  # one up, one down: 0 on shared
    writing = diffs["writing_MTbench_ja"]  # turn 2 of q1 up 3, turn 1 of q2 (7) unreadable in B
    assert (writing.a, writing.b) == (6.0, pytest.approx(44 / 7))
    assert writing.low is not None and writing.low <= writing.delta <= writing.high
    assert diffs["math_MTbench_ja"].delta == 0 and diffs["math_MTbench_ja"].p_value == 1.0
    # the same run against itself: every paired difference is exactly 0, whatever the spread of the scores
    same = compare_runs(runs[0], runs[0], b=200)
    assert same.changed == []
    assert all(d.low == d.high == 0 and d.p_value == 1.0 for d in same.diffs if d.low is not None)
    # a real move: 40 jnli samples all flip from right to wrong
    a, b = tmp_path / "big-a", tmp_path / "big-b"
    write_fake_run(a, {("ja", 0): synthetic_jaster("ja", 0, n=40, accuracy=1.0, datasets=["jnli"])})
    write_fake_run(b, {("ja", 0): synthetic_jaster("ja", 0, n=40, accuracy=0.5, datasets=["jnli"], seed=1)})
    moved = next(d for d in compare_runs(a, b, b=500).diffs if d.column == "jnli_exact_match_jaster_ja_0shot")
    assert moved.delta is not None and moved.delta < -0.3 and moved.high < 0 and moved.p_value < 0.01


def test_command_line(runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs[0]), str(runs[1]), "--b", "100", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "jnli_exact_match_jaster_ja_0shot" in out and "- jaster_ja_0shot jnli 2: exact_match" in out
    assert main(["compare", str(runs[0]), str(tmp_path / "missing")]) == 2
    assert f"{tmp_path / 'missing' / 'leaderboard.json'}: no leaderboard.json" in capsys.readouterr().err
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "leaderboard.json").write_text(open(runs[0] / "leaderboard.json").read())
    assert main(["compare", str(runs[0]), str(lone)]) == 2
    assert f"{lone / 'tables'}: no tables folder" in capsys.readouterr().err

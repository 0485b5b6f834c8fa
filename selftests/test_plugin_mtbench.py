"""End to end: MT-Bench in test mode on the tiny random model, judged by a scripted judge over HTTP and by a real
OpenAI-compatible server (`transformers serve`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e import DEMO_MTBENCH as DEMO
from e2e import invocations, load, mtbench_dataset, run_benchmarks
from scripted_judge import ScriptedJudge, serve

NO_JASTER = {f"run_llm_jp_eval_{lang}_{n}": False for lang in ("ja", "en") for n in ("0_shot", "few_shots")}


def mtbench_config(
    make_config: Callable[..., Path], judge: dict[str, Any], languages: tuple[str, ...], canary: int = 0
) -> Path:
    """MT-Bench only, on the demo questions; no canary unless asked (the request counts below are the run's own)."""
    dataset = mtbench_dataset("ja", "en")
    judge = {"canary": canary, **judge}
    return make_config(
        **NO_JASTER,
        run_mt_bench_ja="ja" in languages,
        run_mt_bench_en="en" in languages,
        mtbench={"max_new_token": 8, "custom_conv_template": True, "judge": judge, "dataset": dataset},
    )


def test_scripted_judge_gives_neo_numbers_and_a_rerun_pays_nothing(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    extraction = json.loads((DEMO / "ja" / "question.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert extraction["category"] == "extraction"
    judge = ScriptedJudge(unrated=(extraction["turns"][0],))
    with serve(judge) as url:
        cfg = mtbench_config(
            make_config, {"api": "openai_compatible", "model": "scripted-gpt-4", "base_url": url}, ("ja",)
        )
        first = run_benchmarks(pytester, cfg, tmp_path / "out", "-k", "mtbench")
        first.assert_outcomes(passed=8)
        # 16 judgments; 5 general turn-2 judgments asked twice ([[0]] first); extraction's turn 1 three times (-1)
        assert judge.requests == 16 + 5 + 2
        run_dir = tmp_path / "out" / "tiny-run"
        board = load(run_dir / "leaderboard.json")
        first_output = (run_dir / "tables" / "mtbench_output_table_ja.json").read_bytes()
        second = run_benchmarks(pytester, cfg, tmp_path / "out", "-k", "mtbench_ja")
        second.assert_outcomes(passed=8)
        assert judge.requests == 23  # the rerun replayed every answer and judgment from calls.sqlite
    rerun = load(run_dir / "leaderboard.json")
    assert rerun["data"] == board["data"]
    assert (run_dir / "tables" / "mtbench_output_table_ja.json").read_bytes() == first_output  # tstamps included
    first_run, rerun_run = invocations(run_dir)
    assert first_run["calls"]["judge"]["made"] == 23 and rerun_run["calls"]["judge"] == {
        "made": 0,
        "served": 23,
        "failed": 0,
        "output_tokens": 0,
    }
    assert rerun == board  # the rerun made no call: the same bytes, meta included
    columns = [
        f"{c}_MTbench_ja"
        for c in ("coding", "extraction", "humanities", "math", "reasoning", "roleplay", "stem", "writing", "AVG")
    ]
    assert board["columns"] == ["model_name", *columns]
    # coding/math/reasoning (4, 2) -> 3; extraction: turn 1 unparsable (-1, dropped), turn 2 6; the others (8, 6) -> 7
    assert board["data"] == [["tiny-random", 3.0, 6.0, 7.0, 3.0, 3.0, 7.0, 7.0, 7.0, 43 / 8]]
    provenance = board["meta"]["provenance"]
    assert provenance["judge_backend"] == {
        "backend": "openai",
        "provider": "openai_compatible",
        "model": "scripted-gpt-4",
        "base_url": url,
        "endpoint": "chat",
    }
    assert provenance["model_backend"]["backend"] == "hf" and provenance["model_backend"]["fingerprint"]
    questions = provenance["mtbench_files"]["ja"]["questions"]
    assert questions["sha256"] == hashlib.sha256((DEMO / "ja" / "question.jsonl").read_bytes()).hexdigest()
    meta = board["meta"]["mtbench"]["mtbench_ja"]
    assert meta["parse_failures"] == 1 and meta["judge_calls"] == 23
    assert meta["show_result"] == pytest.approx(
        {"turn1": 44 / 7, "turn2": 4.5, "average": 80 / 15, "n_rows_used": 15, "n_rows_dropped_minus1": 1}
    )
    output = load(run_dir / "tables" / "mtbench_output_table_ja.json")
    assert output["columns"] == [
        "question_id",
        "category",
        "answer_id",
        "model",
        "question",
        "answer",
        "judge",
        "user_prompt",
        "judgment",
        "score",
        "turn",
        "tstamp",
    ]
    assert [(r[0], r[10]) for r in output["data"]] == [(q, t) for q in range(1, 80, 10) for t in (1, 2)]
    assert output["data"][2][6:10:3] == [["scripted-gpt-4", "single-v1"], -1]  # q11 turn 1
    radar = load(run_dir / "tables" / "mtbench_radar_table_ja.json")
    assert radar == {
        "columns": ["category", "score"],
        "data": [[c.split("_")[0], v] for c, v in zip(columns[:-1], board["data"][0][1:-1])],
    }
    assert "mtbench_ja" in second.stdout.str() and "parse failures (-1)" in second.stdout.str()


def test_a_real_openai_compatible_server_can_judge(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, openai_server: tuple[str, str]
) -> None:
    url, model = openai_server
    cfg = mtbench_config(
        make_config, {"api": "openai_compatible", "model": model, "base_url": url, "max_tokens": 8}, ("ja", "en")
    )
    result = run_benchmarks(pytester, cfg, tmp_path / "out")
    result.assert_outcomes(passed=16)
    run_dir = tmp_path / "out" / "tiny-run"
    board = load(run_dir / "leaderboard.json")
    for lang in ("ja", "en"):
        output = load(run_dir / "tables" / f"mtbench_output_table_{lang}.json")
        assert len(output["data"]) == 16
        scores = [row[9] for row in output["data"]]
        assert all(s == -1 or s >= 0 for s in scores)
        meta = board["meta"]["mtbench"][f"mtbench_{lang}"]
        assert meta["parse_failures"] == scores.count(-1)
        assert meta["show_result"]["n_rows_used"] + meta["show_result"]["n_rows_dropped_minus1"] == 16
        # whatever the random model answered, the tables agree with each other
        radar = dict(load(run_dir / "tables" / f"mtbench_radar_table_{lang}.json")["data"])
        assert {c: board["data"][0][board["columns"].index(f"{c}_MTbench_{lang}")] for c in radar} == radar
    assert board["meta"]["complete"] is True


def test_a_broken_question_file_fails_one_item_that_names_file_and_question(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    import shutil

    broken = tmp_path / "ja"
    shutil.copytree(DEMO / "ja", broken)
    lines = (broken / "question.jsonl").read_text(encoding="utf-8").splitlines()
    q11 = json.loads(lines[1])
    lines[1] = json.dumps({**q11, "turns": q11["turns"][:1]}, ensure_ascii=False)
    (broken / "question.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = mtbench_config(
        make_config, {"api": "openai_compatible", "model": "m", "base_url": "http://127.0.0.1:9/v1"}, ("ja",)
    )
    text = cfg.read_text(encoding="utf-8").replace(str(DEMO / "ja"), str(broken))
    cfg.write_text(text, encoding="utf-8")
    result = run_benchmarks(pytester, cfg, tmp_path / "out")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "test_mtbench_ja[mtbench_ja-data-error]" in out
    assert f"{broken / 'question.jsonl'}" in out and "question 11" in out
    board = load(tmp_path / "out" / "tiny-run" / "leaderboard.json")
    assert board["meta"]["complete"] is False


def test_two_workers_give_the_same_numbers(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    judge = ScriptedJudge()
    with serve(judge) as url:
        judged = {"api": "openai_compatible", "model": "j", "base_url": url}
        cfg = mtbench_config(make_config, judged, ("ja", "en"), canary=8)
        run_benchmarks(pytester, cfg, tmp_path / "out", "-n", "2").assert_outcomes(passed=16)
    board = load(tmp_path / "out" / "tiny-run" / "leaderboard.json")
    # ja and en alike: 3 reference-based categories at 3, 5 others at 7 (the canary's ratings are not among them)
    assert board["data"][0][board["columns"].index("AVG_MTbench_ja")] == 5.5
    assert board["data"][0][board["columns"].index("AVG_MTbench_en")] == 5.5
    canary = [board["meta"]["mtbench"][f"mtbench_{lang}"]["canary"] for lang in ("ja", "en")]
    assert [c["items"] for c in canary] == [8, 8]
    # each language's canary was judged once, by the worker that ran its module
    assert board["meta"]["complete"] is True and judge.requests == 2 * (16 + 5) + sum(c["calls"] for c in canary)


def test_the_canary_is_judged_in_the_run_and_stays_out_of_neo_tables(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    from nejumi_plugin.tasks.mtbench.canary import canary_items

    items = canary_items("ja", 8)
    judge = ScriptedJudge()
    with serve(judge) as url:
        judged = {"api": "openai_compatible", "model": "scripted-gpt-4", "base_url": url}
        cfg = mtbench_config(make_config, judged, ("ja",), canary=8)
        first = run_benchmarks(pytester, cfg, tmp_path / "out")
        first.assert_outcomes(passed=8)
        # the run's 16 judgments and 5 second asks, and one call per canary item (ja items are turn 1: 8 or 4)
        assert judge.requests == 16 + 5 + 8
        prompts = [body["messages"][-1]["content"] for body in judge.bodies]
        assert all(sum(item.answers[0] in p for p in prompts) == 1 for item in items)  # each judged once
        second = run_benchmarks(pytester, cfg, tmp_path / "out")
        second.assert_outcomes(passed=8)
        assert judge.requests == 29  # the rerun asked nothing: the canary's judgments came from calls.sqlite
    run_dir = tmp_path / "out" / "tiny-run"
    board = load(run_dir / "leaderboard.json")
    # the row is the run's own: the same numbers as without a canary (test_scripted_judge_gives_neo_numbers...)
    assert board["data"] == [["tiny-random", 3.0, 7.0, 7.0, 3.0, 3.0, 7.0, 7.0, 7.0, 5.5]]
    output = load(run_dir / "tables" / "mtbench_output_table_ja.json")
    assert len(output["data"]) == 16 and not any(item.answers[0] in json.dumps(output) for item in items)
    meta = board["meta"]["mtbench"]["mtbench_ja"]
    assert meta["judge_calls"] == 21  # the run's judgments only; the canary's are counted apart
    canary = meta["canary"]
    # by hand: the scripted judge rates reference-based items 4 and the others 8; GPT-4 rated these
    gpt4 = {r["category"]: r["gpt4"] for r in canary["ratings"]}
    expected = {"coding": 1, "extraction": 8, "humanities": 3, "math": 2, "reasoning": 6, "roleplay": 9, "stem": 7}
    assert gpt4 == {**expected, "writing": 10}
    scripted = {c: 4 if c in ("coding", "math", "reasoning") else 8 for c in gpt4}
    differences = [scripted[c] - gpt4[c] for c in gpt4]  # +3, 0, +5, +2, -2, -1, +1, -2
    a = canary["agreement"]
    assert (canary["items"], canary["failed"], canary["calls"], a["n"]) == (8, 0, 8, 8)
    assert a["bias"] == pytest.approx(sum(differences) / 8) == 0.75
    assert a["within_one"] == pytest.approx(3 / 8)
    from scipy.stats import spearmanr

    assert a["spearman"] == pytest.approx(spearmanr([scripted[c] for c in gpt4], list(gpt4.values())).statistic)
    assert canary["warning"] is None  # |0.75| <= 1 and spearman 0.73 >= 0.5
    line = next(line for line in second.stdout.lines if "canary (" in line)
    assert line.startswith("mtbench_ja: canary (8 items, 8 readable): bias vs GPT-4 +0.75 [")
    assert "AVG judged by openai_compatible scripted-gpt-4" in second.stdout.str()
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "canary (8 items, 8 readable): bias vs GPT-4 +0.75" in report


def test_a_judge_check_of_the_same_judge_is_shown_beside_the_avg(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    """`judge-check` run first into the same output directory: the run's AVG carries that judge's bias against GPT-4
    (summary, report, meta); in another output directory there is none to show."""
    import subprocess
    import sys

    judge = ScriptedJudge()
    with serve(judge) as url:
        cfg = mtbench_config(
            make_config, {"api": "openai_compatible", "model": "scripted-gpt-4", "base_url": url}, ("ja",)
        )
        out = tmp_path / "out"
        args = ["judge-check", "--model-config", str(cfg), "--lang", "ja", "--limit", "2", "--output-dir", str(out)]
        checked = subprocess.run([sys.executable, "-m", "nejumi_plugin", *args], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        (found,) = out.glob("judge-check-*/judge-check.json")
        bias = load(found)["agreement"]["ja"]["overall"]["bias"]
        run = run_benchmarks(pytester, cfg, out)
        run.assert_outcomes(passed=8)
        elsewhere = run_benchmarks(pytester, cfg, tmp_path / "elsewhere")
        elsewhere.assert_outcomes(passed=8)
        workers = run_benchmarks(pytester, cfg, out, "-n", "2", "--set", "model.concurrency=2")  # from the workers
        workers.assert_outcomes(passed=8)
    meta = load(out / "tiny-run" / "leaderboard.json")["meta"]["mtbench"]["mtbench_ja"]
    assert meta["judge_check"]["path"] == str(found) and meta["judge_check"]["overall"]["bias"] == bias
    line = f"judge-check ({meta['judge_check']['overall']['n']} items, ja, run prompts): bias vs GPT-4 {bias:+.2f} ["
    assert f"mtbench_ja: {line}" in run.stdout.str() and f"mtbench_ja: {line}" in workers.stdout.str()
    assert line in (out / "tiny-run" / "report.html").read_text(encoding="utf-8")
    assert "judge-check (" not in elsewhere.stdout.str()
    assert (
        "judge_check"
        not in load(tmp_path / "elsewhere" / "tiny-run" / "leaderboard.json")["meta"]["mtbench"]["mtbench_ja"]
    )

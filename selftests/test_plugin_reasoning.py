"""End to end with reasoning models, against a local server that answers as they do (`reasoning_server.py`): the
same final answers given with and without thinking give the same scores and the same leaderboard row; the thinking
goes to its own column, never into `pred` or `answer`, nor into MT-Bench's second turn or the judge's prompt; a
reasoning judge works with its own block; `mode: off` sends exactly today's requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e import load, mtbench_dataset, run_benchmarks
from reasoning_server import THINKING, ReasoningServer, serve_reasoning
from scripted_judge import ScriptedJudge, serve

ONLY_JA_0SHOT = {
    "run_llm_jp_eval_ja_few_shots": False,
    "run_llm_jp_eval_en_0_shot": False,
    "run_llm_jp_eval_en_few_shots": False,
}
SELECT = ("-k", "jnli or jamp or jsquad or mtbench_ja")


def _config(
    make_config: Callable[..., Path],
    name: str,
    url: str,
    model: str,
    judge: dict[str, Any],
    reasoning: dict[str, Any] | None = None,
) -> Path:
    api = {
        "api": "openai-compatible",
        "base_url": url,
        "pretrained_model_name_or_path": model,
        "concurrency": 8,
        **({"reasoning": reasoning} if reasoning else {}),
    }
    return make_config(
        name,
        **ONLY_JA_0SHOT,
        run_mt_bench_ja=True,
        model=api,
        mtbench={"max_new_token": 8, "judge": judge, "dataset": mtbench_dataset("ja")},
    )


def _tables(run_dir: Path) -> dict[str, Any]:
    """Every table without its wall-clock columns."""
    out = {}
    for path in sorted((run_dir / "tables").glob("*.json")):
        table = load(path)
        keep = [i for i, c in enumerate(table["columns"]) if c not in ("latency", "tstamp")]
        out[path.stem] = {
            "columns": [table["columns"][i] for i in keep],
            "data": [[row[i] for i in keep] for row in table["data"]],
        }
    return out


@pytest.fixture
def plain(pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path) -> Path:
    """A run whose model answers plainly (the same final answers the reasoning server gives)."""
    with serve(ScriptedJudge()) as url:
        judge = {"api": "openai_compatible", "base_url": url, "model": "judge"}
        result = run_benchmarks(
            pytester, _config(make_config, "plain.yaml", url, "plain", judge), tmp_path / "plain", *SELECT
        )
    result.assert_outcomes(passed=12 + 8)
    return tmp_path / "plain" / "tiny-run"


@pytest.mark.parametrize("model", ["Qwen/Qwen3-8B-inline", "deepseek-r1-field"])
def test_the_same_answers_with_thinking_give_the_same_row(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, plain: Path, model: str
) -> None:
    server, scripted = ReasoningServer(), ScriptedJudge()
    with serve_reasoning(server) as url, serve(scripted) as judge_url:
        judge = {"api": "openai_compatible", "base_url": judge_url, "model": "judge"}
        result = run_benchmarks(
            pytester, _config(make_config, "think.yaml", url, model, judge), tmp_path / "think", *SELECT
        )
    result.assert_outcomes(passed=12 + 8)
    run_dir = tmp_path / "think" / "tiny-run"
    board, plain_board = load(run_dir / "leaderboard.json"), load(plain / "leaderboard.json")
    assert (board["columns"], board["data"]) == (plain_board["columns"], plain_board["data"])
    tables, plain_tables = _tables(run_dir), _tables(plain)
    for name, table in tables.items():
        if "output_table" in name:  # Neo's columns, then the thinking in a column of its own
            assert table["columns"] == [*plain_tables[name]["columns"], "reasoning"]
            assert {row[-1] for row in table["data"]} == {THINKING}
            assert [row[:-1] for row in table["data"]] == plain_tables[name]["data"]
        else:
            assert table == plain_tables[name]
    # every request went without a stop string, with the thinking budget on top of the answer's
    answers = {3, 6, 8}  # jnli's and jamp's output_length, jsquad's (capped at 6 by the tests' data), max_new_token
    assert all("stop" not in body and body["max_tokens"] - 4096 in answers for body in server.bodies)
    second_turns = [b["messages"] for b in server.bodies if len(b["messages"]) > 2]
    assert second_turns and all(
        m["content"] == "Rating: [[8]]" for ms in second_turns for m in ms if m["role"] == "assistant"
    )  # the history carries answers, not thinking
    meta = board["meta"]["reasoning"]
    assert meta["model"] == {
        "mode": "auto",
        "thinking": True,
        "budget_tokens": 4096,
        "effort": None,
        "why": f"openai_compatible model {model!r} thinks by default",
    }
    assert meta["judge"]["thinking"] is False
    assert set(meta["tasks"]) == {"jaster_ja_0shot", "mtbench_ja"}
    assert all(t["budget_spent_thinking"] == 0 for t in meta["tasks"].values())
    judge_texts = [str(m["content"]) for body in scripted.bodies for m in body["messages"]]
    assert judge_texts and not any("Let me think." in text for text in judge_texts)  # the judge saw answers only
    assert sum("[The Start of Assistant's Answer]" in text for text in judge_texts) >= 8  # every question judged


def test_a_small_budget_is_spent_thinking_and_counted(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path
) -> None:
    server = ReasoningServer()
    with serve_reasoning(server) as url, serve(ScriptedJudge()) as judge_url:
        judge = {"api": "openai_compatible", "base_url": judge_url, "model": "judge"}
        cfg = _config(make_config, "small.yaml", url, "qwen3-inline", judge, {"mode": "on", "budget_tokens": 16})
        result = run_benchmarks(pytester, cfg, tmp_path / "out", "-k", "jnli")
    result.assert_outcomes(passed=4)
    board = load(tmp_path / "out" / "tiny-run" / "leaderboard.json")
    # the server reports no reasoning tokens (as most OpenAI-compatible servers): 4 calls said as unreported, not as 0
    spent = {"reasoning_tokens": 0, "reasoning_tokens_unreported": 4, "budget_spent_thinking": 4}
    assert board["meta"]["reasoning"]["tasks"]["jaster_ja_0shot"] == spent
    outputs = load(tmp_path / "out" / "tiny-run" / "tables" / "jaster_output_table_ja_0shot.json")
    pred = outputs["columns"].index("pred")
    assert {row[pred] for row in outputs["data"]} == {""}  # scored as wrong, never as the thinking


def test_a_reasoning_judge_works_with_its_own_block(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-judge")
    server = ReasoningServer()
    with serve(ScriptedJudge()) as model_url, serve_reasoning(server) as url:
        judge = {
            "api": "openai",
            "base_url": url,
            "model": "o3-mini",
            "api_key_env": "JUDGE_KEY",
            "reasoning": {"effort": "medium", "answer_tokens": 512},
        }
        result = run_benchmarks(
            pytester,
            _config(make_config, "judge.yaml", model_url, "plain", judge),
            tmp_path / "out",
            "-k",
            "mtbench_ja",
        )
    result.assert_outcomes(passed=8)
    assert server.refused == [] and len(server.bodies) >= 16
    assert {(b["max_completion_tokens"], b["reasoning_effort"]) for b in server.bodies} == {(4096 + 512, "medium")}
    assert not any("temperature" in b or "max_tokens" in b for b in server.bodies)
    board = load(tmp_path / "out" / "tiny-run" / "leaderboard.json")
    assert board["meta"]["reasoning"]["judge"]["why"] == "openai model 'o3-mini' thinks by default"
    assert board["data"][0][board["columns"].index("AVG_MTbench_ja")] is not None


def test_mode_off_sends_todays_requests_and_writes_todays_tables(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, plain: Path
) -> None:
    server = ScriptedJudge()
    with serve(server) as url:
        judge = {"api": "openai_compatible", "base_url": url, "model": "judge"}
        cfg = _config(make_config, "off.yaml", url, "plain", judge, {"mode": "off"})
        run_benchmarks(pytester, cfg, tmp_path / "off", *SELECT).assert_outcomes(passed=12 + 8)
    run_dir = tmp_path / "off" / "tiny-run"
    # `auto` decided off for "plain": all 6 tables (jaster output, dev output, leaderboard; MT-Bench output,
    # leaderboard, radar) and the row are the same
    assert _tables(run_dir) == _tables(plain) and len(_tables(plain)) == 6
    assert load(run_dir / "leaderboard.json")["data"] == load(plain / "leaderboard.json")["data"]
    jaster = [b for b in server.bodies if b["messages"][0]["content"].startswith("以下は")]
    assert jaster and all(b["stop"] == ["\n\n"] and "max_completion_tokens" not in b for b in jaster)
    assert load(run_dir / "leaderboard.json")["meta"]["reasoning"]["model"]["thinking"] is False

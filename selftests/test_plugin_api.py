"""End to end through a real OpenAI-compatible server (`transformers serve` on the tiny model, the real `openai`
client): jaster and MT-Bench with the served model as the evaluated model and as the judge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e import load, mtbench_dataset, run_benchmarks
from scripted_judge import ScriptedJudge, serve

DATASET = mtbench_dataset("ja")


def api_config(make_config: Callable[..., Path], url: str, model: str, judge: dict[str, Any]) -> Path:
    return make_config(
        run_llm_jp_eval_ja_few_shots=False,
        run_llm_jp_eval_en_0_shot=False,
        run_llm_jp_eval_en_few_shots=False,
        run_mt_bench_ja=True,
        model={"api": "openai-compatible", "base_url": url, "pretrained_model_name_or_path": model, "concurrency": 8},
        mtbench={"max_new_token": 8, "judge": judge, "dataset": DATASET},
    )


def test_a_served_model_answers_jaster_and_mtbench_and_judges(
    pytester: pytest.Pytester, make_config: Callable[..., Path], tmp_path: Path, openai_server: Any
) -> None:
    url, model = openai_server
    judge = {"api": "openai_compatible", "base_url": url, "model": model, "max_tokens": 8}
    result = run_benchmarks(pytester, api_config(make_config, url, model, judge), tmp_path / "out")
    result.assert_outcomes(passed=16 * 4 + 8)  # jaster ja 0-shot (16 datasets x 4 items), MT-Bench ja
    run_dir = tmp_path / "out" / "tiny-run"
    board = load(run_dir / "leaderboard.json")
    assert board["meta"]["complete"] is True
    assert "AVG_jaster_ja_0shot" in board["columns"] and "AVG_MTbench_ja" in board["columns"]
    outputs = load(run_dir / "tables" / "jaster_output_table_ja_0shot.json")
    assert len(outputs["data"]) == 16 * 2 and any(row[outputs["columns"].index("pred")] for row in outputs["data"])
    usage = board["meta"]["usage"]
    assert usage["per_task"]["jaster_ja_0shot"]["model"]["calls"] == 64
    mtbench = usage["per_task"]["mtbench_ja"]
    assert mtbench["model"]["calls"] == 16 and mtbench["judge"]["calls"] >= 16
    assert usage["total"]["model"]["output_tokens"] > 0
    assert "127.0.0.1" not in json.dumps(board["meta"]["usage"])


def test_jaster_goes_to_an_api_as_one_user_message_with_max_tokens_from_the_dataset(
    pytester: pytest.Pytester,
    make_config: Callable[..., Path],
    tmp_path: Path,
    tiny_jaster_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-never-written-anywhere-42"
    monkeypatch.setenv("SERVED_KEY", secret)
    server = ScriptedJudge()
    with serve(server) as url:
        cfg = make_config(
            run_llm_jp_eval_ja_few_shots=False,
            run_llm_jp_eval_en_0_shot=False,
            run_llm_jp_eval_en_few_shots=False,
            model={
                "api": "vllm",
                "base_url": url,
                "pretrained_model_name_or_path": "served",
                "api_key_env": "SERVED_KEY",
            },
        )
        run_benchmarks(pytester, cfg, tmp_path / "out", "-k", "jnli").assert_outcomes(passed=4)
        bounded = make_config(
            "bounded.yaml",
            run_llm_jp_eval_ja_few_shots=False,
            run_llm_jp_eval_en_0_shot=False,
            run_llm_jp_eval_en_few_shots=False,
            llm_jp_eval={"api_max_tokens": 3},
            model={"api": "vllm", "base_url": url, "pretrained_model_name_or_path": "served"},
        )
        run_benchmarks(pytester, bounded, tmp_path / "out2", "-k", "jnli").assert_outcomes(passed=4)
    assert server.requests == 8
    for body in server.bodies:  # Neo's whole prompt as one user turn, greedy
        assert [m["role"] for m in body["messages"]] == ["user"] and body["temperature"] == 0.0
        assert body["messages"][0]["content"].startswith("以下は、タスクを説明する指示")
    output_length = load(tiny_jaster_dir / "jnli.json")["output_length"]
    assert {k.lower(): v for k, v in server.headers[0].items()}[
        "authorization"
    ] == f"Bearer {secret}"  # sent there only
    for path in (tmp_path / "out").rglob("*"):
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    assert [b["max_tokens"] for b in server.bodies] == [output_length] * 4 + [3] * 4

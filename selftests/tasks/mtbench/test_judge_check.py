"""judge-check: the calibration set judged by the config's judge, set against GPT-4, stored, and bad input refused."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.__main__ import main
from nejumi_plugin.backends.base import BackendError, GenerationRequest
from nejumi_plugin.backends.mock import MockBackend, request_text
from nejumi_plugin.engine import Engine
from nejumi_plugin.store import CallStore
from nejumi_plugin.tasks.mtbench.calibration import CalibrationItem, load_calibration
from nejumi_plugin.tasks.mtbench.data import load_judge_prompts
from nejumi_plugin.tasks.mtbench.judge import JudgeSettings
from nejumi_plugin.tasks.mtbench.judge_check import ALL, JudgeCheck, JudgeCheckError, check, select
from nejumi_plugin.tasks.mtbench.judge_check_page import page

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "nejumi_plugin" / "demo_data" / "mtbench"
ITEMS = load_calibration()


def run_prompts(item: CalibrationItem) -> str:
    """The user prompt a run's judge gets for `item` (the demo data's judge prompts, which the test config names)."""
    return item.match(load_judge_prompts(DEMO / item.language / "judge_prompts.jsonl")).user_prompt()


def config(tmp_path: Path, name: str, rules: list[dict[str, str]]) -> Path:
    """A config whose judge is `api: mock` with `rules`, and whose MT-Bench data is the vendored demo set."""
    keys = ("test_question_artifacts_path", "test_referenceanswer_artifacts_path", "judge_prompt_artifacts_path")
    data = {lang: dict.fromkeys(keys, str(DEMO / lang)) for lang in ("ja", "en")}
    cfg = {
        "testmode": True,
        "wandb": {"mode": "disabled"},
        "mtbench": {"judge": {"api": "mock", "model": name, "options": {"answers": rules}}, "dataset": data},
    }
    path = tmp_path / f"{name}.yaml"
    # JSON is YAML, but PyYAML reads an escaped surrogate pair ("\ud83d\ude00") as two lone surrogates: unescaped
    path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    return path


def rating_rules(items: Sequence[CalibrationItem], rate: Callable[[int], int]) -> list[dict[str, str]]:
    """One rule per item: its whole run prompt, answered with `rate(GPT-4's rating)`."""
    return [{"match": re.escape(run_prompts(i)), "answer": f"Rating: [[{rate(i.gpt4_rating)}]]"} for i in items]


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter (this worktree first on the path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "nejumi_plugin", "judge-check", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their mean rank (what Spearman correlates)."""
    order = sorted(values)
    return [order.index(v) + (order.count(v) + 1) / 2 for v in values]


def test_a_limit_takes_the_first_items_of_every_category() -> None:
    chosen = select(ITEMS, 10)
    assert select(ITEMS, 10) == chosen
    for lang in ("ja", "en"):
        mine = [i for i in chosen if i.language == lang]
        assert len(mine) == 10 and len({i.category for i in mine}) == 8
        coding = [i for i in ITEMS if i.language == lang and i.category == "coding"]
        assert [i for i in mine if i.category == "coding"] == coding[:2]  # categories sorted: coding gets two
    assert select(ITEMS, None) == list(ITEMS)
    with pytest.raises(JudgeCheckError, match="--limit 0"):
        select(ITEMS, 0)


def test_a_judge_that_rates_like_gpt4_in_a_fresh_interpreter(tmp_path: Path) -> None:
    items = select(ITEMS, 16)
    cfg = config(tmp_path, "perfect", rating_rules(items, lambda g: g))
    first = cli("--model-config", cfg, "--limit", 16, "--output-dir", tmp_path / "out")
    assert first.returncode == 0, first.stderr
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("judge-check-mock-perfect-") and (folder / "calls.sqlite").is_file()
    report = json.loads((folder / "judge-check.json").read_text(encoding="utf-8"))
    assert report["calibration"] == {"items": 32, "by_language": {"ja": 16, "en": 16}, "failed": 0}
    assert report["calls"] == {"made": 32, "stored": 0} and "judge calls: 32 made" in first.stdout
    for name in ("ja", "en", ALL):
        overall = report["agreement"][name]["overall"]
        assert (overall["spearman"], overall["pearson"], overall["kappa"]) == pytest.approx((1, 1, 1))
        assert (overall["bias"], overall["bias_low"], overall["bias_high"], overall["within_one"]) == (0, 0, 0, 1)
        for stats in report["agreement"][name]["by_category"].values():
            assert stats["bias"] == 0 and stats["within_one"] == 1 and stats["spearman"] in (None, pytest.approx(1))
    assert sorted((i["judge"], i["gpt4"]) for i in report["items"]) == sorted((i.gpt4_rating,) * 2 for i in items)
    assert re.search(r"^overall +16 +1\.000 +1\.000 +1\.000 +\+0\.00 \[\+0\.00, \+0\.00\] +1\.00$", first.stdout, re.M)

    again = cli("--model-config", cfg, "--limit", 16, "--output-dir", tmp_path / "out")
    assert again.returncode == 0, again.stderr
    assert "judge calls: 0 made, 32 from" in again.stdout
    assert json.loads((folder / "judge-check.json").read_text(encoding="utf-8"))["calls"] == {"made": 0, "stored": 32}


def judged(store: Path, rate: Callable[[int], int | BackendError]) -> tuple[JudgeCheck, MockBackend]:
    """Every calibration item judged (with the prompts GPT-4 was given) by a judge answering `rate(GPT-4's)`."""
    gpt4 = {i.match().user_prompt(): i.gpt4_rating for i in ITEMS}

    def reply(request: GenerationRequest) -> str | BackendError:
        rating = rate(gpt4[request_text(request)])
        return rating if isinstance(rating, BackendError) else f"Rating: [[{rating}]]"

    backend = MockBackend(reply=reply, name="offset")
    engine = Engine(backend, CallStore(store))
    try:
        return check(engine, ITEMS, None, JudgeSettings(), resamples=200), backend
    finally:
        engine.close()


def test_a_judge_one_point_kinder_than_gpt4(tmp_path: Path) -> None:
    result, backend = judged(tmp_path / "calls.sqlite", lambda g: min(g + 1, 10))
    assert len(backend.seen) == len(ITEMS) == result.made and result.stored == 0
    for name in ("ja", "en", ALL):
        gpt4 = [float(c.item.gpt4_rating) for c in result.group(name)]
        kinder = [min(g + 1, 10) for g in gpt4]
        got = result.reports[name].overall
        assert got.n == len(gpt4) and got.within_one == 1
        assert got.bias == pytest.approx(sum(g < 10 for g in gpt4) / len(gpt4))  # +1 except where GPT-4 gave 10
        assert got.pearson == pytest.approx(statistics.correlation(kinder, gpt4))
        assert got.spearman == pytest.approx(statistics.correlation(ranks(kinder), ranks(gpt4)))
        assert got.bias_low is not None and got.bias_high is not None and got.bias_low <= got.bias <= got.bias_high
        assert got.kappa is not None and 0.5 < got.kappa < 1  # close, never perfect
    writing = [c.item.gpt4_rating for c in result.group("ja") if c.item.category == "writing"]
    assert result.reports["ja"].by_category["writing"].bias == pytest.approx(
        sum(g < 10 for g in writing) / len(writing)
    )

    rerun, fresh = judged(tmp_path / "calls.sqlite", lambda g: 1)  # another answer, never asked for
    assert fresh.seen == [] and rerun.made == 0 and rerun.stored == len(ITEMS)
    assert rerun.reports == result.reports


def test_a_failed_judgment_is_reported_and_left_out(tmp_path: Path) -> None:
    result, _ = judged(tmp_path / "calls.sqlite", lambda g: BackendError("a 503") if g == 10 else g)
    tens = [c for c in result.checked if c.item.gpt4_rating == 10]
    assert result.failed == tens and all(c.pair is None for c in tens)
    assert result.reports[ALL].overall.n == len(ITEMS) - len(tens) and result.reports[ALL].overall.bias == 0


def test_the_page_plots_every_category_without_scripts(tmp_path: Path) -> None:
    result, _ = judged(tmp_path / "calls.sqlite", lambda g: max(g - 2, 1))
    html = page(result)
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) == sum(len(r.by_category) for r in result.reports.values()) == 24
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    assert html.count("<circle") == 2 * len(ITEMS)  # each item in its language and in the all-languages section
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert page(result) == html  # the jitter is a function of the item


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "xx"], "--lang 'xx': the calibration set has ja and en"),
        (["--limit", "0"], "--limit 0: must be at least 1"),
        (["--prompts", "mine"], "--prompts 'mine'"),
    ],
)
def test_bad_arguments_exit_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    cfg = config(tmp_path, "any", [])
    assert main(["judge-check", "--model-config", str(cfg), "--output-dir", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_broken_config_exits_2_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mtbench:\n  judge:\n    api: mock\n    options: {answers: [{match: '(', answer: x}]}\n")
    done = cli("--model-config", bad, "--output-dir", tmp_path / "o")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and "mtbench.judge.options" in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "o").exists()


def test_missing_run_prompts_say_how_to_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg: dict[str, Any] = json.loads(config(tmp_path, "any", []).read_text())
    cfg["mtbench"]["dataset"]["ja"]["judge_prompt_artifacts_path"] = str(tmp_path / "nowhere")
    path = tmp_path / "nowhere.yaml"
    path.write_text(json.dumps(cfg))
    assert main(["judge-check", "--model-config", str(path), "--lang", "ja", "--output-dir", str(tmp_path)]) == 2
    assert "judge_prompt_artifacts_path" in (err := capsys.readouterr().err) and "--prompts recorded" in err

"""report.html: every table is there, model output is escaped, nothing is fetched; the radar PNGs exist."""

from __future__ import annotations

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_run import jaster_record, mtbench_record, synthetic_jaster, synthetic_mtbench, write_fake_run

from nejumi_plugin.aggregate.intervals import intervals_meta
from nejumi_plugin.registry import builtin_families
from nejumi_plugin.sinks.html_report import report_media, write_report

FAMILIES = builtin_families()

EVIL = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)>'
FEW_SHOTS = "### 指示:\n前提と仮説の関係を答えてください。</pre><b>" + "### 入力:\n例\n### 応答:\nentailment\n\n" * 8


class Page(HTMLParser):
    """Tables (by id, else by order) with their header texts and body rows, scripts, images and external links."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.scripts = 0
        self.images: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self.templates: dict[str, str] = {}
        self.prompt_tails: list[tuple[str, str, bool]] = []  # (data-prefix, text, filled in by the page's JS)
        self._cell: list[str] | None = None
        self._in_head = False
        self._capture: tuple[str, str, dict[str, str | None]] | None = None  # (tag, key, attrs)
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if (a.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(a[key] or "")
        if tag == "template" or (tag == "pre" and "data-prefix" in a):
            self._capture, self._buffer = (tag, a.get("id") or a.get("data-prefix") or "", a), []
        if tag == "script":
            self.scripts += 1
            if "src" in a:
                self.external.append(a["src"] or "")
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "link":
            self.external.append(a.get("href") or "")
        elif tag == "table":
            self.tables.append({"id": a.get("id"), "headers": [], "rows": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr" and self.tables and not self._in_head:
            self.tables[-1]["rows"].append({"attrs": a, "cells": []})
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._capture and tag == self._capture[0]:
            tag_, key, attrs = self._capture
            if tag_ == "template":
                self.templates[key] = "".join(self._buffer)
            else:
                self.prompt_tails.append((key, "".join(self._buffer), attrs.get("data-done") == "1"))
            self._capture = None
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            if tag == "th":
                self.tables[-1]["headers"].append(text)
            else:
                self.tables[-1]["rows"][-1]["cells"].append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._capture:
            self._buffer.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, ident: str) -> dict[str, Any]:
        return next(t for t in self.tables if t["id"] == ident)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    records = synthetic_jaster("ja", 0, n=6, seed=4)
    records.append(jaster_record("jnli", 0, 6, EVIL, "entailment"))
    for r in records:  # jnli: few-shot prompts with a long shared head, as on Neo
        if r.rows[0]["target_dataset"] == "jnli":
            r.rows[0]["prompt"] = f"{FEW_SHOTS}### 入力:\n{r.rows[0]['input']}\n### 応答:\n"
    mt = synthetic_mtbench("ja", per_category=2, seed=8)
    mt.append(mtbench_record(99, "coding", (-1, 4), answers=(EVIL, "ok")))
    board = write_fake_run(tmp_path / "run", {("ja", 0): records}, {"ja": mt})
    return tmp_path / "run", board


def test_report_holds_every_table_and_the_pngs(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, board = run
    paths = write_report(run_dir, FAMILIES, b=200)
    assert paths == [run_dir / "report.html", run_dir / "radar_jaster_ja_0shot.png", run_dir / "radar_mtbench_ja.png"]
    for png in paths[1:]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    page = parse(paths[0])
    assert page.table("leaderboard")["headers"] == board["columns"]  # Neo's columns, unchanged
    values, bounds = page.table("leaderboard")["rows"]
    assert values["cells"][0] == board["data"][0][0] and bounds["cells"][0] == "95% interval"
    assert all(c.startswith("[") for c in bounds["cells"][1:])  # every score of this run has an interval
    assert [t["id"] for t in page.tables] == [
        "leaderboard",
        "scores-jaster_ja_0shot",
        "scores-mtbench_ja",
        "jaster-samples",
        "mtbench-samples",
    ]
    jaster_scores = page.table("scores-jaster_ja_0shot")["rows"]
    datasets = sorted(c.removesuffix("_jaster_ja_0shot") for c in board["columns"][8:] if "MTbench" not in c)
    assert [r["cells"][0] for r in jaster_scores] == ["AVG", "NLI", "QA", "RC", "MC", "FA", "MR", *datasets]
    jnli = next(r["cells"] for r in jaster_scores if r["cells"][0] == "jnli_exact_match")
    assert jnli[4] == "7" and jnli[2].startswith("[")  # 7 samples, and an interval
    mt_scores = page.table("scores-mtbench_ja")["rows"]
    categories = sorted(["coding", "extraction", "humanities", "math", "reasoning", "roleplay", "stem", "writing"])
    assert [r["cells"][0] for r in mt_scores] == ["AVG", *categories]
    assert next(r["cells"][4] for r in mt_scores if r["cells"][0] == "coding").startswith("3 q, ")
    jaster_rows = page.table("jaster-samples")["rows"]
    assert len(jaster_rows) == 16 * 6 + 1
    wrong = [r for r in jaster_rows if r["attrs"].get("data-wrong") == "1"]
    char_f1_sets = ("jemhopqa", "niilc", "jsquad", "wiki_reading")
    expected_wrong = [
        r
        for r in (rec.rows[0] for rec in synthetic_jaster("ja", 0, n=6, seed=4))
        if (
            r["char_f1"] < 1
            if r["target_dataset"] in char_f1_sets
            else r["set_f1"] < 1
            if r["target_dataset"].startswith("wiki_")
            else r["pred"] != r["true"]
        )
    ]
    assert len(wrong) == len(expected_wrong) + 1
    mt_rows = page.table("mtbench-samples")["rows"]
    assert len(mt_rows) == 2 * (8 * 2 + 1)
    failures = sum(r["score"] == -1 for rec in synthetic_mtbench("ja", per_category=2, seed=8) for r in rec.rows)
    assert sum(r["attrs"].get("data-fail") == "1" for r in mt_rows) == failures + 1
    # model output is text, never markup; the page fetches nothing and embeds its charts
    assert page.scripts == 1 and page.external == []
    assert sum(EVIL in r["cells"][4] for r in jaster_rows) == 1
    assert sum(EVIL in r["cells"][5] for r in mt_rows) == 1
    assert len(page.images) == 2 and all(src.startswith("data:image/png;base64,") for src in page.images)
    # jnli's few-shot head is stored once; head + each row's tail is that row's prompt
    [(ident, head)] = page.templates.items()
    assert head.startswith(FEW_SHOTS)
    assert [head + tail for key, tail, _ in page.prompt_tails if key == ident] == [
        f"{FEW_SHOTS}### 入力:\n入力 jnli {i}\n### 応答:\n" for i in range(7)
    ]
    assert "intervals computed when this report was written" in "".join(page.text)


def test_intervals_from_meta_are_used(run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, board = run
    import json

    board["meta"]["intervals"] = intervals_meta({"AVG_jaster_ja_0shot": {"low": 0.1234, "high": 0.9876}}, b=10)
    (run_dir / "leaderboard.json").write_text(json.dumps(board, ensure_ascii=False), encoding="utf-8")
    page = parse(write_report(run_dir, FAMILIES)[0])
    assert "[0.1234, 0.9876]" in page.table("leaderboard")["rows"][1]["cells"]
    assert "intervals computed" not in "".join(page.text)


def test_without_matplotlib_the_page_says_so(run: tuple[Path, dict[str, Any]], monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    run_dir, _ = run
    assert write_report(run_dir, FAMILIES, b=50) == [run_dir / "report.html"]
    assert not list(run_dir.glob("*.png"))
    assert "matplotlib is not installed" in "".join(parse(run_dir / "report.html").text)


def test_report_media_for_wandb(run: tuple[Path, dict[str, Any]]) -> None:
    fake = SimpleNamespace(Html=lambda data, **kw: ("html", len(data), kw), Image=lambda path: ("image", path))
    paths = write_report(run[0], FAMILIES, b=50)
    media = report_media(fake, paths)
    assert set(media) == {"report", "radar_jaster_ja_0shot", "radar_mtbench_ja"}
    assert media["report"][0] == "html" and media["report"][2]["inject"] is False


BROWSER = next(
    (b for b in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable") if shutil.which(b)), None
)


@pytest.mark.skipif(BROWSER is None, reason="no headless browser installed (chromium or google-chrome)")
def test_headless_browser_renders_and_filters(run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    run_dir, _ = run
    report = write_report(run_dir, FAMILIES, b=50)[0]
    flags = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1600"]
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # tick the two filters the way a user would, then read the DOM the browser ends up with
    probe = tmp_path / "probe.html"
    ticks = (
        "<script>for(const [t,k] of [['jaster-samples','wrong'],['mtbench-samples','fail']]){"
        'document.querySelector(`[data-for="${t}"][data-key="${k}"]`).checked=true;nejumiFilter(t);}'
        "document.querySelector('#jaster-samples tr[data-dataset=\"jnli\"] details').open=true;</script>"
    )
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", ticks + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [*flags, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    page = Page()
    page.feed(dom)
    for ident, flag in (("jaster-samples", "data-wrong"), ("mtbench-samples", "data-fail")):
        rows = page.table(ident)["rows"]
        flagged = sum(r["attrs"].get(flag) == "1" for r in rows)
        assert 0 < flagged < len(rows)
        assert sum("hidden" not in r["attrs"] for r in rows) == flagged
        assert f'<span id="{ident}-count">{flagged}</span>' in dom
    # opening a prompt puts its shared few-shot head back in front of it
    assert [tail for _, tail, done in page.prompt_tails if done] == [f"{FEW_SHOTS}### 入力:\n入力 jnli 0\n### 応答:\n"]


def test_report_command(run: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    from nejumi_plugin.__main__ import main

    assert main(["report", str(run[0]), "--b", "50"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == str(run[0] / "report.html")
    assert main(["report", str(run[0] / "nowhere")]) == 2
    assert "no leaderboard.json" in capsys.readouterr().err


def test_all_judgments_unreadable_like_the_demo(tmp_path: Path) -> None:
    """The demo's 270M judge gives no readable rating: no MT-Bench score, no radar, every row a parse failure."""
    board = write_fake_run(tmp_path / "demo", mt={"ja": [mtbench_record(q, "writing", (-1, -1)) for q in (1, 2)]})
    assert board["columns"] == ["model_name", "AVG_MTbench_ja"] and board["data"][0][1] is None
    paths = write_report(tmp_path / "demo", FAMILIES, b=20)
    assert paths == [tmp_path / "demo" / "report.html"]
    page = parse(paths[0])
    assert [r["attrs"].get("data-fail") for r in page.table("mtbench-samples")["rows"]] == ["1"] * 4
    assert page.table("leaderboard")["rows"][1]["cells"] == ["95% interval", ""]
    assert page.table("scores-mtbench_ja")["rows"][0]["cells"][4] == "2 q, 4 unparsed"


def test_a_reasoning_models_thinking_is_folded_under_its_answer(tmp_path: Path) -> None:
    thinking = "前提は猫が眠っていること。\n\n<b>走っていない</b>"
    record = jaster_record("jnli", 0, 0, "contradiction", "contradiction")
    record.rows[0]["reasoning"] = thinking
    mt = mtbench_record(1, "writing", (8, 6))
    for row in mt.rows:
        row["reasoning"] = "turn thinking"
    write_fake_run(tmp_path, {("ja", 0): [record]}, {"ja": [mt]})
    html = write_report(tmp_path, FAMILIES, b=10)[0].read_text(encoding="utf-8")
    folded = "<details><summary>thinking</summary><pre>前提は猫が眠っていること。\n\n&lt;b&gt;走っていない&lt;/b&gt;</pre></details>"
    assert "<pre>contradiction</pre>" + folded in html  # under the prediction, escaped, never in it
    assert html.count("<details><summary>thinking</summary><pre>turn thinking</pre></details>") == 2

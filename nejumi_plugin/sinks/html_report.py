"""`report.html`: one self-contained page per run (inline CSS and JS, radar PNGs as data URIs, nothing fetched).

It shows the leaderboard row (Neo's columns, with a row of 95 % intervals under it), the radar charts, every task's
scores with their intervals, and a browsable table of every sample (jaster: prompt, prediction, gold, score;
MT-Bench: question, answer, judgment, rating) with filters for wrong answers and judge parse failures. Every string
from the run (model output above all) is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..aggregate.intervals import DEFAULT_B, DEFAULT_LEVEL, DEFAULT_SEED, Interval, columns_of_meta, run_intervals
from ..aggregate.samples import Table, read_leaderboard, read_tables
from ..family import Family, Sample, Task
from .radar import matplotlib_available, radars, write_radars

REPORT = "report.html"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP",sans-serif;margin:0;
 color:#1d2330;background:#f6f7f9}
main{max-width:1400px;margin:0 auto;padding:16px 24px}
h1{font-size:1.5rem;margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #d5dae3;padding-bottom:.2em}
.meta{color:#5b6475;font-size:.9rem}.note{background:#fff6d6;border-left:4px solid #e0b400;padding:6px 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #d5dae3;border-radius:8px;
 padding:10px 16px;min-width:170px}.card .v{font-size:1.6rem;font-weight:600}.card .ci{color:#5b6475;font-size:.85rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d5dae3;border-radius:6px}
table{border-collapse:collapse;font-size:.85rem;background:#fff}th,td{border:1px solid #e1e5ec;padding:4px 6px;
 vertical-align:top;text-align:left}th{background:#eef1f6;position:sticky;top:0}td.n{text-align:right;
 font-variant-numeric:tabular-nums;white-space:nowrap}
.radars{display:flex;flex-wrap:wrap;gap:12px}.radars img{width:360px;background:#fff;border:1px solid #d5dae3}
.tasks{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.8rem;max-width:520px}
tr.bad td.s{background:#fde2e1}tr.fail td.s{background:#fde2e1;font-weight:600}
.filters{margin:8px 0;display:flex;gap:14px;align-items:center;flex-wrap:wrap}.count{color:#5b6475}
details summary{cursor:pointer;color:#2a5db0}
"""
JS = """
function nejumiFilter(id){
  const controls=document.querySelectorAll('[data-for="'+id+'"]');let shown=0;
  for(const tr of document.getElementById(id).tBodies[0].rows){
    let ok=true;
    for(const c of controls){const k=c.dataset.key;
      if(c.type==='checkbox'){if(c.checked&&tr.dataset[k]!=='1')ok=false;}
      else if(c.type==='search'){if(c.value&&!tr.textContent.toLowerCase().includes(c.value.toLowerCase()))ok=false;}
      else if(c.value&&tr.dataset[k]!==c.value)ok=false;}
    tr.hidden=!ok;if(ok)shown++;}
  document.getElementById(id+'-count').textContent=shown;
}
function nejumiPrompt(d){
  const p=d.querySelector('pre[data-prefix]');if(!p||p.dataset.done)return;p.dataset.done='1';
  p.textContent=document.getElementById(p.dataset.prefix).content.textContent+p.textContent;
}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else esc(value)


def ci(interval: Mapping[str, float] | None, digits: int = 4) -> str:
    return f"[{interval['low']:.{digits}f}, {interval['high']:.{digits}f}]" if interval else ""


def grid(headers: Sequence[str], rows: Iterable[str], table_id: str = "") -> str:
    """A table from escaped header names and already-rendered `<tr>` rows."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f"<div class=scroll><table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def tr(cells: Iterable[str], **data: Any) -> str:
    """A row of rendered cells; `data` become `data-*` attributes (and `cls` the class)."""
    cls = data.pop("cls", "")
    attrs = "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in data.items())
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<tr{klass}{attrs}>{''.join(cells)}</tr>"


def td(value: Any, cls: str = "") -> str:
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<td{klass}>{value}</td>"


def leaderboard_section(board: Mapping[str, Any], intervals: Mapping[str, Interval]) -> str:
    columns, values = board["columns"], board["data"][0]
    rows = [
        tr(td(num(v), "n") for v in values),
        tr(td(esc(ci(intervals.get(c))) if i else "95% interval", "n") for i, c in enumerate(columns)),
    ]
    return "<h2>Leaderboard row</h2>" + grid(columns, rows, "leaderboard")


def headline_cards(row: Mapping[str, Any], intervals: Mapping[str, Interval]) -> str:
    cards = []
    for column, value in row.items():
        if column.startswith("AVG_") and isinstance(value, (int, float)):
            label = column.removeprefix("AVG_").replace("_", " ")
            cards.append(
                f"<div class=card><div>{esc(label)}</div><div class=v>{num(value)}</div>"
                f"<div class=ci>95%: {esc(ci(intervals.get(column)) or 'n/a')}</div></div>"
            )
    return f"<div class=cards>{''.join(cards)}</div>" if cards else ""


def radar_section(pngs: Sequence[Path], charts_expected: bool) -> str:
    if not matplotlib_available():
        return (
            "<h2>Radar charts</h2><p class=note>Radar charts are missing: matplotlib is not installed "
            '(pip install "nejumi[report]"), so no PNG was written.</p>'
        )
    if not pngs:
        return "" if not charts_expected else "<h2>Radar charts</h2><p class=note>No chart could be drawn.</p>"
    images = "".join(
        f'<img alt="{esc(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        for p in pngs
    )
    return f"<h2>Radar charts</h2><div class=radars>{images}</div>"


def _score_rows(
    scores: Mapping[str, Any], task: Task, intervals: Mapping[str, Interval], counts: Mapping[str, str]
) -> list[str]:
    keys = [k for k in task.headline if k in scores] + sorted(k for k in scores if k not in task.headline)
    rows = []
    for key in keys:
        interval = intervals.get(task.column(key))
        half = f"±{(interval['high'] - interval['low']) / 2:.4f}" if interval else ""
        rows.append(
            tr(
                [
                    td(esc(key)),
                    td(num(scores[key]), "n"),
                    td(esc(ci(interval)), "n"),
                    td(half, "n"),
                    td(esc(counts.get(key, "")), "n"),
                ]
            )
        )
    return rows


def _board(tables: Mapping[str, Table], name: str) -> dict[str, Any]:
    board = tables.get(name)
    return dict(zip(board["columns"][1:], board["data"][0][1:])) if board and board["data"] else {}


def scores_section(
    tasks: Sequence[tuple[Family, Task, Sequence[Sample]]],
    tables: Mapping[str, Table],
    intervals: Mapping[str, Interval],
    meta: Mapping[str, Any] | None = None,
) -> str:
    """Per task: every score of its block, its interval, how many samples it rests on, and the notes its family
    left in the row's meta (`meta[family][task]["notes"]`: MT-Bench's judge and canary)."""
    parts = []
    headers = ["score", "value", "95% interval", "±", "n"]
    for family, task, samples in tasks:
        if not (scores := _board(tables, task.leaderboard)):
            continue
        rows = _score_rows(scores, task, intervals, family.counts(task, samples))
        notes = ((meta or {}).get(family.name) or {}).get(task.name, {}).get("notes", ())
        said = "".join(f"<p class=meta>{esc(n)}</p>" for n in notes)
        parts.append(f"<div><h3>{esc(task.shown)}</h3>{grid(headers, rows, f'scores-{task.name}')}{said}</div>")
    return "<h2>Scores</h2><div class=tasks>" + "".join(parts) + "</div>" if parts else ""


def _select(table_id: str, key: str, label: str, values: Iterable[str]) -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    handler = f"nejumiFilter('{table_id}')"
    return (
        f'<label>{esc(label)} <select data-for="{table_id}" data-key="{key}" onchange="{handler}">'
        f'<option value="">all</option>{options}</select></label>'
    )


def filters(table_id: str, selects: Sequence[tuple[str, str, Iterable[str]]], flag: tuple[str, str], total: int) -> str:
    """The controls over a sample table: a select per (key, label, values), a checkbox for `flag` (key, label), a
    search box, and how many rows are shown."""
    parts = [_select(table_id, key, label, values) for key, label, values in selects]
    parts.append(
        f'<label><input type=checkbox data-for="{table_id}" data-key="{flag[0]}" '
        f"onchange=\"nejumiFilter('{table_id}')\"> {esc(flag[1])}</label>"
    )
    parts.append(
        f'<label>search <input type=search data-for="{table_id}" data-key="text" '
        f"oninput=\"nejumiFilter('{table_id}')\"></label>"
    )
    parts.append(f'<span class=count><span id="{table_id}-count">{total}</span> of {total} shown</span>')
    return f"<div class=filters>{''.join(parts)}</div>"


def pre(text: Any) -> str:
    return f"<pre>{esc(text)}</pre>"


def with_thinking(answer: Any, row: Mapping[str, Any]) -> str:
    """An answer, with a reasoning model's thinking folded under it (never mixed into it)."""
    thinking = row.get("reasoning")
    fold = f"<details><summary>thinking</summary>{pre(thinking)}</details>" if thinking else ""
    return pre(answer) + fold


def sample_table(task: Task, samples: Sequence[Sample]) -> str:
    """A family's samples as a plain table (the default `Family.report`): key, group, prediction, reference and the
    sample's own number, with a filter for the wrong ones."""
    table_id = f"samples-{task.name}"
    rows = [
        tr(
            [
                td(esc(s.group)),
                td(esc(s.key)),
                td(with_thinking(s.prediction, s.row)),
                td(pre(s.reference)),
                td(f"{esc(s.measure)} {num(s.value, 2)}", "n s"),
            ],
            cls="bad" if s.wrong else "",
            group=s.group,
            wrong=int(s.wrong),
        )
        for s in samples
    ]
    if not rows:
        return ""
    controls = filters(
        table_id, [("group", "group", sorted({s.group for s in samples}))], ("wrong", "wrong answers only"), len(rows)
    )
    headers = ["group", "sample", "prediction", "reference", "score"]
    return f"<h2>{esc(task.shown)} samples</h2>" + controls + grid(headers, rows, table_id)


def render(
    board: Mapping[str, Any],
    tables: Mapping[str, Table],
    intervals: Mapping[str, Interval],
    pngs: Sequence[Path],
    families: Sequence[Family],
    notes: Sequence[str] = (),
) -> str:
    """The whole page as a string: the row, the radar charts, every task's scores, then each family's samples."""
    tasks = [(family, task, family.samples(task, tables)) for family in families for task in family.found(tables)]
    meta = board.get("meta", {})
    row = dict(zip(board["columns"], board["data"][0]))
    title = f"nejumi report: {meta.get('model_name') or row.get('model_name', '')}"
    state = "complete" if meta.get("complete") else "INCOMPLETE"
    facts = [f"run {meta.get('run_name', '')}", state]
    if measured := meta.get("invocations"):  # the invocations that made the calls (see invocation.py)
        facts.append(
            f"measured {measured[0].get('started_at', '')} – {measured[-1].get('finished_at', '')}"
            + (f" in {len(measured)} invocations" if len(measured) > 1 else "")
        )
        rate = measured[-1].get("throughput", {}).get("tokens_per_s")
        if rate:
            facts.append(f"{rate} generated tokens/s")
    if items := meta.get("items"):
        facts.append(", ".join(f"{k} {v}" for k, v in items.items()))
    note_html = "".join(f"<p class=note>{esc(n)}</p>" for n in notes)
    body = "".join(
        [
            f"<h1>{esc(title)}</h1><p class=meta>{' · '.join(esc(f) for f in facts)}</p>",
            note_html,
            headline_cards(row, intervals),
            leaderboard_section(board, intervals),
            radar_section(pngs, bool(radars(tables, intervals, [t for _, t, _ in tasks]))),
            scores_section(tasks, tables, intervals, meta),
            *(family.report([(t, samples) for f, t, samples in tasks if f is family]) for family in families),
        ]
    )
    return (
        f"<!DOCTYPE html><html lang=ja><head><meta charset=utf-8><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><main>{body}</main><script>{JS}</script></body></html>\n"
    )


def write_report(
    run_dir: Path,
    families: Sequence[Family],
    *,
    b: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> list[Path]:
    """Write `report.html` and `radar_<name>.png` (when matplotlib is installed) into `run_dir`; return their paths,
    the HTML first. Intervals come from `meta["intervals"]`; a run without them gets them computed now."""
    run_dir = Path(run_dir)
    board, tables = read_leaderboard(run_dir), read_tables(run_dir)
    intervals = columns_of_meta(board.get("meta", {}))
    notes = []
    if not intervals:
        intervals = run_intervals(tables, families, b=b, seed=seed, level=level)
        notes.append(
            f"{level:.0%} intervals computed when this report was written ({b} bootstrap resamples, "
            f"seed {seed}); leaderboard.json holds none."
        )
    found = [task for family in families for task in family.found(tables)]
    pngs = write_radars(run_dir, radars(tables, intervals, found))
    path = run_dir / REPORT
    tmp = path.with_name(f".{REPORT}.{os.getpid()}.tmp")
    tmp.write_text(render(board, tables, intervals, pngs, families, notes), encoding="utf-8")
    os.replace(tmp, path)
    return [path, *pngs]


def report_media(wandb: Any, paths: Sequence[Path]) -> dict[str, Any]:
    """What to `run.log` for W&B: `report` (the page, wandb.Html) and `radar_<name>` (wandb.Image) per PNG."""
    media: dict[str, Any] = {}
    for path in paths:
        if path.suffix == ".html":
            media["report"] = wandb.Html(path.read_text(encoding="utf-8"), inject=False, data_is_not_path=True)
        elif path.suffix == ".png":
            media[path.stem] = wandb.Image(str(path))
    return media

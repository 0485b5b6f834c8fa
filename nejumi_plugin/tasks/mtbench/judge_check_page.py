"""judge-check.html: the agreement tables and, per category, an SVG scatter of judge rating vs GPT-4 rating.

One self-contained file (inline SVG and CSS, no JavaScript, nothing fetched), so it opens anywhere and can be
attached to an issue. Points are jittered so equal pairs do not hide each other; the jitter is a hash of the item's
id, so the page is the same bytes for the same judgments.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence

from .judge_agreement import Agreement
from .judge_check import ALL, COLUMNS, Checked, JudgeCheck

SIZE, PAD = 210, 28  # the plot's square side and its margin for the axes, in px
LOW, HIGH = 0.5, 10.5  # the axes' range; ratings outside it (0, 11) are drawn at its edge
JITTER = 0.22

CSS = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figcaption{font-size:12px;max-width:240px}svg text{font-size:10px;fill:#555}
.dot{fill:#1f6fb2;fill-opacity:.55}.diag{stroke:#888}.band{stroke:#bbb;stroke-dasharray:3 3}"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _jitter(item_id: str) -> tuple[float, float]:
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return tuple((int.from_bytes(digest[k : k + 4], "big") / 2**32 * 2 - 1) * JITTER for k in (0, 4))  # type: ignore[return-value]


def _px(value: float, flip: bool) -> float:
    """A rating's position on an axis (the y axis grows downwards in SVG)."""
    share = (min(max(value, LOW), HIGH) - LOW) / (HIGH - LOW)
    return round(PAD + (1 - share if flip else share) * SIZE, 1)


def scatter(title: str, checked: Sequence[Checked]) -> str:
    """One category's plot: GPT-4's rating across, the judge's up; the diagonal is agreement, dashed lines +-1."""
    dots = []
    for c in checked:
        pair = c.pair
        if pair is None or pair.judge == -1:
            continue
        dx, dy = _jitter(c.item.id)
        x, y = _px(pair.gpt4 + dx, False), _px(float(pair.judge) + dy, True)
        tip = f"{c.item.id}: GPT-4 {pair.gpt4}, judge {pair.judge}"
        dots.append(f'<circle class="dot" cx="{x}" cy="{y}" r="3"><title>{esc(tip)}</title></circle>')
    lines = [_line("diag", LOW, LOW, HIGH, HIGH)]
    for d in (-1, 1):  # judge = GPT-4 + d, inside the frame
        a, b = max(LOW, LOW + d), min(HIGH, HIGH + d)
        lines.append(_line("band", a - d, a, b - d, b))
    ticks = []
    for t in range(1, 11):
        ticks.append(f'<text x="{_px(t, False)}" y="{PAD + SIZE + 14}" text-anchor="middle">{t}</text>')
        ticks.append(f'<text x="{PAD - 6}" y="{_px(t, True) + 3}" text-anchor="end">{t}</text>')
    side = SIZE + 2 * PAD
    frame = f'<rect x="{PAD}" y="{PAD}" width="{SIZE}" height="{SIZE}" fill="none" stroke="#ccc"/>'
    labels = (
        f'<text x="{PAD + SIZE / 2}" y="{side - 2}" text-anchor="middle">GPT-4</text>'
        f'<text x="10" y="{PAD + SIZE / 2}" transform="rotate(-90 10 {PAD + SIZE / 2})" '
        'text-anchor="middle">judge</text>'
        f'<text x="{PAD}" y="{PAD - 10}" style="font-size:12px;fill:#222">{esc(title)}</text>'
    )
    body = frame + "".join(lines) + "".join(ticks) + labels + "".join(dots)
    box = f'width="{side}" height="{side}" viewBox="0 0 {side} {side}"'
    return f'<svg xmlns="http://www.w3.org/2000/svg" {box}>{body}</svg>'


def _line(cls: str, x1: float, y1: float, x2: float, y2: float) -> str:
    """A line between two (GPT-4, judge) rating points."""
    return (
        f'<line class="{cls}" x1="{_px(x1, False)}" y1="{_px(y1, True)}" x2="{_px(x2, False)}" y2="{_px(y2, True)}"/>'
    )


def _cell(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _stats_row(name: str, a: Agreement) -> str:
    bias = "n/a" if a.bias is None else f"{a.bias:+.2f} [{a.bias_low:+.2f}, {a.bias_high:+.2f}]"
    cells = (name, a.n, _cell(a.spearman), _cell(a.pearson), _cell(a.kappa), bias, _cell(a.within_one, 2))
    return "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>"


def _caption(a: Agreement) -> str:
    left = f", {a.n_unreadable} unreadable" if a.n_unreadable else ""
    bias = "n/a" if a.bias is None else f"{a.bias:+.2f}"
    return f"n {a.n}{left}; spearman {_cell(a.spearman)}; kappa {_cell(a.kappa)}; bias {bias}"


def page(result: JudgeCheck) -> str:
    """The whole page: the judge, then per language (and over all of them) the table and the plots."""
    ident = ", ".join(f"{k}: {v}" for k, v in result.identity.items())
    sections = []
    for name, report in result.reports.items():
        group = result.group(name)
        head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
        rows = [_stats_row(c, a) for c, a in report.by_category.items()] + [_stats_row("overall", report.overall)]
        plots = [
            f"<figure>{scatter(category, [c for c in group if c.item.category == category])}"
            f"<figcaption>{esc(_caption(a))}</figcaption></figure>"
            for category, a in report.by_category.items()
        ]
        title = "all languages" if name == ALL else name
        sections.append(
            f"<h2>{esc(title)} ({len(group)} items)</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table><div class=plots>{''.join(plots)}</div>"
        )
    level = next(iter(result.reports.values())).level
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>judge check</title>"
        f"<style>{CSS}</style></head><body><h1>Judge check</h1>"
        f"<p>Judge: {esc(ident)}. Prompts: {esc(result.prompts)}. Bias is mean(judge − GPT-4) with its "
        f"{level:.0%} bootstrap interval; kappa is quadratic-weighted on the 1–10 scale.</p>"
        f"{''.join(sections)}</body></html>\n"
    )

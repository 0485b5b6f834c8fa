"""MT-Bench in the terminal summary and in `report.html`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ...family import Built, Sample, Task
from ...sinks.html_report import esc, filters, grid, num, pre, td, tr, with_thinking
from ...sinks.terminal import grid as text_grid


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:.4f}"


def summary_lines(tasks: Sequence[Built]) -> list[str]:
    """Neo's per-category means and AVG (1-10), FastChat's turn means, and what the judge was."""
    if not tasks:
        return []
    keys = ["AVG", *sorted({k for t in tasks for k in t.block if k != "AVG"})]
    rows = [[k, *(_number(t.block.get(k)) for t in tasks)] for k in keys]
    for name in ("turn1", "turn2", "average"):
        rows.append([f"show_result {name}", *(_number(t.meta["show_result"].get(name)) for t in tasks)])
    rows.append(["parse failures (-1)", *(str(t.meta["parse_failures"]) for t in tasks)])
    notes = [f"{t.task.name}: {note}" for t in tasks for note in t.meta.get("notes", ())]
    return [*text_grid(["score", *(t.task.name for t in tasks)], rows), *notes, ""]


def counts(samples: Sequence[Sample]) -> dict[str, str]:
    """Each category rests on its questions; unreadable judgments (-1) said beside."""
    questions = Counter(category for category, _ in {(s.group, s.unit) for s in samples})
    failures = Counter(s.group for s in samples if s.value == -1)
    questions["AVG"], failures["AVG"] = questions.total(), failures.total()
    return {k: f"{questions[k]} q, {failures[k]} unparsed" for k in questions}


def samples_section(tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
    """Every judged turn: question, answer (with any thinking folded under it), judgment and rating, with filters
    by language, category and unreadable judgments."""
    rows, languages, categories = [], [], set()
    for task, samples in tasks:
        language = task.name.removeprefix("mtbench_")
        languages.append(language)
        for s in sorted(samples, key=lambda s: (s.row["question_id"], s.row["turn"])):
            r = s.row
            categories.add(s.group)
            fail = s.value == -1
            judgment = f"<details><summary>judgment</summary>{pre(r.get('judgment'))}</details>"
            rows.append(
                tr(
                    [
                        td(esc(language)),
                        td(esc(r["question_id"]), "n"),
                        td(esc(s.group)),
                        td(esc(r["turn"]), "n"),
                        td(pre(r.get("question"))),
                        td(with_thinking(r.get("answer"), r)),
                        td(judgment),
                        td("parse failure" if fail else num(r["score"], 1), "n s"),
                    ],
                    cls="fail" if fail else "",
                    lang=language,
                    category=s.group,
                    fail=int(fail),
                )
            )
    if not rows:
        return ""
    controls = filters(
        "mtbench-samples",
        [("lang", "language", languages), ("category", "category", sorted(categories))],
        ("fail", "judge parse failures only"),
        len(rows),
    )
    headers = ["lang", "question", "category", "turn", "question text", "answer", "judgment", "rating"]
    return "<h2>MT-Bench samples</h2>" + controls + grid(headers, rows, "mtbench-samples")

"""jaster in the terminal summary and in `report.html`."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ...family import Built, Sample, Task
from ...sinks.html_report import esc, filters, grid, pre, td, tr, with_thinking
from ...sinks.terminal import grid as text_grid
from .names import HEADLINE

SHARED_PREFIX_MIN = 200  # a few-shot prompt's shared head (instruction + shots) is stored once per dataset and task


def _mmlu_mean(scores: Mapping[str, float]) -> tuple[int, float] | None:
    subjects = [v for k, v in scores.items() if k.startswith("mmlu_en_")]
    return (len(subjects), statistics.mean(subjects)) if subjects else None


def summary_lines(tasks: Sequence[Built]) -> list[str]:
    """Headline scores, then each Japanese dataset, then the MMLU subjects' mean; one column per task."""
    if not tasks:
        return []
    keys = [k for k in HEADLINE if any(k in t.block for t in tasks)]
    keys += sorted({k for t in tasks for k in t.block if k not in HEADLINE and not k.startswith("mmlu_en_")})
    rows = [[k, *(f"{t.block[k]:.4f}" if k in t.block else "" for t in tasks)] for k in keys]
    mmlu = [_mmlu_mean(t.block) for t in tasks]
    if any(mmlu):
        n = max(m[0] for m in mmlu if m)
        rows.append([f"mmlu_en ({n} subjects, mean)", *(f"{m[1]:.4f}" if m else "" for m in mmlu)])
    return [*text_grid(["score", *(t.task.name for t in tasks)], rows), ""]


def counts(samples: Sequence[Sample]) -> dict[str, str]:
    """Each dataset score rests on that dataset's test samples."""
    per_dataset = Counter(s.group for s in samples)
    metrics = {s.group: s.facts.get("metrics", ()) for s in samples}
    return {f"{d}_{m}": str(n) for d, n in per_dataset.items() for m in metrics[d]}


def _shared_prefixes(samples: Sequence[Sample]) -> dict[str, str]:
    """dataset -> the head its prompts share (instruction and few-shots), when it is worth storing once."""
    prompts: dict[str, list[str]] = {}
    for s in samples:
        prompts.setdefault(s.group, []).append(str(s.row.get("prompt") or ""))
    heads = {d: os.path.commonprefix(p) for d, p in prompts.items() if len(p) > 1}  # noqa: RUF071 - text, by character
    return {d: head for d, head in heads.items() if len(head) >= SHARED_PREFIX_MIN}


def _prompt(prompt: str, head: str | None, ident: str) -> str:
    """The prompt in a collapsed block; a shared head is put back by `nejumiPrompt` when the block is opened."""
    if not head:
        return f"<details><summary>prompt</summary>{pre(prompt)}</details>"
    tail = f'<pre data-prefix="{ident}">{esc(prompt[len(head) :])}</pre>'
    return f'<details ontoggle="nejumiPrompt(this)"><summary>prompt</summary>{tail}</details>'


def samples_section(tasks: Sequence[tuple[Task, Sequence[Sample]]]) -> str:
    """Every test sample of every task: input and prompt, prediction (with any thinking folded under it), gold and
    its score, with filters by task, dataset and wrong answers."""
    rows: list[str] = []
    names: list[str] = []
    datasets: set[str] = set()
    templates: list[str] = []
    for task, samples in tasks:
        suffix = task.name.removeprefix("jaster_")
        names.append(suffix)
        heads = _shared_prefixes(samples)
        idents = {d: f"prompt-head-{len(templates) + i}" for i, d in enumerate(heads)}
        templates += [f'<template id="{idents[d]}">{esc(head)}</template>' for d, head in heads.items()]
        for s in samples:
            r: Mapping[str, Any] = s.row
            datasets.add(s.group)
            scored = s.measure != "parsed value" and s.value is not None
            shown = f"{esc(s.measure)} {s.value:.2f}" if scored else ("exact 0" if s.wrong else "exact 1")
            prompt = _prompt(str(r.get("prompt") or ""), heads.get(s.group), idents.get(s.group, ""))
            rows.append(
                tr(
                    [
                        td(esc(suffix)),
                        td(esc(s.group)),
                        td(esc(r["id"]), "n"),
                        td(pre(r.get("input")) + prompt),
                        td(with_thinking(r["pred"], r)),
                        td(pre(r["true"])),
                        td(shown, "n s"),
                    ],
                    cls="bad" if s.wrong else "",
                    task=suffix,
                    dataset=s.group,
                    wrong=int(s.wrong),
                )
            )
    if not rows:
        return ""
    controls = filters(
        "jaster-samples",
        [("task", "task", names), ("dataset", "dataset", sorted(datasets))],
        ("wrong", "wrong answers only"),
        len(rows),
    )
    headers = ["task", "dataset", "id", "input / prompt", "prediction", "gold", "score"]
    return "<h2>jaster samples (test)</h2>" + controls + grid(headers, rows, "jaster-samples") + "".join(templates)

"""How the Japanese question text GPT-4 was given relates to the shared question files (for PROVENANCE.md only:
no file decides an item's text, which comes from the recorded prompt)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .sources import SharedData, source


@dataclass(frozen=True)
class Comparison:
    source_id: str
    equal: int  # questions whose turn-1 text in the file is the judged text
    differing: tuple[int, ...]  # question ids whose file text is not


def judged_texts(items: Iterable[dict[str, Any]]) -> dict[int, str]:
    """question id -> the turn-1 question text of the judged run, from the usable items."""
    return {i["question_id"]: i["questions"][0] for i in items}


def compare(judged: dict[int, str], data: SharedData, source_ids: Sequence[str]) -> list[Comparison]:
    """Per file: how many judged questions it words exactly as GPT-4 saw them. Lines that are not JSON (a
    published file may hold one) count as differing."""
    out = []
    for sid in source_ids:
        texts: dict[int, str] = {}
        for line in data.path(sid).read_text(encoding="utf-8").split("\n"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            texts[int(obj["question_id"])] = obj["turns"][0]
        differing = tuple(sorted(q for q, t in judged.items() if texts.get(q) != t))
        out.append(Comparison(source(sid).id, len(judged) - len(differing), differing))
    return out

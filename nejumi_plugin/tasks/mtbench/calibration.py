"""The judge calibration set: recorded MT-Bench answers with GPT-4's single-mode ratings (`calibration_data/`).

A judge that is not GPT-4 can be scored against GPT-4 by rating the same items. Each item carries what the judge
prompt is built from (questions, answers, references up to the judged turn), the prompt GPT-4 was given and its
rating; `match()` gives the harness's own `Match` for it, so the calibration prompts are byte for byte the prompts a
run would send.
`calibration_data/PROVENANCE.md` says where the items come from and how they were chosen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import CATEGORIES, JUDGE_PROMPTS, NEED_REF_CATS, JudgePrompt, MtbenchDataError, Question, load_judge_prompts
from .judge import Match
from .names import LANGUAGES

CALIBRATION_DIR = Path(__file__).with_name("calibration_data")
FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "language": str,
    "question_id": int,
    "category": str,
    "turn": int,
    "model": str,
    "questions": list,
    "answers": list,
    "references": (list, type(None)),
    "judge_prompt": str,
    "judge_prompt_set": str,
    "gpt4_rating": int,
    "gpt4_judgment": str,
    "recorded_user_prompt_sha256": str,
    "source": str,
}


class CalibrationDataError(MtbenchDataError):
    """A calibration file is missing or malformed; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class CalibrationItem:
    """One (question, turn, answer, GPT-4 rating) item; `answers` and `references` stop at the judged turn, and so
    does the question: a turn-1 item's `question.turns[1]` is empty (it is not part of the judged prompt, and the
    Japanese run's turn-2 wording is not recorded)."""

    id: str
    language: str
    question: Question
    turn: int
    model: str
    answers: tuple[str, ...]
    references: tuple[str, ...] | None
    judge_prompt: str  # FastChat's prompt name for this category and turn
    recorded_prompt: JudgePrompt  # the prompt GPT-4 was given (for ja, Stability's Japanese prompt, not Neo's)
    gpt4_rating: int
    gpt4_judgment: str
    recorded_user_prompt_sha256: str
    source: str  # the recorded judgment file, named in PROVENANCE.md

    @property
    def category(self) -> str:
        return self.question.category

    def match(self, prompts: Mapping[str, JudgePrompt] | None = None) -> Match:
        """The judge match for this item: with `prompts` (e.g. a run's `MtbenchData.prompts`) judged with that set's
        prompt of the same name, as a run would; without, with the prompt GPT-4 was given, which rebuilds the
        recorded user prompt exactly. A turn-1 item's second answer is never read, so it is left empty."""
        prompt = self.recorded_prompt if prompts is None else prompts[self.judge_prompt]
        answers = (self.answers[0], self.answers[1] if self.turn == 2 else "")
        return Match(self.question, self.turn, prompt, answers, self.references)


def balanced(items: Sequence[CalibrationItem], limit: int) -> list[CalibrationItem]:
    """The first `limit` items of each language, taken round-robin over its categories (sorted by name, file order
    within each), so a short selection still sees every category and is always the same; in file order."""
    chosen: set[str] = set()
    for language in dict.fromkeys(i.language for i in items):
        queues: dict[str, list[CalibrationItem]] = {}
        for item in items:
            if item.language == language:
                queues.setdefault(item.category, []).append(item)
        order = [queues[c] for c in sorted(queues)]
        taken = 0
        while taken < limit and any(order):
            for queue in order:
                if queue and taken < limit:
                    chosen.add(queue.pop(0).id)
                    taken += 1
    return [i for i in items if i.id in chosen]


def load_calibration(
    languages: Iterable[str] = LANGUAGES, folder: Path = CALIBRATION_DIR
) -> tuple[CalibrationItem, ...]:
    """Every item of `folder/<language>.jsonl`, validated, in file order."""
    prompt_sets: dict[str, dict[str, JudgePrompt]] = {}
    items: list[CalibrationItem] = []
    seen: set[str] = set()
    for language in languages:
        path = folder / f"{language}.jsonl"
        if not path.is_file():
            raise CalibrationDataError(f"{path}: file not found (calibration languages: {', '.join(LANGUAGES)})")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise CalibrationDataError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
            item = _item(row, language, where, prompt_sets, folder)
            if item.id in seen:
                raise CalibrationDataError(f"{where}: item {item.id!r} appears twice")
            seen.add(item.id)
            items.append(item)
    return tuple(items)


def _item(
    row: Any, language: str, where: str, prompt_sets: dict[str, dict[str, JudgePrompt]], folder: Path
) -> CalibrationItem:
    """One validated item; `prompt_sets` caches the judge prompt files already read."""
    if not isinstance(row, dict):
        raise CalibrationDataError(f"{where}: expected a JSON object")
    bad = [k for k, kind in FIELDS.items() if not isinstance(row.get(k), kind) or isinstance(row.get(k), bool)]
    if bad:
        raise CalibrationDataError(f"{where}: missing or mistyped field(s) {', '.join(bad)}")
    turn, category, rating = row["turn"], row["category"], row["gpt4_rating"]
    problems = []
    if row["language"] != language:
        problems.append(f"language {row['language']!r} in the {language} file")
    if category not in CATEGORIES:
        problems.append(f"unknown category {category!r}")
    if turn not in (1, 2):
        problems.append(f"turn {turn} (MT-Bench has turns 1 and 2)")
    if not 1 <= rating <= 10:
        problems.append(f"gpt4_rating {rating} (GPT-4's ratings are 1..10; unreadable ones are not calibration items)")
    texts = {k: row[k] or [] for k in ("questions", "answers", "references")}
    if any(not all(isinstance(t, str) for t in v) for v in texts.values()):
        problems.append("questions, answers and references must be lists of strings")
    if len(row["questions"]) != turn or len(row["answers"]) != turn:
        problems.append(f"needs {turn} question(s) and {turn} answer(s)")
    needs_ref = category in NEED_REF_CATS
    if needs_ref != (row["references"] is not None) or (needs_ref and len(row["references"]) != turn):
        problems.append(f"{category} needs {f'{turn} reference(s)' if needs_ref else 'no references'}")
    if row["judge_prompt"] not in JUDGE_PROMPTS:
        problems.append(f"unknown judge_prompt {row['judge_prompt']!r}")
    if not re.fullmatch(r"[0-9a-f]{64}", row["recorded_user_prompt_sha256"]):
        problems.append("recorded_user_prompt_sha256 is not a sha256 hex digest")
    if problems:
        raise CalibrationDataError(f"{where}: item {row['id']!r}: {'; '.join(problems)}")
    name = row["judge_prompt_set"]
    if name not in prompt_sets:
        prompt_path = folder / "judge_prompts" / f"{name}.jsonl"
        if not re.fullmatch(r"[\w.-]+", name) or not prompt_path.is_file():
            raise CalibrationDataError(f"{where}: judge_prompt_set {name!r}: {prompt_path} not found")
        prompt_sets[name] = load_judge_prompts(prompt_path)
    if row["judge_prompt"] not in prompt_sets[name]:
        raise CalibrationDataError(f"{where}: judge prompt set {name!r} has no {row['judge_prompt']!r}")
    return CalibrationItem(
        id=row["id"],
        language=language,
        question=Question(row["question_id"], category, tuple((row["questions"] + [""])[:2])),
        turn=turn,
        model=row["model"],
        answers=tuple(row["answers"]),
        references=None if row["references"] is None else tuple(row["references"]),
        judge_prompt=row["judge_prompt"],
        recorded_prompt=prompt_sets[name][row["judge_prompt"]],
        gpt4_rating=rating,
        gpt4_judgment=row["gpt4_judgment"],
        recorded_user_prompt_sha256=row["recorded_user_prompt_sha256"],
        source=row["source"],
    )

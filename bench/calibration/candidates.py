"""Recorded judgment rows -> calibration items whose rebuilt judge prompt is the recorded one, byte for byte.

Each row's recorded user prompt is split back into its values (`fields.split_prompt`) with every judge prompt set
the language has; a set counts only when the split gives the very answers (and references) of the shared files.
The question text is taken from that split, checked against the shared question file where one holds the judged
text (English), and the same for every row of a question (Japanese: no shared file holds it for every question).
Finally the harness's own `Match.user_prompt()` must rebuild the recorded prompt from the item's values.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from nejumi_plugin.tasks.mtbench.data import NEED_REF_CATS, JudgePrompt, Question, load_judge_prompts, load_questions
from nejumi_plugin.tasks.mtbench.data import load_references as load_answer_file  # FastChat's answer-file format
from nejumi_plugin.tasks.mtbench.judge import Match

from .fields import AmbiguousSplit, split_prompt
from .sources import MODELS, PROMPT_SETS, SharedData

UNREADABLE = "excluded: rating -1 (unreadable)"
REPEATED = "excluded: repeated (model, question, turn) row; the first readable one is kept"
NO_SET = "excluded: no judge prompt set splits the recorded prompt into the shared answer and reference"
AMBIGUOUS = "excluded: the recorded prompt splits in more than one way"
OTHER_QUESTION = "excluded: the question text in the recorded prompt is not the shared question file's"
NOT_REBUILT = "excluded: Match.user_prompt() does not rebuild the recorded prompt"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _texts(values: dict[str, str], turn: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(questions, answers, references) up to `turn`, as the template's placeholders hold them."""
    if turn == 1:
        keys = (("question",), ("answer",), ("ref_answer_1",))
    else:
        keys = (("question_1", "question_2"), ("answer_1", "answer_2"), ("ref_answer_1", "ref_answer_2"))
    return tuple(tuple(values[k] for k in ks if k in values) for ks in keys)  # type: ignore[return-value]


def candidates(language: str, data: SharedData, stats: Counter[str]) -> list[dict[str, Any]]:
    """Every usable recorded judgment of one language, as a calibration item (file order of the judgments)."""
    questions = {q.question_id: q for q in load_questions(data.path(f"{language}-questions"))}
    references = load_answer_file(data.path(f"{language}-references"))
    prompt_sets = {s: load_judge_prompts(data.path(s)) for s in PROMPT_SETS[language]}
    answers = {m: load_answer_file(data.path(f"{language}-answers/{m}")) for m in MODELS[language]}
    text_is_shared = language == "en"  # the English question file is the judged text; the Japanese one is not
    for reason in (NO_SET, AMBIGUOUS, NOT_REBUILT, *((OTHER_QUESTION,) if text_is_shared else ())):
        stats[reason] += 0  # listed in PROVENANCE.md even when no row had to be left out for it
    seen: set[tuple[str, int, int]] = set()
    split_text: dict[int, set[tuple[str, ...]]] = {}
    out = []
    for row in read_jsonl(data.path(f"{language}-judgments")):
        stats["rows"] += 1
        qid, turn, model, score = int(row["question_id"]), int(row["turn"]), row["model"], row["score"]
        if score == -1:
            stats[UNREADABLE] += 1
            continue
        if not isinstance(score, int) or not 1 <= score <= 10:
            stats[f"excluded: rating {score!r} (not an integer 1..10)"] += 1
            continue
        if (model, qid, turn) in seen:
            stats[REPEATED] += 1
            continue
        seen.add((model, qid, turn))
        category, name = questions[qid].category, row["judge"][1]
        given = tuple(answers[model][qid][:turn])
        ref = tuple(references[qid][:turn]) if category in NEED_REF_CATS else None
        try:
            hits = [
                (s, texts[0])
                for s, prompts in prompt_sets.items()
                if name in prompts
                and (texts := _split(prompts[name], row["user_prompt"], turn)) is not None
                and texts[1:] == (given, ref or ())
            ]
        except AmbiguousSplit:
            stats[AMBIGUOUS] += 1
            continue
        if len(hits) != 1:
            stats[NO_SET] += 1
            continue
        prompt_set, asked = hits[0]
        if text_is_shared and asked != questions[qid].turns[:turn]:
            stats[OTHER_QUESTION] += 1
            continue
        q = Question(qid, category, (asked[0], asked[1] if turn == 2 else ""))
        match = Match(q, turn, prompt_sets[prompt_set][name], (*given, "")[:2], ref)
        if match.user_prompt() != row["user_prompt"]:
            stats[NOT_REBUILT] += 1
            continue
        split_text.setdefault(qid, set()).add(asked[:1])
        stats[f"prompt set {prompt_set}: {model}"] += 1
        out.append(
            {
                "id": f"{language}-q{qid}-t{turn}-{model}",
                "language": language,
                "question_id": qid,
                "category": category,
                "turn": turn,
                "model": model,
                "questions": list(asked),
                "answers": list(given),
                "references": None if ref is None else list(ref),
                "judge_prompt": name,
                "judge_prompt_set": prompt_set,
                "gpt4_rating": score,
                "gpt4_judgment": row["judgment"],
                "recorded_user_prompt_sha256": hashlib.sha256(row["user_prompt"].encode("utf-8")).hexdigest(),
                "source": f"{language}-judgments",
            }
        )
    differing = sorted(qid for qid, texts in split_text.items() if len(texts) > 1)
    if differing:  # every row of a question was judged with the same question file
        raise SystemExit(f"{language}: the recorded prompts give more than one text for question(s) {differing}")
    stats["usable"] = len(out)
    return out


def _split(prompt: JudgePrompt, recorded: str, turn: int) -> tuple[tuple[str, ...], ...] | None:
    values = split_prompt(prompt.prompt_template, recorded)
    return None if values is None else _texts(values, turn)

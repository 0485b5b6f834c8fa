"""Loading one language's MT-Bench data: questions, reference answers, judge prompts (docs/scoring-mtbench.md).

Files are read as FastChat reads them (JSONL, `question_id` cast to int, a later reference line overwriting an
earlier one) and validated up front, so a broken artifact fails before any model or judge is called. Every error
names the file (and line or question id) and says how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NEED_REF_CATS = ("math", "reasoning", "coding", "arena-hard-200")  # FastChat common.py
CATEGORIES = (
    "writing",
    "roleplay",
    "reasoning",
    "math",
    "coding",
    "extraction",
    "stem",
    "humanities",
    "arena-hard-200",
)
JUDGE_PROMPTS = ("single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn")
OUTPUT_FORMATS = ("[[rating]]", "[[評価]]")  # the only ones FastChat's run_judge_single accepts


class MtbenchDataError(Exception):
    """An MT-Bench data file is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Question:
    question_id: int
    category: str
    turns: tuple[str, str]


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    system_prompt: str
    prompt_template: str
    output_format: str
    type: str


@dataclass(frozen=True)
class MtbenchData:
    """Validated data for one language; `files` records the paths read (for provenance)."""

    language: str
    questions: tuple[Question, ...]
    references: dict[int, tuple[str, ...]]
    prompts: dict[str, JudgePrompt]
    files: dict[str, str]

    def needs_reference(self, q: Question) -> bool:
        """Whether the question is judged against a reference answer (FastChat's NEED_REF_CATS)."""
        return q.category in NEED_REF_CATS


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; lines are split on '\\n' only, as FastChat's file loop does."""
    if not path.is_file():
        raise MtbenchDataError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise MtbenchDataError(f"{path}: not readable as UTF-8 text: {err}") from None
    rows = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            start = line[:80] + ("..." if len(line) > 80 else "")
            near = line[max(0, err.pos - 30) : err.pos + 30]
            raise MtbenchDataError(
                f"{path}:{lineno}: not valid JSON ({err.msg} at column {err.colno}, near {near!r}); "
                f"the line starts {start!r}. "
                "Each line must be one JSON object: fix the line (e.g. an unescaped quote) or use a corrected file"
            ) from None
        if not isinstance(obj, dict):
            raise MtbenchDataError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        rows.append((lineno, obj))
    return rows


def _question_id(path: Path, lineno: int, obj: Mapping[str, Any]) -> int:
    """`int(obj["question_id"])`, as FastChat casts it."""
    if "question_id" not in obj:
        raise MtbenchDataError(f"{path}:{lineno}: missing key 'question_id'")
    try:
        return int(obj["question_id"])
    except (TypeError, ValueError):
        raise MtbenchDataError(f"{path}:{lineno}: question_id {obj['question_id']!r} is not an integer") from None


def find_file(folder: Path, names: Sequence[str], what: str, key: str) -> Path:
    """The first `folder/name` that exists; otherwise an error naming the folder, the names tried and `key`."""
    for name in names:
        if (folder / name).is_file():
            return folder / name
    state = "" if folder.is_dir() else " (the folder does not exist)"
    raise MtbenchDataError(
        f"{what} not found in {folder}{state}: looked for {', '.join(names)}; set {key} to the folder that holds it"
    )


def load_questions(path: Path) -> list[Question]:
    """Questions in file order; each needs a known category and exactly 2 non-empty turns, ids unique."""
    questions: list[Question] = []
    seen: dict[int, int] = {}
    for lineno, obj in _read_jsonl(path):
        qid = _question_id(path, lineno, obj)
        missing = [k for k in ("category", "turns") if k not in obj]
        if missing:
            raise MtbenchDataError(f"{path}:{lineno}: question {qid} is missing key(s) {', '.join(missing)}")
        if qid in seen:
            raise MtbenchDataError(
                f"{path}:{lineno}: question {qid} appears twice (lines {seen[qid]} and {lineno}); ids must be unique"
            )
        seen[qid] = lineno
        category, turns = obj["category"], obj["turns"]
        if category not in CATEGORIES:
            raise MtbenchDataError(
                f"{path}:{lineno}: question {qid} has unknown category {category!r}; known: {', '.join(CATEGORIES)}"
            )
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise MtbenchDataError(f"{path}:{lineno}: question {qid}: 'turns' must be a list of 2 strings")
        if len(turns) != 2:
            plural = "turn" if len(turns) == 1 else "turns"
            raise MtbenchDataError(f"{path}:{lineno}: question {qid} has {len(turns)} {plural}; MT-Bench needs 2")
        empty = [str(i) for i, t in enumerate(turns, start=1) if not t.strip()]
        if empty:
            raise MtbenchDataError(
                f"{path}:{lineno}: question {qid} has an empty turn {', '.join(empty)}; "
                "MT-Bench needs 2 non-empty turns"
            )
        questions.append(Question(qid, category, (turns[0], turns[1])))
    return questions


def load_references(path: Path) -> dict[int, tuple[str, ...]]:
    """question_id -> `choices[0].turns` of a FastChat answer file; a later line overwrites an earlier one.

    Empty turns are data, not errors (the JA v1 file has an empty turn-1 reference for q47).
    """
    references: dict[int, tuple[str, ...]] = {}
    for lineno, obj in _read_jsonl(path):
        qid = _question_id(path, lineno, obj)
        choices = obj.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        turns = first.get("turns") if isinstance(first, dict) else None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise MtbenchDataError(
                f"{path}:{lineno}: question {qid}: expected FastChat answer format "
                '{"question_id": ..., "choices": [{"index": 0, "turns": ["...", "..."]}]}'
            )
        references[qid] = tuple(turns)
    return references


def load_judge_prompts(path: Path) -> dict[str, JudgePrompt]:
    """The JUDGE_PROMPTS present in the file (a later line with the same name wins); other prompts are ignored."""
    prompts: dict[str, JudgePrompt] = {}
    for lineno, obj in _read_jsonl(path):
        name = obj.get("name")
        if not isinstance(name, str):
            raise MtbenchDataError(f"{path}:{lineno}: judge prompt without a string 'name'")
        if name not in JUDGE_PROMPTS:
            continue
        fields = ("system_prompt", "prompt_template", "output_format", "type")
        bad = [k for k in fields if not isinstance(obj.get(k), str)]
        if bad:
            raise MtbenchDataError(f"{path}:{lineno}: judge prompt {name!r}: missing or non-string {', '.join(bad)}")
        prompts[name] = JudgePrompt(name, *(obj[k] for k in fields))
    return prompts


def load_mtbench(
    language: str,
    question_dir: Path,
    reference_dir: Path,
    prompt_dir: Path,
    judge_model: str,
    keys: Mapping[str, str] | None = None,
) -> MtbenchData:
    """Find, load and cross-check one language's files.

    The reference file is `<judge_model>.jsonl`, else `gpt-4.jsonl`, in `reference_dir` or its `reference_answer/`
    (Neo's FastChat needs the judge's name; the gpt-4 fallback decouples the two, as Nejumi 3 did). `keys` maps
    "questions"/"references"/"judge_prompts" to the config key that supplied each folder, for error messages.
    """
    keys = keys or {}
    args = {"questions": "question_dir", "references": "reference_dir", "judge_prompts": "prompt_dir"}
    key = {k: keys.get(k, arg) for k, arg in args.items()}
    ref_names = list(dict.fromkeys(f"{m}.jsonl" for m in (judge_model, "gpt-4")))
    ref_names = [p + n for n in ref_names for p in ("", "reference_answer/")]
    files = {
        "questions": find_file(Path(question_dir), ["question.jsonl"], "question file", key["questions"]),
        "references": find_file(Path(reference_dir), ref_names, "reference answer file", key["references"]),
        "judge_prompts": find_file(
            Path(prompt_dir), ["judge_prompts.jsonl"], "judge prompt file", key["judge_prompts"]
        ),
    }
    questions = load_questions(files["questions"])
    references = load_references(files["references"])
    prompts = load_judge_prompts(files["judge_prompts"])

    ref_path = files["references"]
    need = [q for q in questions if q.category in NEED_REF_CATS]
    absent = [q.question_id for q in need if q.question_id not in references]
    short = [q.question_id for q in need if q.question_id in references and len(references[q.question_id]) != 2]
    if absent or short:
        problems = [f"no reference for question(s) {_ids(absent)}"] if absent else []
        problems += [f"question(s) {_ids(short)} have a reference without exactly 2 turns"] if short else []
        raise MtbenchDataError(
            f"{ref_path}: {'; '.join(problems)} ({'/'.join(NEED_REF_CATS[:3])} questions are judged against a "
            f"2-turn reference); point {key['references']} at the reference set matching {files['questions']}"
        )

    prompt_path = files["judge_prompts"]
    missing = [n for n in JUDGE_PROMPTS if n not in prompts]
    if missing:
        raise MtbenchDataError(
            f"{prompt_path}: missing judge prompt(s) {', '.join(missing)}; Neo's single-mode judging needs all of "
            f"{', '.join(JUDGE_PROMPTS)} (check {key['judge_prompts']})"
        )
    for p in prompts.values():
        if p.output_format not in OUTPUT_FORMATS:
            raise MtbenchDataError(
                f"{prompt_path}: judge prompt {p.name!r} has output_format {p.output_format!r}; FastChat accepts only "
                f"{' or '.join(OUTPUT_FORMATS)}"
            )
        if p.type != "single":
            raise MtbenchDataError(f"{prompt_path}: judge prompt {p.name!r} has type {p.type!r}; expected 'single'")

    return MtbenchData(
        language=language,
        questions=tuple(questions),
        references=references,
        prompts={n: prompts[n] for n in JUDGE_PROMPTS},
        files={k: str(v) for k, v in files.items()},
    )


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)

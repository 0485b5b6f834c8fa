"""The text of `calibration_data/PROVENANCE.md`: sources, question-text comparison, selection, exclusions, counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .compare import Comparison
from .selection import BUCKETS, CAP, SEED, bucket
from .sources import SOURCES, source


def table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def provenance(
    items: dict[str, list[dict[str, Any]]], stats: dict[str, Counter[str]], compared: Sequence[Comparison]
) -> str:
    sources = table(
        ("id", "path", "sha256", "used for", "origin (per mtbench/PROVENANCE.md)"),
        ((s.id, f"`{s.path}`", s.sha256, s.use, s.origin) for s in SOURCES),
    )
    comparison = table(
        ("file", "sha256", "same turn-1 text", "other text for question(s)"),
        (
            (
                f"`{source(c.source_id).path}`",
                source(c.source_id).sha256,
                c.equal,
                ", ".join(map(str, c.differing)) or "-",
            )
            for c in compared
        ),
    )
    exclusions = "\n\n".join(
        f"**{lang}**\n\n" + table(("step", "rows"), sorted(c.items())) for lang, c in stats.items()
    )
    labels = [f"{lo}-{hi}" for lo, hi in BUCKETS]
    count_rows = []
    for lang, rows in items.items():
        per = Counter((r["category"], r["turn"], bucket(r["gpt4_rating"])) for r in rows)
        for cat, turn in sorted({(c, t) for c, t, _ in per}):
            cells = [per[cat, turn, b] for b in range(len(BUCKETS))]
            count_rows.append((lang, cat, turn, *cells, sum(cells)))
    counts = table(("language", "category", "turn", *labels, "total"), count_rows)
    ratings = table(
        ("language", *map(str, range(1, 11)), "total"),
        (
            (lang, *(sum(r["gpt4_rating"] == v for r in rows) for v in range(1, 11)), len(rows))
            for lang, rows in items.items()
        ),
    )
    return TEMPLATE.format(
        seed=SEED,
        cap=CAP,
        half=CAP // 2,
        sources=sources,
        comparison=comparison,
        exclusions=exclusions,
        counts=counts,
        ratings=ratings,
        total=sum(map(len, items.values())),
    )


TEMPLATE = """\
# MT-Bench judge calibration set: provenance

Recorded model answers with GPT-4's single-mode ratings, in the form the harness judges them, so that another
judge's ratings can be set against GPT-4's. Written by `bench/make_calibration.py /work/shared/data` (do not edit by
hand). The files are under the Apache License 2.0 (`LICENSE`, attribution in `NOTICE`).

## Sources

Every byte of `ja.jsonl`, `en.jsonl` and `judge_prompts/` comes from the files below, read from the workplace's
shared reference data (`/work/shared/data`; paths relative to it) and checked against their sha256. The origin
column repeats what that folder's `mtbench/PROVENANCE.md` says each file was extracted from.

{sources}

Japanese: the 7 models' answers and GPT-4's judgments recorded in the shared Japanese golden set. That run judged
**turn 1 only**, so every Japanese item is a turn-1 item. It used Stability's Japanese judge prompts, which are
*not* Neo's Japanese prompts (`nejumi_plugin/demo_data/mtbench/ja/judge_prompts.jsonl`: lm-sys's English prompts plus
a sentence asking for Japanese): 4 models were judged with the first version (`ja-prompts-6006cf5`), the 3 `mixv3`
models with the version that adds a language-consistency sentence (`ja-prompts-9ade766`); the build finds which by
splitting every recorded prompt with both (the counts below say which set reproduced which model's rows).

No shared question file words every Japanese question as GPT-4 was given it (table below), so the question text
is taken from the recorded prompts themselves: each recorded `user_prompt` is the judge template filled with the
question, the answer and (math, reasoning, coding) the reference, and splitting it on the template's literal pieces
gives the question back. A split is used only when it is the only one, its answer is the model's answer in the shared
answer file and its reference the shared reference (`ja-references`); every row of a question gives the same text,
and the harness's `Match.user_prompt()` rebuilds the recorded prompt from it. The shared Japanese question files
(`ja-questions` is used only for the categories) word some questions differently:

{comparison}

English: the two Llama-3-8B-Instruct variants ("Normal", strong; "Griffin", weak) of the shared English golden set,
both turns, judged with lm-sys's English prompts (`en-prompts-4ec7524`, the same file as
`nejumi_plugin/demo_data/mtbench/en/judge_prompts.jsonl`) and lm-sys's reference answers; the question text split
out of every recorded prompt is the shared question file's.

Items carry the questions, answers and references up to the judged turn; a turn-1 item has no turn-2 question (it
is not part of the prompt GPT-4 judged, and for Japanese the shared data does not hold the judged run's turn-2
text). The judge prompts GPT-4 was given are copied, byte for byte, to `judge_prompts/<set>.jsonl`.

## Selection

1. Every recorded judgment row; rows whose rating is -1 (GPT-4's rating was unreadable) and fractional ratings are
   excluded; of repeated (model, question, turn) rows the first readable one is kept.
2. Each remaining row's recorded prompt is split as above and rebuilt with the harness's `Match.user_prompt()` from
   the question, answer(s) and reference(s); a row is excluded unless the rebuilt prompt equals the recorded
   `user_prompt` byte for byte (its sha256 is kept in `recorded_user_prompt_sha256`).
3. Strata: (language, category, turn, rating bucket 1-2 / 3-4 / 5-6 / 7-8 / 9-10). From each, at most {cap} items per
   (language, category, bucket), split evenly over the language's turns (Japanese: {cap} for turn 1; English:
   {half} per turn), all of them where a stratum has fewer. Within a stratum items are taken in a seeded order
   (sha256 of "{seed}:<item id>", seed {seed}), preferring at each step an exact rating, then a model, then a
   question used least so far in that stratum.

Rows read and excluded, per language (and which judge prompt set reproduced each model's rows):

{exclusions}

## Counts

{total} items. Per language, category, turn and GPT-4 rating bucket:

{counts}

Per rating:

{ratings}

## Item format (`ja.jsonl`, `en.jsonl`, one JSON object a line)

`id`, `language`, `question_id`, `category`, `turn` (1 or 2), `model` (the answering model, FastChat's name),
`questions` (the question of each turn up to the judged turn), `answers` (the model's answers up to the judged
turn), `references` (the GPT-4 reference answers up to the judged turn, for math, reasoning and coding; else null),
`judge_prompt` (the FastChat prompt name), `judge_prompt_set` (the file in `judge_prompts/`, named as its source
above), `gpt4_rating` (an integer 1..10), `gpt4_judgment` (GPT-4's recorded answer), `recorded_user_prompt_sha256`,
`source` (the judgment file's id above).
"""

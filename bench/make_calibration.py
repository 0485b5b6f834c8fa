"""Build the MT-Bench judge calibration set (``nejumi_plugin/tasks/mtbench/calibration_data``) from the recorded
GPT-4 single-mode judgments of the workplace's shared reference data.

    python bench/make_calibration.py SRC [--out DIR]

``SRC`` is a folder laid out like ``/work/shared/data`` (``SRC/mtbench``, ``SRC/mtbench-golden``); nothing else is
read. Every file is pinned by its sha256 (``bench/calibration/sources.py``), so a rebuild writes the same bytes.

What it does: reads the recorded judgments (Japanese: 7 models, turn 1 only; English: 2 models, both turns), drops
the rows GPT-4's rating could not be read from (-1), the fractional ratings and repeated (model, question, turn)
rows, splits every remaining row's recorded judge prompt back into question, answer and reference with the judge
templates, keeps it only when the answer and reference are the shared files' and the harness's own
`Match.user_prompt()` rebuilds the recorded prompt byte for byte, then keeps a balanced, seeded subset. It lives
outside the package because it needs the shared data, which a user's installation has no use for.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.calibration.candidates import candidates
from bench.calibration.compare import compare, judged_texts
from bench.calibration.provenance import provenance
from bench.calibration.selection import select
from bench.calibration.sources import COMPARED_JA_QUESTIONS, PROMPT_SETS, SharedData

DEFAULT_OUT = REPO / "nejumi_plugin" / "tasks" / "mtbench" / "calibration_data"
TURNS = {"ja": 1, "en": 2}  # the Japanese judgments exist for turn 1 only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="a folder laid out like /work/shared/data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    data = SharedData(args.src)
    items: dict[str, list[dict[str, Any]]] = {}
    stats: dict[str, Counter[str]] = {}
    compared = []
    for language, turns in TURNS.items():
        stats[language] = Counter()
        pool = candidates(language, data, stats[language])
        items[language] = select(pool, turns)
        stats[language]["selected"] = len(items[language])
        if language == "ja":
            compared = compare(judged_texts(pool), data, ("ja-questions", *(s.id for s in COMPARED_JA_QUESTIONS)))
    (args.out / "judge_prompts").mkdir(parents=True, exist_ok=True)
    for language, chosen in items.items():
        lines = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in chosen)
        (args.out / f"{language}.jsonl").write_text(lines, encoding="utf-8")
        for prompt_set in PROMPT_SETS[language]:
            (args.out / "judge_prompts" / f"{prompt_set}.jsonl").write_bytes(data.path(prompt_set).read_bytes())
    (args.out / "PROVENANCE.md").write_text(provenance(items, stats, compared), encoding="utf-8")
    print(f"wrote {sum(map(len, items.values()))} items under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

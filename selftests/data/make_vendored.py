"""Regenerate the test-only data vendored under ``selftests/data`` from a full data folder.

Usage::

    python selftests/data/make_vendored.py SRC [--out selftests/data]

``SRC`` is a data folder laid out as this project's gathered data: ``SRC/mtbench`` (with its PROVENANCE.md),
``SRC/mtbench-golden`` and ``SRC/jaster/1.2.6/evaluation/{train,dev,test}``. It writes

* ``mtbench/...``: byte copies of the MT-Bench files the data-loading tests read (whole files: the tests count
  every question and reference);
* ``mtbench-golden/...``: ``expected_scores.json``, FastChat's printed ``show_result`` outputs and the question
  files as byte copies; the recorded judgment files with every row and every field the aggregation reads, the long
  ``user_prompt`` and ``judgment`` texts replaced by their sha256 (``user_prompt_sha256``, ``judgment_sha256``);
* ``jaster/1.2.6/samples.json``: per dataset and split of the full rebuilt jaster, the source file's sha256, its
  sample count and the sha256 of the demo excerpt that ``selftests/demo_data/make_demo_data.py`` writes from it;
* ``manifest.json`` and ``README.md``: every vendored file with its sha256 and its upstream source.

The self-tests never import this script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "demo_data"))
from make_demo_data import SKIP, SPLITS, excerpt, sample_counts  # noqa: E402  (a sibling script, not a package)

MTBENCH_COPIES = (
    "ja/question.jsonl",
    "ja/reference_answer/gpt-4.jsonl",
    "ja/judge_prompts.jsonl",
    "ja/alt/question_v1.2_raw_9f220b6.jsonl",
    "en/question.jsonl",
    "en/reference_answer/gpt-4.jsonl",
    "en/judge_prompts.jsonl",
    "small_for_test/ja_derived_v1.2/question.jsonl",
    "small_for_test/ja_derived_v1.2/reference_answer/gpt-4.jsonl",
    "small_for_test/ja_wandb_fastchat/question.jsonl",
    "small_for_test/ja_wandb_fastchat/reference_answer/gpt-4.jsonl",
    "small_for_test/en_derived/question.jsonl",
    "small_for_test/en_derived/reference_answer/gpt-4.jsonl",
    "small_for_test/ja_nejumi3/question.jsonl",
    "small_for_test/ja_nejumi3/reference_answer/base-gpt4o-with-human-annotation.jsonl",
)
TRIMMED_TEXT_FIELDS = ("user_prompt", "judgment")
JASTER = "jaster/1.2.6"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upstream_table(provenance: Path) -> dict[str, dict[str, str]]:
    """Rows of the gathered data's PROVENANCE.md file table, keyed by the path under SRC.

    That table names files as ``data/<x>`` (here ``mtbench/<x>``) and ``golden/<x>`` (``mtbench-golden/<x>``).
    """
    text = provenance.read_text(encoding="utf-8")
    full = set(re.findall(r"\b[0-9a-f]{40}\b", text))
    rows: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) < 8 or not re.fullmatch(r"[0-9a-f]{64}", cells[6]):
            continue
        name = re.sub(r"^data/", "mtbench/", re.sub(r"^golden/", "mtbench-golden/", cells[0]))
        what = cells[9] if len(cells) > 9 else ""
        if cells[1].startswith("DERIVED"):  # the gathered data's own small sets, cut from a full file
            rows[name] = {"derived_by": cells[1], "what": what, "sha256": cells[6]}
            continue
        commit = next((c for c in full if c.startswith(cells[3])), cells[3])
        rows[name] = {"repository": cells[1], "ref": cells[2], "commit": commit, "path": cells[4],
                      "sha256": cells[6], "licence": cells[8], "what": what}
    return rows


def trim_judgments(text: str) -> str:
    """Every row kept, in order, with the long texts replaced by their digests (FastChat's field order kept)."""
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        row: dict[str, Any] = {}
        for key, value in json.loads(line).items():
            if key in TRIMMED_TEXT_FIELDS:
                row[f"{key}_sha256"] = sha256(value.encode("utf-8"))
            else:
                row[key] = value
        out.append(json.dumps(row, ensure_ascii=False) + "\n")
    return "".join(out)


def jaster_samples(evaluation: Path) -> dict[str, Any]:
    """Sample counts and digests of the full jaster, and the digest of each demo excerpt made from it."""
    datasets: dict[str, dict[str, Any]] = {}
    for path in sorted((evaluation / "test").glob("*.json")):
        if path.name in SKIP:
            continue
        per_split = {}
        for split in SPLITS:
            source = evaluation / split / path.name
            if not source.exists():
                continue
            raw = source.read_bytes()
            obj = json.loads(raw)
            demo = json.dumps(excerpt(obj, sample_counts(path.name)[split]), ensure_ascii=False, indent=4)
            per_split[split] = {"samples": len(obj["samples"]), "sha256": sha256(raw),
                                "demo_excerpt_sha256": sha256(demo.encode("utf-8"))}
        datasets[path.stem] = per_split
    return {
        "what": "the full rebuilt jaster 1.2.6 evaluation data: per dataset and split, the source file's sha256 "
        "and sample count, and the sha256 of the demo excerpt selftests/demo_data/make_demo_data.py writes from it "
        "(json.dumps(obj with its first N samples, ensure_ascii=False, indent=4) as UTF-8)",
        "generated_by": "selftests/data/make_vendored.py",
        "datasets": datasets,
    }


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256(data)


def generate(src: Path, out: Path) -> dict[str, Any]:
    """Write every vendored file under ``out``; return the manifest (also written as ``out/manifest.json``)."""
    upstream = upstream_table(src / "mtbench" / "PROVENANCE.md")
    for folder in ("mtbench", "mtbench-golden", "jaster"):
        shutil.rmtree(out / folder, ignore_errors=True)
    files: dict[str, dict[str, Any]] = {}

    def record(name: str, data: bytes, derivation: str, source: str) -> None:
        raw = (src / source).read_bytes()
        entry: dict[str, Any] = {"sha256": write(out / name, data), "derivation": derivation, "source": source,
                                 "source_sha256": sha256(raw)}
        if source in upstream:
            if upstream[source]["sha256"] != entry["source_sha256"]:
                raise SystemExit(f"{src / source}: sha256 differs from its PROVENANCE.md row")
            entry["upstream"] = {k: v for k, v in upstream[source].items() if k != "sha256"}
        files[name] = entry

    for name in MTBENCH_COPIES:
        record(f"mtbench/{name}", (src / "mtbench" / name).read_bytes(), "byte copy", f"mtbench/{name}")

    golden = src / "mtbench-golden"
    expected = json.loads((golden / "expected_scores.json").read_bytes())
    record("mtbench-golden/expected_scores.json", (golden / "expected_scores.json").read_bytes(), "byte copy",
           "mtbench-golden/expected_scores.json")
    for txt in sorted((golden / "show_result_outputs").glob("*.txt")):
        name = f"mtbench-golden/show_result_outputs/{txt.name}"
        record(name, txt.read_bytes(), "byte copy", name)
    for spec in expected["datasets"].values():
        for key in ("question_file", "judgment_file"):
            name = spec[key]
            if name in files:
                continue
            raw = (src / name).read_bytes()
            if key == "question_file":
                record(name, raw, "byte copy", name)
            else:
                trimmed = trim_judgments(raw.decode("utf-8")).encode("utf-8")
                record(name, trimmed, "every row and field kept; user_prompt and judgment replaced by their sha256 "
                       "(user_prompt_sha256, judgment_sha256)", name)

    evaluation = src / JASTER / "evaluation"
    samples = json.dumps(jaster_samples(evaluation), ensure_ascii=False, indent=1) + "\n"
    files[f"{JASTER}/samples.json"] = {"sha256": write(out / JASTER / "samples.json", samples.encode("utf-8")),
                                       "derivation": "computed from every file of the folder",
                                       "source": f"{JASTER}/evaluation"}

    manifest = {"generated_by": "selftests/data/make_vendored.py", "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme(manifest), encoding="utf-8")
    return manifest


README_HEAD = """\
# Test data vendored for the self-tests

Written by `selftests/data/make_vendored.py` (do not edit by hand): the data the self-tests need so that a fresh
clone runs every test with no file from outside the repository. It is test data only; the package does not ship it.

* `mtbench/`: MT-Bench question, reference-answer and judge-prompt files (Japanese and English, the full sets, the
  test-mode small sets and the raw Japanese v1.2 question file with its broken line 50), byte for byte.
* `mtbench-golden/`: real recorded GPT-4 single-mode judgments from public FastChat forks, with
  `expected_scores.json` (what FastChat's `show_result.py` and Neo's aggregation compute from them) and the printed
  output of the original `show_result.py`. The judgment files keep every row and every field the aggregation reads;
  the long `user_prompt` and `judgment` texts are replaced by their sha256, which is all the tests need of them.
* `jaster/1.2.6/samples.json`: sample counts and digests of the full rebuilt jaster 1.2.6, and the digest of each
  file of the demo excerpt (`nejumi_plugin/demo_data`) computed from the full file.

Licences: the MT-Bench files and the golden judgments come from lm-sys/FastChat and its forks (Stability-AI/FastChat,
wandb/FastChat, dreaming-panda/MTBench, and wandb/llm-leaderboard's copy), all under the Apache License 2.0 (`LICENSE`,
attribution in `NOTICE`). Reference answers and judgments are GPT-4 outputs (OpenAI's terms may apply); model answers
are outputs of the models named in the files. The jaster counts and digests are facts about the data, not the data.

## Files

| file | sha256 | derivation | source | upstream repository @ commit : path |
|---|---|---|---|---|
"""


def readme(manifest: dict[str, Any]) -> str:
    rows = []
    for name, entry in manifest["files"].items():
        up = entry.get("upstream")
        if up is None:
            where = "-"
        elif "derived_by" in up:
            where = f"{up['derived_by']}: {up['what']}"
        else:
            where = f"{up['repository']} @ {up['commit']} : `{up['path']}`"
        rows.append(f"| `{name}` | `{entry['sha256']}` | {entry['derivation']} | `{entry['source']}` | {where} |")
    return README_HEAD + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="data folder holding mtbench/, mtbench-golden/ and jaster/")
    parser.add_argument("--out", type=Path, default=HERE, help=f"output folder (default {HERE})")
    args = parser.parse_args(argv)
    manifest = generate(args.src, args.out)
    print(f"wrote {len(manifest['files'])} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

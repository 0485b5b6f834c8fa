"""Regenerate the vendored demo excerpt of jaster 1.2.6 (``nejumi_plugin/demo_data``).

Usage::

    python selftests/demo_data/make_demo_data.py /work/shared/data/jaster/1.2.6/evaluation [OUT_DIR]

For every dataset file in ``<src>/test`` (except ``mmluen.json``, the single-file MMLU form) it writes
``OUT_DIR/{train,dev,test}/<name>.json`` in llm-jp-eval's format, keeping every key and only the first
samples of each split: 4 train (few-shot examples), 2 dev and 2 test — 4 / 1 / 1 for ``mmlu_en_*`` —
i.e. exactly the items Neo's test mode evaluates. ``selftests/data/make_vendored.py`` records, from the same full
data, the digest each excerpt file must have (``selftests/data/jaster/1.2.6/samples.json``): rerun it when what is
kept changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "nejumi_plugin" / "demo_data" / "jaster" / "1.2.6" / "evaluation"
SPLITS = ("train", "dev", "test")
SKIP = frozenset({"mmluen.json"})


def sample_counts(name: str) -> dict[str, int]:
    """Number of leading samples kept per split for dataset file ``name`` (e.g. ``jnli.json``)."""
    if name.startswith("mmlu_en_"):
        return {"train": 4, "dev": 1, "test": 1}
    return {"train": 4, "dev": 2, "test": 2}


def excerpt(obj: dict, n: int) -> dict:
    """Copy of an evaluation-JSON object with only its first ``n`` samples."""
    out = dict(obj)
    out["samples"] = list(obj["samples"][:n])
    return out


def dataset_names(src: Path) -> list[str]:
    """File names of the datasets to vendor, taken from ``<src>/test``."""
    return sorted(p.name for p in (src / "test").glob("*.json") if p.name not in SKIP)


def write_json(obj: dict, path: Path) -> None:
    """Write ``obj`` the way llm-jp-eval does (``ensure_ascii=False, indent=4``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=4)


def generate(src: Path, out: Path) -> int:
    """Write the excerpt of every dataset in ``src`` into ``out``; return the number of files written."""
    names = dataset_names(src)
    if not names:
        raise FileNotFoundError(f"no dataset files in {src / 'test'}")
    for split in SPLITS:  # drop stale files from an earlier generation
        for old in (out / split).glob("*.json") if (out / split).is_dir() else ():
            old.unlink()
    written = 0
    for name in names:
        counts = sample_counts(name)
        for split in SPLITS:
            source = src / split / name
            if not source.exists():
                print(f"warning: {source} missing, skipped", file=sys.stderr)
                continue
            with source.open(encoding="utf-8") as f:
                obj = json.load(f)
            write_json(excerpt(obj, counts[split]), out / split / name)
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="jaster 1.2.6 'evaluation' folder holding train/dev/test")
    parser.add_argument("out", type=Path, nargs="?", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    n = generate(args.src, args.out)
    print(f"wrote {n} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

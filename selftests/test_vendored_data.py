"""The test data vendored under selftests/data: every file listed with its digest and source, and licensed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
NOT_DATA = {"make_vendored.py", "manifest.json", "README.md", "LICENSE", "NOTICE"}


def manifest() -> dict:
    return json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))["files"]


def test_every_vendored_file_is_listed_with_its_sha256() -> None:
    files = manifest()
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert present - NOT_DATA == set(files)
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name, entry in files.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert f"| `{name}` | `{entry['sha256']}` |" in readme
        if entry["derivation"] == "byte copy":
            assert entry["source_sha256"] == entry["sha256"], name


def test_upstream_files_name_their_repository_and_commit() -> None:
    for name, entry in manifest().items():
        if name.startswith("mtbench/") or name.endswith(".jsonl"):
            up = entry["upstream"]
            if "derived_by" in up:  # a test-mode small set cut from a full file: the rule is named
                assert up["what"].startswith(("first question per category", "same 8 ids", "refs for ids")), name
                continue
            assert "/" in up["repository"] and len(up["commit"]) == 40 and up["path"], name


def test_trimmed_judgment_files_keep_every_row() -> None:
    expected = json.loads((DATA / "mtbench-golden" / "expected_scores.json").read_text(encoding="utf-8"))
    for spec in expected["datasets"].values():
        rows = (DATA / spec["judgment_file"]).read_text(encoding="utf-8").splitlines()
        assert len(rows) == spec["n_rows"]
        assert all(
            {"question_id", "model", "judge", "score", "turn", "user_prompt_sha256"} <= set(json.loads(r)) for r in rows
        )


def test_licence_and_attribution_are_present() -> None:
    licence = (DATA / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    for name in ("lm-sys/FastChat", "Stability-AI/FastChat", "wandb/FastChat", "dreaming-panda/MTBench"):
        assert name in notice

"""Provenance: the harness commit and data digests recorded with a row."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from nejumi_plugin.provenance import file_digests, harness_commit, provenance


def test_digests_and_commit(tmp_path: Path) -> None:
    data = tmp_path / "question.jsonl"
    data.write_text('{"question_id": 1}\n', encoding="utf-8")
    assert file_digests({"questions": data}) == {
        "questions": {"path": str(data), "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
    }
    commit = harness_commit()
    if (Path(__file__).resolve().parents[1] / ".git").exists():  # a checkout: 40 hex digits, maybe marked dirty
        assert commit is not None and re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)
    files = {
        "jaster_files": file_digests({"test/jnli.json": data}),
        "mtbench_files": {"ja": file_digests({"questions": str(data)})},
    }  # as the families give them
    block = provenance({"backend": "hf"}, None, files)
    assert block["jaster_files"]["test/jnli.json"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert block["model_backend"] == {"backend": "hf"} and block["judge_backend"] is None
    assert block["mtbench_files"]["ja"]["questions"]["path"] == str(data)

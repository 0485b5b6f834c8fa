"""A local model's fingerprint comes from its content: a model converted or copied again to identical files keeps
its fingerprint (and so every stored answer), a changed weight changes it, and files are read again only when they
changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from nejumi_plugin.backends import fingerprint as fp
from nejumi_plugin.models.embedded import model_cache_dir


def test_identical_files_give_the_same_fingerprint_whatever_their_times(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    for path in copy.iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))  # "converted again": other modification times
    (copy / ".nejumi-embedded-complete.json").write_text('{"converted_at": "later"}', encoding="utf-8")
    assert fp.fingerprint(copy, tmp_path / "memo") == fp.fingerprint(tiny_model_dir, tmp_path / "memo")
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert fp.fingerprint(copy, tmp_path / "memo") != fp.fingerprint(tiny_model_dir, tmp_path / "memo")
    assert fp.fingerprint(tmp_path / "no-such-folder", None) is None  # a hub id


def test_a_file_is_read_again_only_when_it_changed(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    read: list[str] = []
    digest = fp._digest
    monkeypatch.setattr(fp, "_digest", lambda path: read.append(path.name) or digest(path))
    first = fp.fingerprint(model, tmp_path)
    files = len(read)
    assert files == len([p for p in model.iterdir() if p.is_file()]) and (tmp_path / fp.MEMO_NAME).is_file()
    assert fp.fingerprint(model, tmp_path) == first and len(read) == files  # all remembered
    (model / "config.json").write_text((model / "config.json").read_text() + " ", encoding="utf-8")
    fp.fingerprint(model, tmp_path)
    assert read[files:] == ["config.json"]


def test_the_memo_forgets_files_that_are_gone(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Models in temporary folders come and go: the memo keeps only files that still exist."""
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    shutil.copytree(tiny_model_dir, gone)
    shutil.copytree(tiny_model_dir, kept)
    fp.fingerprint(gone, tmp_path / "memo")
    shutil.rmtree(gone)
    fp.fingerprint(kept, tmp_path / "memo")
    memo = json.loads((tmp_path / "memo" / fp.MEMO_NAME).read_text(encoding="utf-8"))
    assert memo and all(key.startswith(str(kept.resolve())) for key in memo)


def test_the_model_cache_honours_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEJUMI_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache_dir() == tmp_path / "xdg" / "nejumi" / "models"
    monkeypatch.setenv("NEJUMI_CACHE_DIR", str(tmp_path / "mine"))
    assert model_cache_dir() == tmp_path / "mine"

"""A local model's fingerprint, from its content: the cache key of every answer it gives.

The fingerprint hashes the name and content of each file of the model folder (config, tokenizer, weights; hidden
files such as a conversion marker left out), so a checkpoint converted or copied again to identical files keeps
every stored answer, and one whose weights changed gets new ones. Hashing gigabytes on every run would cost
seconds, so each file's digest is remembered beside the model cache, keyed by its path, size, inode and
modification time: a file is read again only when one of those changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MEMO_NAME = ".fingerprints.json"
CHUNK = 1 << 20


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_ino, stat.st_mtime_ns]


def fingerprint(folder: Path, memo_dir: Path | None) -> str | None:
    """The folder's content hash (16 hex digits), None when it is not a folder (a hub id)."""
    if not folder.is_dir():
        return None
    memo_path = memo_dir / MEMO_NAME if memo_dir is not None else None
    memo = _read(memo_path)
    digest, changed = hashlib.sha256(), False
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        key, stamp = str(path.resolve()), _stamp(path.stat())
        known = memo.get(key)
        if not (isinstance(known, dict) and known.get("stamp") == stamp):
            known, changed = {"stamp": stamp, "sha256": _digest(path)}, True
            memo[key] = known
        digest.update(f"{path.name}:{known['sha256']}\n".encode())
    if changed and memo_path is not None:
        _write(memo_path, {key: known for key, known in memo.items() if os.path.exists(key)})  # forget deleted files
    return digest.hexdigest()[:16]


def _read(path: Path | None) -> dict[str, object]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged memo only costs hashing again
    return data if isinstance(data, dict) else {}


def _write(path: Path, memo: dict[str, object]) -> None:
    """Atomically (workers may write at once: the last one wins, and a lost entry is only hashed again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: the fingerprint is still right, only slower next time

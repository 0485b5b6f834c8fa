"""The run directory's two SQLite stores: every generation (CallStore) and every scored sample (ResultStore).

Both use WAL mode and commit each write at once, so a crash or Ctrl-C loses nothing already computed, and several
pytest-xdist workers can share them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from .backends.base import Completion, GenerationRequest
from .family import Scored


class StoreError(Exception):
    """A store file that cannot be trusted (damaged, truncated, not a store); the message names it."""


def _access(path: Path) -> str:
    """What to do about a store that could not be opened, from the file's and its folder's permissions."""
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "this user may not read and write the file: fix its permissions (or run as its owner)"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return "this user may not write its folder (SQLite keeps its journal beside it): fix the folder's permissions"
    return "check the file's permissions and the disk (read-only, or full)"


def _connect(path: Path, attempts: int = 300) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)  # autocommit: each write is durable at once
    except (OSError, sqlite3.OperationalError) as err:
        raise StoreError(f"{path}: the store cannot be opened ({err}); {_access(path)}") from None
    try:
        for attempt in range(attempts):
            try:  # switching to WAL does not wait on the busy timeout: workers opening a new store together retry
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt == attempts - 1:
                    raise
                time.sleep(0.05)
        conn.execute("PRAGMA synchronous=NORMAL")
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.OperationalError as err:  # cannot open or write it: permissions, a read-only disk, no space
        conn.close()
        raise StoreError(
            f"{path}: the store cannot be opened for reading and writing ({err}); {_access(path)}"
        ) from None
    except sqlite3.DatabaseError as err:  # "file is not a database", "database disk image is malformed"
        conn.close()
        raise StoreError(f"{path}: not a usable store ({err}); move it aside to start afresh") from None
    if problems != ["ok"]:
        conn.close()
        raise StoreError(f"{path}: the store is damaged ({'; '.join(problems[:3])}); move it aside to start afresh")
    return conn


def call_key(identity: Mapping[str, Any], request: GenerationRequest) -> str:
    """Hash of backend identity + request: the same question to the same model is answered once."""
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False) + "\n" + request.canonical()
    return hashlib.sha256(blob.encode()).hexdigest()


class CallStore:
    """Completions keyed by `call_key`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = _connect(path)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, identity TEXT, request TEXT,"
            " completion TEXT, created REAL)"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        keys = list(keys)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._conn.execute(f"SELECT key, completion FROM calls WHERE key IN ({marks})", chunk):
                found[key] = replace(Completion(**json.loads(blob)), cached=True)
        return found

    def put(self, key: str, identity: Mapping[str, Any], request: GenerationRequest, completion: Completion) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?)",
            (
                key,
                json.dumps(identity, sort_keys=True, ensure_ascii=False),
                request.canonical(),
                json.dumps(asdict(replace(completion, cached=False)), ensure_ascii=False),
                time.time(),
            ),
        )

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        self._conn.close()


class ResultStore:
    """Scored cases keyed by the case's key (the latest score wins), each with the hash of the config it was scored
    under: a run directory's row is built from every case it scored under the same config (docs/architecture.md)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = _connect(path)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, task TEXT, record TEXT, created REAL,"
            " config TEXT)"
        )
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(results)")}
        if "config" not in columns:  # a store written before records carried their config: none of them is used
            self._conn.execute("ALTER TABLE results ADD COLUMN config TEXT")

    def put(self, scored: Scored, config: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
            (scored.key, scored.task, scored.to_json(), time.time(), config),
        )

    def records(self, config: str) -> list[Scored]:
        """Every case scored under `config` (a record this version cannot read is left out)."""
        out = []
        for (blob,) in self._conn.execute("SELECT record FROM results WHERE config = ? ORDER BY key", (config,)):
            try:
                out.append(Scored.from_json(blob))
            except (TypeError, ValueError, KeyError):
                continue
        return out

    def close(self) -> None:
        self._conn.close()

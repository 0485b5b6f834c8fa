"""The run directory's SQLite stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.backends.base import Completion, GenerationRequest
from nejumi_plugin.store import CallStore, ResultStore, call_key


def req(prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt, 3, ("\n\n",))


def test_call_key_depends_on_identity_and_every_request_field() -> None:
    base = call_key({"m": 1}, req("x"))
    assert base == call_key({"m": 1}, req("x"))
    assert len({base, call_key({"m": 2}, req("x")), call_key({"m": 1}, req("y")),
                call_key({"m": 1}, GenerationRequest("x", 3, ())),
                call_key({"m": 1}, GenerationRequest("x", 3, ("\n\n",), True))}) == 5  # fmt: skip


def test_store_survives_reopening_and_rejects_nothing_silently(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "sub" / "calls.sqlite")
    store.put("k", {"b": 1}, req("x"), Completion("t", 0.5, "eos", 3, 1))
    store.close()
    got = CallStore(tmp_path / "sub" / "calls.sqlite").get_many(["k", "missing"])
    assert list(got) == ["k"] and got["k"].finish_reason == "eos" and got["k"].cached


@pytest.mark.parametrize("n", [1, 501, 1200])
def test_get_many_handles_large_key_sets(tmp_path: Path, n: int) -> None:
    store = CallStore(tmp_path / "calls.sqlite")
    for i in range(n):
        store.put(str(i), {}, req(str(i)), Completion(str(i), 0.0))
    assert len(store.get_many(str(i) for i in range(n))) == n


def test_result_store_keeps_the_latest_record_per_key(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    store.put("t/a/test/0", "t", {"v": 1})
    store.put("t/a/test/0", "t", {"v": 2})
    store.put("u/a/test/0", "u", {"v": 3})
    assert store.records("t") == [{"v": 2}] and len(store.records()) == 2


def test_many_processes_open_a_new_store_at_once(tmp_path: Path) -> None:
    """xdist workers create calls.sqlite together; none may fail with "database is locked"."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for trial in range(10):
        path = tmp_path / f"calls{trial}.sqlite"
        barrier, errors = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_open_and_write, args=(path, i, barrier, errors)) for i in range(8)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=120)
        assert errors.empty(), errors.get()
        assert len(CallStore(path)) == 8


def _open_and_write(path: Path, i: int, barrier: Any, errors: Any) -> None:
    barrier.wait()
    try:
        store = CallStore(path)
        store.put(str(i), {}, req(str(i)), Completion(str(i), 0.0))
        store.close()
    except Exception as err:  # reported to the parent test
        errors.put(repr(err))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_reported_not_used(tmp_path: Path, damage: str) -> None:
    from nejumi_plugin.store import StoreError

    path = tmp_path / "calls.sqlite"
    store = CallStore(path)
    for i in range(200):
        store.put(f"k{i}", {"m": 1}, req(f"prompt {i} " * 20), Completion("x" * 200, 0.1))
    store.close()
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
    data = path.read_bytes()
    path.write_bytes(b"not a database at all" * 100 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(StoreError, match=rf"{path}: (not a usable store|the store is damaged).*move it aside"):
        CallStore(path)

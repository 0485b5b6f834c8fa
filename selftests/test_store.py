"""The run directory's SQLite stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nejumi_plugin.backends.base import Completion, GenerationRequest
from nejumi_plugin.family import Scored
from nejumi_plugin.store import CallStore, ResultStore, call_key


def req(prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt, 3, ("\n\n",))


def test_call_key_depends_on_identity_and_every_request_field() -> None:
    base = call_key({"m": 1}, req("x"))
    assert base == call_key({"m": 1}, req("x"))
    assert (
        len(
            {
                base,
                call_key({"m": 2}, req("x")),
                call_key({"m": 1}, req("y")),
                call_key({"m": 1}, GenerationRequest("x", 3, ())),
                call_key({"m": 1}, GenerationRequest("x", 3, ("\n\n",), True)),
            }
        )
        == 5
    )


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


def test_result_store_keeps_the_latest_record_per_key_and_config(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results.sqlite")
    store.put(Scored("t/a/test/0", "t", ({"v": 1},)), "config-1")
    store.put(Scored("t/a/test/0", "t", ({"v": 2},)), "config-1")
    store.put(Scored("u/a/test/0", "u", ({"v": 3},)), "config-1")
    store.put(Scored("u/a/test/1", "u", ({"v": 4},)), "config-2")  # scored under another config: not this row's
    assert store.records("config-1") == [Scored("t/a/test/0", "t", ({"v": 2},)), Scored("u/a/test/0", "u", ({"v": 3},))]
    assert store.records("config-2") == [Scored("u/a/test/1", "u", ({"v": 4},))]


def test_a_result_store_written_before_records_carried_their_config_is_read_as_empty(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE results (key TEXT PRIMARY KEY, task TEXT, record TEXT, created REAL)")
        conn.execute("INSERT INTO results VALUES ('k', 't', '{\"key\": \"k\", \"row\": {}}', 0)")
    store = ResultStore(path)
    assert store.records("any") == []  # kept, never mixed into a row (its config is unknown)
    store.put(Scored("k2", "t", ()), "any")
    assert [r.key for r in store.records("any")] == ["k2"]


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

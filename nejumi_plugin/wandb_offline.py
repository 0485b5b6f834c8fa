"""Read an offline Weights & Biases run directory back, with no network and no ``wandb.Api()``.

The run's config, history, summary and artifacts live only in ``run-<id>.wandb``, a transaction log: a 7-byte
header (``:W&B``, 0xBEE1 little-endian, version 0), then LevelDB-log framing in 32 KiB blocks. Each chunk is
crc32 (4 bytes, LE; zlib/IEEE crc32 over the type byte and the data, unmasked), length (2, LE), type (1 FULL,
2 FIRST, 3 MIDDLE, 4 LAST); a block tail shorter than a chunk header is zero padding. Each reassembled payload is
a ``wandb.proto.wandb_internal_pb2.Record``. Logged tables are ``files/<path>`` JSON files (``{"columns", "data"}``)
and the key's value is a ``{"_type": "table-file", "path": ...}`` reference.

Items carry either ``key`` or ``nested_key`` (a path). Values are rebuilt as nested dicts, as in wandb's own
``wandb-summary.json``: ``log({"a/b": t})`` gives key ``"a/b"``, ``log({"a": {"b": t}})`` gives ``{"a": {"b": ...}}``.
``table_keys()`` and ``table()`` name both ``"a/b"``.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_BLOCK = 32768
_CHUNK_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (_FULL, _FIRST, _MIDDLE, _LAST)}


class OfflineRunError(ValueError):
    """A run directory that cannot be found, or a ``.wandb`` file that cannot be read."""


def _record_class() -> Any:
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError as err:  # wandb is an optional extra
        raise ImportError('Reading W&B offline runs needs wandb: pip install "nejumi[wandb]"') from err
    return wandb_internal_pb2.Record


def iter_records(wandb_file: Path) -> Iterator[Any]:
    """Yield the protobuf ``Record``s of a ``.wandb`` file; ``OfflineRunError`` (file, offset) if it is damaged."""
    record_cls = _record_class()
    data = Path(wandb_file).read_bytes()

    def fail(offset: int, why: str) -> OfflineRunError:
        return OfflineRunError(f"{wandb_file}: offset {offset}: {why}")

    if len(data) < _CHUNK_HEADER or data[:4] != b":W&B":
        raise fail(0, "not a W&B transaction log (no ':W&B' header)")
    _, magic, version = struct.unpack_from("<4sHB", data, 0)
    if magic != 0xBEE1 or version != 0:
        raise fail(4, f"unsupported header (magic {magic:#x}, version {version})")
    offset, start = _CHUNK_HEADER, _CHUNK_HEADER
    parts: list[bytes] = []
    while offset < len(data):
        left = _BLOCK - offset % _BLOCK
        if left < _CHUNK_HEADER:  # block trailer: zero padding
            offset += left
            continue
        if offset + _CHUNK_HEADER > len(data):
            raise fail(offset, "truncated chunk header")
        crc, length, kind = struct.unpack_from("<IHB", data, offset)
        if not parts and not data[offset:].strip(b"\0"):  # a zero-filled tail is padding, as in LevelDB
            break
        if kind not in _TYPE_CRC or length > left - _CHUNK_HEADER:
            raise fail(offset, f"corrupt chunk header (type {kind}, length {length})")
        payload = data[offset + _CHUNK_HEADER : offset + _CHUNK_HEADER + length]
        if len(payload) < length:
            raise fail(offset, f"truncated record: {len(payload)} of {length} bytes")
        if zlib.crc32(payload, _TYPE_CRC[kind]) != crc:
            raise fail(offset, "checksum mismatch")
        if (kind in (_FULL, _FIRST)) == bool(parts):
            raise fail(offset, f"chunk type {kind} out of sequence")
        if kind in (_FULL, _FIRST):
            start = offset
        parts.append(payload)
        offset += _CHUNK_HEADER + length
        if kind in (_FULL, _LAST):
            record = record_cls()
            try:
                record.ParseFromString(b"".join(parts))
            except Exception as err:  # google.protobuf.message.DecodeError
                raise fail(start, f"undecodable record: {err}") from err
            parts = []
            yield record
    if parts:
        raise fail(start, "truncated record: the file ends inside a multi-chunk record")


def _set(target: dict[str, Any], item: Any) -> None:
    path = list(item.nested_key) or [item.key]
    for part in path[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[-1]] = json.loads(item.value_json)


def _remove(target: dict[str, Any], item: Any) -> None:
    path = list(item.nested_key) or [item.key]
    for part in path[:-1]:
        target = target.get(part, {})
    if isinstance(target, dict):
        target.pop(path[-1], None)


def _table_refs(value: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for key, item in value.items():
        if isinstance(item, dict):
            if item.get("_type") == "table-file":
                yield prefix + key, item
            else:
                yield from _table_refs(item, f"{prefix}{key}/")


@dataclass
class OfflineRun:
    """Everything an offline run recorded."""

    path: Path
    run_id: str
    entity: str | None = None
    project: str | None = None
    name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    def _refs(self) -> dict[str, dict[str, Any]]:
        refs: dict[str, dict[str, Any]] = {}
        for row in [*self.history, self.summary]:  # later wins; the summary holds the final value
            refs.update(_table_refs(row))
        return refs

    def table_keys(self) -> list[str]:
        """Every key whose value is a table reference, in first-logged order (``/`` joins nested keys)."""
        return list(self._refs())

    def table(self, key: str) -> dict[str, Any]:
        """``{"columns", "data"}`` of the last table logged under ``key``."""
        refs = self._refs()
        if key not in refs:
            raise KeyError(f"no table {key!r} in W&B run {self.path}; tables: {sorted(refs) or 'none'}")
        table_file = self.path / "files" / refs[key]["path"]
        if not table_file.is_file():
            raise OfflineRunError(f"table {key!r}: {table_file} is missing")
        data = json.loads(table_file.read_text(encoding="utf-8"))
        return {"columns": data["columns"], "data": data["data"]}


def find_run_dir(path: Path) -> Path:
    """The run directory for ``path``: the run dir itself, a ``wandb/`` dir, or a folder that holds ``wandb/``."""
    path = Path(path)
    if any(path.glob("run-*.wandb")):
        return path
    wandb_dir = path / "wandb" if (path / "wandb").is_dir() else path
    latest = wandb_dir / "latest-run"
    if latest.is_dir() and any(latest.glob("run-*.wandb")):
        return latest.resolve()
    runs = sorted(p for p in wandb_dir.glob("offline-run-*") if any(p.glob("run-*.wandb")))
    if runs:
        return runs[-1]  # names start with YYYYMMDD_HHMMSS: the last is the newest
    raise OfflineRunError(
        f"no W&B run under {path}: expected a dir with run-<id>.wandb, a wandb/ dir with latest-run or "
        "offline-run-*, or a folder containing wandb/"
    )


def read_offline_run(path: Path) -> OfflineRun:
    """Rebuild run info, config, history, final summary and artifacts from an offline run's ``.wandb`` log."""
    run_dir = find_run_dir(path)
    logs = sorted(run_dir.glob("run-*.wandb"))
    if len(logs) != 1:
        raise OfflineRunError(f"{run_dir}: expected one run-<id>.wandb, found {[p.name for p in logs]}")
    run = OfflineRun(path=run_dir, run_id=logs[0].stem.removeprefix("run-"))
    for rec in iter_records(logs[0]):
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            run.run_id = rec.run.run_id or run.run_id
            run.entity, run.project = rec.run.entity or None, rec.run.project or None
            run.name = rec.run.display_name or None
            for item in rec.run.config.update:
                _set(run.config, item)
        elif kind == "config":
            _apply(run.config, rec.config)
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in rec.history.item:
                _set(row, item)
            run.history.append(row)
        elif kind == "summary":
            _apply(run.summary, rec.summary)
        elif kind == "artifact":
            art = rec.artifact
            files = [entry.path for entry in art.manifest.contents]
            run.artifacts.append({"name": art.name, "type": art.type, "aliases": list(art.aliases), "files": files})
    run.config.pop("_wandb", None)
    return run


def _apply(target: dict[str, Any], record: Any) -> None:
    """A config or summary record: its updates, then its removals."""
    for item in record.update:
        _set(target, item)
    for item in record.remove:
        _remove(target, item)

"""Holding a run directory: one writer at a time, and a directory that can be written, known before any request.

Two runs on one run directory would both pay for every request and overwrite each other's answers, so the run that
writes a directory holds an exclusive OS lock (`fcntl.flock`) on `<run dir>/.nejumi.lock` for its whole life. The
lock dies with its process (a `kill -9` leaves nothing stale to clean up) and the file names its holder, so a second
run stops at once and says who holds the directory. Taking the lock writes that file: a directory that cannot be
written (read-only, no permission, full) is found then, before anything is paid for. xdist workers do not take the
lock; their controller holds it for them.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the rest still works
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".nejumi.lock"


class RunDirError(Exception):
    """The run directory cannot be used: another run holds it, or it cannot be written; the message says how to go
    on."""


@dataclass
class RunDirLock:
    """An exclusive hold on a run directory, released by `release` or when the process ends."""

    path: Path
    _file: IO[bytes] | None
    created: tuple[Path, ...] = ()  # folders this hold created, innermost first

    def release(self) -> None:
        """Drop the hold; a run directory this run created and left empty (it stopped before writing anything) is
        removed again, so a usage error leaves no trace."""
        if self._file is None:
            return
        if self.created and [p.name for p in self.created[0].iterdir()] == [LOCK_FILE]:
            self.path.unlink()
            for folder in self.created:
                try:
                    folder.rmdir()
                except OSError:  # not empty: something else lives there
                    break
        self._file.close()  # closing the descriptor drops the flock
        self._file = None


def _holder(text: str) -> str:
    try:
        who: dict[str, Any] = json.loads(text)
        return f"pid {who['pid']} on {who['host']} since {who['since']}"
    except (ValueError, KeyError, TypeError):
        return "another process (its lock file names no holder)"


def hold(run_dir: Path) -> RunDirLock:
    """Take the run directory (creating it) or raise RunDirError naming its holder or the write error."""
    path = run_dir / LOCK_FILE
    created = tuple(folder for folder in (run_dir, *run_dir.parents) if not folder.exists())
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b", buffering=0)  # noqa: SIM115 - held for the run's life; unbuffered: a write error shows at the write, not at close
    except OSError as err:
        raise unwritable(run_dir, err) from None
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _holder(handle.read().decode("utf-8", "replace"))
            handle.close()
            raise RunDirError(
                f"{run_dir} is in use by another run ({holder}); two runs on one directory would pay for every "
                "request twice. Wait for it to finish, stop it, or give this run its own directory (--output-dir, "
                "or another wandb.run_name)"
            ) from None
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        handle.seek(0)
        handle.truncate()
        handle.write((json.dumps(me) + "\n").encode())
        os.fsync(handle.fileno())
    except OSError as err:
        handle.close()
        raise unwritable(run_dir, err) from None
    return RunDirLock(path, handle, created)


def unwritable(run_dir: Path, err: OSError) -> RunDirError:
    """The error for a run directory that cannot be written, with the OS's reason."""
    return RunDirError(
        f"{run_dir}: the run directory cannot be written ({err.strerror or err}); nothing was evaluated. Choose a "
        "writable --output-dir (or free space on its disk)"
    )


def earlier_answers_gone(run_dir: Path, calls: Path) -> str | None:
    """A warning when a finished run's calls store is missing or empty: its answers would all be paid for again."""
    if not (run_dir / "leaderboard.json").is_file():
        return None
    if not calls.exists():
        state = "is missing"
    elif calls.stat().st_size == 0:
        state = "is empty (0 bytes)"
    else:
        return None
    return (
        f"{calls} {state} beside an earlier leaderboard.json: the earlier answers are gone, so every call will "
        "be made (and paid for) again; stop now (Ctrl-C) to restore the store, or let the run go on"
    )

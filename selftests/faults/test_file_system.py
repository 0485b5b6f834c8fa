"""Class 3 — the file system.

An output directory that cannot be written (read-only, full, no permission) is a usage error before any request,
never a traceback; a store that cannot be opened for lack of permission says so (it is not "damaged"); an empty
`calls.sqlite` beside a finished row is a warning that the earlier answers are gone, not a silent full re-run.
Read-only and full file systems are real tmpfs mounts in a private mount namespace; "no permission" is a real file
mode, which binds root too once the child drops root's DAC override capabilities.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from fault_runs import Runs
from fault_server import FaultServer, serve_faults

from nejumi_plugin.store import CallStore


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(
    not _can_mount(), reason="needs a private mount namespace (`unshare -rm`) to make a read-only or a full tmpfs"
)


@needs_mounts
@pytest.mark.parametrize(("kind", "reason"), [("ro", "Read-only file system"), ("full", "No space left on device")])
def test_an_output_directory_that_cannot_be_written_is_a_usage_error_before_any_request(
    runs: Runs, kind: str, reason: str
) -> None:
    mount = runs.root / "mnt"
    mount.mkdir()
    options = "size=64k,ro" if kind == "ro" else "size=64k"
    fill = f"dd if=/dev/zero of={mount}/fill bs=4k count=64 2>/dev/null; " if kind == "full" else ""
    wrap = ["unshare", "-rm", "sh", "-c", f'mount -t tmpfs -o {options} tmpfs {mount} && {fill}exec "$@"', "sh"]
    server = FaultServer()
    with serve_faults(server) as url:
        done = runs.run(runs.config(url), mount / "out", "-k", "jnli", wrap=wrap)
    assert done.returncode == 4, done.output[-2000:]
    assert f"{mount / 'out' / 'tiny-run'}: the run directory cannot be written ({reason})" in done.stderr
    assert "Traceback" not in done.output and "INTERNALERROR" not in done.output
    assert server.bodies == []  # nothing was asked, nothing paid for


def _without_override() -> list[str]:
    """A command prefix under which file modes bind (root's DAC override capabilities dropped, when we are root)."""
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []


needs_modes = pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="running as root, file modes bind only with setpriv (util-linux) to drop root's DAC override",
)


@needs_modes
def test_an_output_directory_without_permission_is_a_usage_error(runs: Runs) -> None:
    out = runs.root / "out"
    out.mkdir(mode=0o555)
    server = FaultServer()
    with serve_faults(server) as url:
        done = runs.run(runs.config(url), out, "-k", "jnli", wrap=_without_override())
    assert done.returncode == 4, done.output[-2000:]
    assert f"{out / 'tiny-run'}: the run directory cannot be written (Permission denied)" in done.stderr
    assert "Traceback" not in done.output and server.bodies == []


@needs_modes
def test_a_store_without_permission_is_said_to_be_so_not_damaged(runs: Runs) -> None:
    run_dir = runs.root / "out" / "tiny-run"
    run_dir.mkdir(parents=True)
    CallStore(run_dir / "calls.sqlite").close()
    (run_dir / "calls.sqlite").chmod(0o000)
    server = FaultServer()
    with serve_faults(server) as url:
        done = runs.run(runs.config(url), runs.root / "out", "-k", "jnli", wrap=_without_override())
    assert done.returncode == 4, done.output[-2000:]
    message = f"{run_dir / 'calls.sqlite'}: the store cannot be opened"
    assert message in done.stderr and "this user may not read and write the file" in done.stderr
    assert "damaged" not in done.stderr and "move it aside" not in done.stderr and server.bodies == []


def test_an_empty_calls_store_beside_a_finished_row_is_a_warning(runs: Runs) -> None:
    server = FaultServer()
    with serve_faults(server) as url:
        config, out = runs.config(url), runs.root / "out"
        first = runs.run(config, out, "-k", "jnli")
        assert first.returncode == 0 and "WARNING" not in first.stdout
        calls = out / "tiny-run" / "calls.sqlite"
        for leftover in (calls.with_name("calls.sqlite-wal"), calls.with_name("calls.sqlite-shm")):
            leftover.unlink(missing_ok=True)
        calls.write_bytes(b"")
        second = runs.run(config, out, "-k", "jnli")
    assert second.returncode == 0, second.output[-2000:]
    warning = f"{calls} is empty (0 bytes) beside an earlier leaderboard.json: the earlier answers are gone"
    header, summary = second.stdout.split("nejumi leaderboard", 1)
    assert f"nejumi: WARNING: {warning}" in header and f"WARNING: {warning}" in summary  # before the items, and after
    assert set(server.answered.values()) == {2}  # what the warning said: every answer was paid for again

"""Class 2 — one writer per run directory.

A run holds its run directory for its whole life with an OS lock that dies with the process. A second run on the
same directory stops at once, before any request, with a usage error naming the holder; a run killed with SIGKILL
leaves no stale lock; xdist workers share their controller's hold.
"""

from __future__ import annotations

import re
import signal
import socket
import time

from fault_runs import ITEMS_JA_0SHOT, Runs
from fault_server import FaultServer, serve_faults


def _until(condition: object, what: str, timeout: float = 120) -> None:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_second_run_on_a_held_directory_stops_at_once_naming_its_holder(runs: Runs) -> None:
    server = FaultServer(("hang",))  # the first run's first request waits until released
    with serve_faults(server) as url:
        config, out = runs.config(url), runs.root / "out"
        first = runs.start(config, out, "-k", "jnli")
        _until(server.holding.is_set, "the first run's request")
        sent = len(server.bodies)
        second = runs.run(config, out, "-k", "jnli")
        assert second.returncode == 4  # a usage error
        holder = f"is in use by another run (pid {first.pid} on {socket.gethostname()} since "
        assert holder in second.stderr and "Traceback" not in second.output
        assert re.search(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)", second.stderr)
        assert len(server.bodies) == sent  # the second run asked nothing
        server.release.set()
        stdout, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and "(complete)" in stdout
    assert set(server.answered.values()) == {1} and len(server.answered) == 4  # every request paid for once


def test_a_run_killed_with_sigkill_leaves_no_stale_lock(runs: Runs) -> None:
    server = FaultServer(("hang",))
    with serve_faults(server) as url:
        config, out = runs.config(url), runs.root / "out"
        first = runs.start(config, out, "-k", "jnli")
        _until(server.holding.is_set, "the first run's request")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
        assert (out / "tiny-run" / ".nejumi.lock").exists()  # the file stays; the lock died with its process
        server.release.set()
        again = runs.run(config, out, "-k", "jnli")
    assert again.returncode == 0 and "(complete)" in again.stdout, again.output[-2000:]


def test_xdist_workers_share_their_controllers_hold(runs: Runs) -> None:
    server = FaultServer()
    with serve_faults(server) as url:
        done = runs.run(runs.config(url), runs.root / "out", "-n", "2")
    assert done.returncode == 0 and f"{ITEMS_JA_0SHOT} passed" in done.stdout, done.output[-2000:]
    assert set(server.answered.values()) == {1} and len(server.answered) == ITEMS_JA_0SHOT

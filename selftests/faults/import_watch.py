"""A pytest plugin for child sessions (`-p import_watch`): records every module first imported on a worker thread of
the API backends (threads named `api_*`) while another such worker is alive, and writes them, as a JSON list, to the
file named by NEJUMI_IMPORT_WATCH.

A module imported on a worker thread is visible half-initialized in `sys.modules` to the other threads; SDKs that
read `sys.modules` directly (openai's httpx compatibility layer does) then fail every request in flight.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from typing import Any

_seen: list[dict[str, str]] = []


class _Watch(MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> None:
        thread = threading.current_thread().name
        if thread.startswith("api_") and fullname not in sys.modules:
            workers = sum(1 for t in threading.enumerate() if t.name.startswith("api_"))
            if workers > 1:
                _seen.append({"module": fullname, "thread": thread, "workers": str(workers)})
        # only watching: the real finders that follow import the module


sys.meta_path.insert(0, _Watch())


def seen() -> list[dict[str, str]]:
    """What was recorded so far (for a plain script rather than a pytest session)."""
    return list(_seen)


def pytest_unconfigure(config: Any) -> None:
    target = os.environ.get("NEJUMI_IMPORT_WATCH")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump(_seen, out)

"""An in-process judge behind a real HTTP endpoint speaking OpenAI's chat API, with scripted ratings.

Ratings: reference-based prompts (math, reasoning, coding) get 4 on turn 1 and 2 on turn 2; the others 8 on turn 1,
and on turn 2 first an out-of-range "[[0]]" (Neo asks again) then 6. A question whose text contains one of
`unrated` never gets a readable rating on turn 1. Every request is counted, so a test can see what a rerun paid, and
the most requests in flight at once are recorded (with `delay_s`, for concurrency checks).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedJudge:
    def __init__(self, unrated: tuple[str, ...] = (), delay_s: float = 0.0, hold_after: int | None = None) -> None:
        self.unrated = unrated
        self.delay_s = delay_s  # each answer takes this long (concurrency checks)
        self.hold_after = hold_after  # after this many answers, requests wait unanswered (a client killed meanwhile)
        self.holding = threading.Event()  # set while a request is held
        self.release = threading.Event()
        self.asked: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict[str, Any]] = []  # every request body, in arrival order
        self.headers: list[dict[str, str]] = []  # and its headers

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    @property
    def requests(self) -> int:
        return sum(self.asked.values())

    def answer(self, messages: list[dict[str, Any]]) -> str:
        user = messages[-1]["content"]
        with self.lock:
            self.asked[user] += 1
            seen = self.asked[user]
        multi_turn = user.startswith("<|The Start of")
        if "Reference Answer" in user:
            return "Rating: [[2]]" if multi_turn else "Rating: [[4]]"
        if not multi_turn:
            return "no rating, sorry" if any(u in user for u in self.unrated) else "Rating: [[8]]"
        return "Rating: [[0]]" if seen == 1 else "Fine. Rating: [[6]]"


def _handler(judge: ScriptedJudge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with judge.lock:
                judge.bodies.append(body)
                judge.headers.append(dict(self.headers))
                hold = judge.hold_after is not None and judge.requests >= judge.hold_after
            if hold:  # never answered: the client is killed while it waits
                judge.holding.set()
                judge.release.wait(timeout=120)
                with contextlib.suppress(OSError):  # the client is gone, as intended
                    self.send_error(503)
                return
            judge.enter()
            try:
                time.sleep(judge.delay_s)
                text = judge.answer(body["messages"])
            finally:
                judge.leave()
            reply = {
                "id": "scripted",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's default backlog of 5 would stall bursts of concurrent clients
    daemon_threads = True


@contextmanager
def serve(judge: ScriptedJudge) -> Iterator[str]:
    """Serve `judge` on 127.0.0.1 for the duration; yields the base URL (…/v1)."""
    server = _Server(("127.0.0.1", 0), _handler(judge))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()

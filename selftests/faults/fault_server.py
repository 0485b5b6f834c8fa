"""A real HTTP server on 127.0.0.1 that injects faults, for the fault catalogue.

It speaks OpenAI's chat completions and, by request path, Anthropic's Messages API, Gemini's generateContent and
Cohere's v2 chat, and answers the way `scripted_judge.ScriptedJudge` does (judge prompts get scripted ratings, any
other prompt a fixed answer), so a run against it has known numbers. A fault plan names what the first attempts of
every distinct request meet — `429` (with `Retry-After`), `429-bare` (without it), `500`, `drop` (the connection is
closed before any answer), `hang` (held until the test sets `release`, then dropped) — and the server records every
attempt: a test sees how often each request was tried and how often it was answered (paid for).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripted_judge import ScriptedJudge

FAULTS = ("429", "429-bare", "500", "drop", "hang")


def request_key(path: str, body: dict[str, Any]) -> str:
    """What makes two requests the same question to the service (where it went, the model, the conversation)."""
    return (
        path
        + " "
        + json.dumps(
            {k: body.get(k) for k in ("model", "messages", "contents", "prompt", "system")},
            sort_keys=True,
            ensure_ascii=False,
        )
    )


class FaultServer(ScriptedJudge):
    """`plan[i]` is what the (i+1)-th attempt of every request meets; later attempts are answered. A request sent
    again after it was answered (a judge asked once more) is a new request: its attempts count from one again."""

    def __init__(self, plan: Sequence[str] = (), delay_s: float = 0.05, retry_after_s: int = 1) -> None:
        super().__init__(delay_s=delay_s)
        unknown = [fault for fault in plan if fault not in FAULTS]
        assert not unknown, f"unknown faults {unknown}; known: {FAULTS}"
        self.plan = tuple(plan)
        self.retry_after_s = retry_after_s
        self.attempts: Counter[str] = Counter()  # request key -> attempts received
        self.answered: Counter[str] = Counter()  # request key -> answers sent (what a provider would bill)
        self._tries: Counter[str] = Counter()  # request key -> attempts since its last answer

    def fault_for(self, key: str) -> str | None:
        with self.lock:
            self.attempts[key] += 1
            self._tries[key] += 1
            attempt = self._tries[key]
        return self.plan[attempt - 1] if attempt <= len(self.plan) else None

    def paid_for(self, key: str) -> None:
        with self.lock:
            self.answered[key] += 1
            self._tries[key] = 0

    @property
    def paid(self) -> int:
        return sum(self.answered.values())


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real services: a drop then hits a reused connection too

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = request_key(self.path, body)
            with server.lock:
                server.bodies.append(body)
                server.headers.append(dict(self.headers))
            fault = server.fault_for(key)
            server.enter()
            try:
                time.sleep(server.delay_s)
                if fault == "hang":  # until the test releases it (or the server stops): then a dropped connection
                    server.holding.set()
                    server.release.wait(timeout=300)
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "drop":
                    self.close_connection = True
                    self.connection.close()  # no status line at all: the client sees a dropped connection
                    return
                if fault is not None:
                    status = 429 if fault.startswith("429") else 500
                    extra = {"Retry-After": str(server.retry_after_s)} if fault == "429" else {}
                    self._send(status, {"error": {"message": f"injected {fault}", "type": "server_error"}}, extra)
                    return
                text = server.answer(_messages(body))
                server.paid_for(key)
            finally:
                server.leave()
            self._send(200, _reply(self.path, body, text))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation of any of the four APIs as OpenAI-style messages."""
    if "contents" in body:  # Gemini
        return [
            {"role": c.get("role", "user"), "content": "".join(p.get("text", "") for p in c["parts"])}
            for c in body["contents"]
        ]
    return [
        {
            **m,
            "content": m["content"]
            if isinstance(m["content"], str)
            else "".join(part.get("text", "") for part in m["content"]),
        }
        for m in body["messages"]
    ]


def _reply(path: str, body: dict[str, Any], text: str) -> dict[str, Any]:
    """An answer in the shape the API at `path` documents."""
    if path.endswith("/messages"):  # Anthropic
        return {
            "id": "msg_fault",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    if ":generateContent" in path:  # Gemini
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
        }
    if path.endswith("/v2/chat"):  # Cohere
        return {
            "id": "fault",
            "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
            "usage": {"tokens": {"input_tokens": 1, "output_tokens": 1}},
        }
    return {
        "id": "fault-server",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def serve_faults(server: FaultServer) -> Iterator[str]:
    """Serve `server` on 127.0.0.1 for the duration; yields the base URL (…/v1)."""
    http = _Server(("127.0.0.1", 0), _handler(server))
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}/v1"
    finally:
        server.release.set()
        http.shutdown()
        http.server_close()

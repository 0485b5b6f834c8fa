"""A local HTTP server that answers as reasoning models do, as their providers document it.

- OpenAI reasoning models (names `o1`…, `o3-mini`, `gpt-5`…): chat completions refuse `max_tokens`, a temperature
  other than 1 and `stop` with the 400 bodies OpenAI sends, take `max_completion_tokens`, and report
  `usage.completion_tokens_details.reasoning_tokens`; the `-pro` models refuse chat completions (404) and answer on
  the Responses API (`/v1/responses`).
- OpenAI-compatible servers running an open reasoning model: a model whose name holds `field` answers through
  `reasoning_content` (vLLM/SGLang with a reasoning parser), any other inline as `<think>…</think>answer`.
- Budgets: the thinking costs `THINKING_TOKENS` tokens; a budget at or below that is spent thinking, and the answer
  is cut inside the think block (empty content, or an unterminated `<think>`). A stop string sent to a compatible
  server applies to the whole output, thinking included, as servers do.

The final answers are `ScriptedJudge`'s, so a run against this server scores as a run against a plain one.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripted_judge import ScriptedJudge

THINKING = "Let me think.\n\nThe question wants a short answer.\n\nI will give it now."
THINKING_TOKENS = 64
OPENAI_REASONING = re.compile(r"^(o\d+|gpt-5)")
UNSUPPORTED = {  # OpenAI's answers to parameters its reasoning models do not take
    "max_tokens": (
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        "unsupported_parameter",
    ),
    "temperature": (
        "Unsupported value: 'temperature' does not support 0.0 with this model. Only the default (1) "
        "value is supported.",
        "unsupported_value",
    ),
    "stop": ("Unsupported parameter: 'stop' is not supported with this model.", "unsupported_parameter"),
}


def openai_error(message: str, param: str | None, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


class ReasoningServer(ScriptedJudge):
    """Records every request (`bodies`, `paths`) and what it refused (`refused`)."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []
        self.refused: list[str] = []

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model = str(body.get("model", ""))
        if path.endswith("/responses"):
            return 200, self._responses(body)
        if OPENAI_REASONING.match(model):
            if model.endswith("-pro"):
                return 404, openai_error(
                    "This model is only supported in v1/responses and not in v1/chat/completions.", "model", None
                )
            for param, (message, code) in UNSUPPORTED.items():
                if param in body and not (param == "temperature" and body[param] == 1):
                    self.refused.append(param)
                    return 400, openai_error(message, param, code)
            return 200, self._openai(body)
        return 200, self._compatible(body, model)

    def _answer(self, messages: list[dict[str, Any]]) -> str:
        return self.answer([{**m, "content": str(m["content"])} for m in messages])

    def _openai(self, body: dict[str, Any]) -> dict[str, Any]:
        budget = int(body.get("max_completion_tokens") or 10**6)
        spent = budget <= THINKING_TOKENS
        content = "" if spent else self._answer(body["messages"])
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": min(budget, THINKING_TOKENS + 2),
            "total_tokens": 0,
            "completion_tokens_details": {"reasoning_tokens": min(budget, THINKING_TOKENS)},
        }
        return _chat(body["model"], {"role": "assistant", "content": content}, "length" if spent else "stop", usage)

    def _responses(self, body: dict[str, Any]) -> dict[str, Any]:
        budget = int(body.get("max_output_tokens") or 10**6)
        spent = budget <= THINKING_TOKENS
        text = "" if spent else self._answer(body["input"])
        output = [{"type": "reasoning", "id": "rs_1", "summary": []}]
        if text:
            output.append(
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        return {
            "id": "resp_1",
            "object": "response",
            "created_at": 0,
            "model": body["model"],
            "output": output,
            "status": "incomplete" if spent else "completed",
            "incomplete_details": {"reason": "max_output_tokens"} if spent else None,
            "usage": {
                "input_tokens": 10,
                "output_tokens": min(budget, THINKING_TOKENS + 2),
                "total_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": min(budget, THINKING_TOKENS)},
            },
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }

    def _compatible(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        budget = int(body.get("max_tokens") or 10**6)
        answer, spent = self._answer(body["messages"]), budget <= THINKING_TOKENS
        thinking = THINKING[: budget * 2] if spent else THINKING
        message: dict[str, Any] = {"role": "assistant"}
        if "field" in model:
            message.update(content="" if spent else answer, reasoning_content=thinking)
        else:
            message["content"] = f"<think>\n{thinking}" + ("" if spent else f"\n</think>\n\n{answer}")
        reason = "length" if spent else "stop"
        for stop in body.get("stop") or ():  # a server applies a stop string to the whole output
            if stop in message["content"]:
                message["content"], reason = message["content"].split(stop, 1)[0], "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": min(budget, THINKING_TOKENS + 2), "total_tokens": 0}
        return _chat(model, message, reason, usage)


def _chat(model: str, message: dict[str, Any], reason: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-r",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reason}],
        "usage": usage,
    }


def _handler(server: ReasoningServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with server.lock:
                server.bodies.append(body)
                server.paths.append(self.path)
            status, payload = server.reply(self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def serve_reasoning(server: ReasoningServer) -> Iterator[str]:
    """Serve on 127.0.0.1 for the duration; yields the base URL (…/v1)."""
    http = _Server(("127.0.0.1", 0), _handler(server))
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_address[1]}/v1"
    finally:
        http.shutdown()
        http.server_close()

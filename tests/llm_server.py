"""A scripted OpenAI-compatible chat server over real HTTP on a free loopback port.

It records every request (body, headers, arrival and finish times, requests in flight) and
answers from a script: queued `Reply` objects first, then a responder function. Replies can be
valid or invalid JSON content, any status with any headers (429 with Retry-After, 500, 400 about
response_format), and slow (a delay before answering).

`POST /v1/embeddings` has its own route, outside the chat script: it answers every input with
a deterministic vector (`hashed_embedding`: words hashed into `embedding_dim` buckets, so texts
sharing words point the same way), or with `embedding_responder`'s reply when that is set, and
records the requests in `embedding_requests`.

Metadata routes, outside the chat script too, for context-window discovery: `GET /v1/models`
answers `models_body` (default: one model "scripted" without any length), `GET /props`
(llama.cpp), `POST /api/show` and `GET /api/ps` (Ollama) answer `props_body`, `show_body` and
`ps_body`, or 404 while those are None. Every metadata request is listed in `metadata_requests`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: chat `content`, or a raw `body`, with a status, headers and delay."""

    content: str | None = None
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] = (100, 20)


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    arrived: float
    finished: float = 0.0
    status: int = 0

    @property
    def schema_name(self) -> str | None:
        """The answer schema's name: json_schema.name, or the schema title in json_object mode."""
        fmt = self.body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return fmt["json_schema"].get("name")
        return (fmt.get("schema") or {}).get("title")

    @property
    def user_text(self) -> str:
        parts = []
        for message in self.body.get("messages", []):
            if message["role"] != "user":
                continue
            content = message["content"]
            if isinstance(content, str):
                parts.append(content)
            else:
                parts += [p.get("text", "") for p in content if p.get("type") == "text"]
        return "\n".join(parts)


def completion(content: str, usage: tuple[int, int] = (100, 20), model: str = "scripted") -> dict:
    """An OpenAI chat.completion body whose message is `content`."""
    return {
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                  "total_tokens": usage[0] + usage[1]},
    }


def hashed_embedding(text: str, dim: int) -> list[float]:
    """A unit vector of `text`'s words hashed into `dim` buckets (deterministic, no model)."""
    vector = [0.0] * dim
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dim] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def embeddings_body(inputs: list[str], dim: int, model: str) -> dict:
    """An OpenAI embeddings list body with one hashed vector per input."""
    return {
        "object": "list", "model": model,
        "data": [{"object": "embedding", "index": i, "embedding": hashed_embedding(text, dim)}
                 for i, text in enumerate(inputs)],
        "usage": {"prompt_tokens": sum(len(t.split()) for t in inputs),
                  "total_tokens": sum(len(t.split()) for t in inputs)},
    }


def error_body(message: str, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class ScriptedLLM:
    """The server's state: the script, the recorded requests, the peak of requests in flight."""

    def __init__(self) -> None:
        self.base_url = ""
        self.script: deque[Reply] = deque()
        self.responder: Callable[[Recorded], Reply] | None = None
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        self.embedding_dim = 32
        self.embedding_responder: Callable[[Recorded], Reply] | None = None
        self.embedding_requests: list[Recorded] = []
        self.models_body: Any = {"object": "list", "data": [{"id": "scripted",
                                                             "object": "model"}]}
        self.props_body: Any = None
        self.show_body: Any = None
        self.ps_body: Any = None
        self.metadata_requests: list[Recorded] = []

    def push(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def next_reply(self, request: Recorded) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(request)
        return Reply(status=500, body=error_body("script exhausted", "server_error"))

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


@contextmanager
def scripted_llm() -> Iterator[ScriptedLLM]:
    """Serve a `ScriptedLLM` on 127.0.0.1 at a free port; `base_url` ends with /v1."""
    state = ScriptedLLM()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _metadata(self, request: Recorded, body: Any) -> None:
            with state._lock:
                state.metadata_requests.append(request)
            request.status = 200 if body is not None else 404
            self._send(request.status, body if body is not None else error_body("not found"),
                       {})
            request.finished = time.monotonic()

        def do_GET(self) -> None:
            request = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, {},
                               time.monotonic())
            routes = {"/v1/models": state.models_body, "/props": state.props_body,
                      "/api/ps": state.ps_body}
            if self.path.endswith("/models"):
                self._metadata(request, state.models_body)
            elif self.path in routes:
                self._metadata(request, routes[self.path])
            else:
                self._send(404, error_body("not found"), {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            request = Recorded(self.path, {k.lower(): v for k, v in self.headers.items()},
                               json.loads(raw or b"{}"),
                               time.monotonic())
            if self.path.endswith("/embeddings"):
                self._embeddings(request)
                return
            if self.path == "/api/show":
                self._metadata(request, state.show_body)
                return
            with state._lock:
                state.requests.append(request)
                state.in_flight += 1
                state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            try:
                reply = state.next_reply(request)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if body is None:
                    body = completion(reply.content or "", reply.usage)
                request.status = reply.status
                self._send(reply.status, body, reply.headers)
            finally:
                request.finished = time.monotonic()
                with state._lock:
                    state.in_flight -= 1

        def _embeddings(self, request: Recorded) -> None:
            with state._lock:
                state.embedding_requests.append(request)
            if state.embedding_responder is not None:
                reply = state.embedding_responder(request)
                body = reply.body if reply.body is not None else {}
                status, headers = reply.status, reply.headers
            else:
                inputs = request.body.get("input", [])
                inputs = [inputs] if isinstance(inputs, str) else list(inputs)
                body = embeddings_body([str(t) for t in inputs], state.embedding_dim,
                                       str(request.body.get("model", "scripted")))
                status, headers = 200, {}
            request.status = status
            self._send(status, body, headers)
            request.finished = time.monotonic()

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that timed out and hung up is part of the script, not a failure

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()

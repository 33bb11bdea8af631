"""A local webhook receiver that checks every request's signature, like a real one would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from paperflow.notify import verify_signature


@dataclass
class Received:
    """One webhook request: its JSON body, headers and whether the signature verified."""

    body: dict[str, Any]
    headers: dict[str, str]
    verified: bool


@dataclass
class Receiver:
    url: str
    secret: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Scripted answers for the next requests (then 200)."""
    attempts: int = 0


@contextmanager
def receive_webhooks(secret: str) -> Iterator[Receiver]:
    """A receiver on a free loopback port; unsigned or badly signed requests get 401."""
    receiver = Receiver("", secret)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            with lock:
                receiver.attempts += 1
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                ok = verify_signature(raw, headers, secret, tolerance_s=300)
                if status == 200 and not ok:
                    status = 401
                if status == 200:
                    receiver.received.append(Received(json.loads(raw), headers, ok))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/paper"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

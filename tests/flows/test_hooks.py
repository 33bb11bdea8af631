"""Failure accounting: every way a paper's run can end badly sends exactly one `paper.failed`.

Real flow runs on the session's Prefect server, a signature-checking webhook receiver, and a
local paper server whose answer never comes (so the flow's or the bulk run's time limit ends
the paper, not the test).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from flows import hooks
from flows.bulk_process import bulk_process
from flows.process_paper import process_paper
from tests.conftest import ROOT
from tests.pdfs import make_paper
from tests.webhooks import Receiver, receive_webhooks

pytestmark = pytest.mark.usefixtures("prefect_server")

SECRET = "hooks-secret"


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[None]:
    from paperflow.settings import reload_settings

    monkeypatch.setenv("PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setenv("PAPERFLOW_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PAPERFLOW_WEBHOOK_BACKOFF_SECONDS", "0.05")
    reload_settings()
    yield
    monkeypatch.undo()
    reload_settings()


@dataclass
class SlowServer:
    url: str
    requested: threading.Event
    release: threading.Event
    paths: list[str] = field(default_factory=list)


@contextmanager
def slow_paper_server(hold_seconds: float = 60.0) -> Iterator[SlowServer]:
    """A paper URL whose response does not come until the test ends (or `hold_seconds`)."""
    requested, release = threading.Event(), threading.Event()
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            requested.set()
            release.wait(hold_seconds)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlowServer(f"http://127.0.0.1:{server.server_address[1]}/slow/paper.pdf",
                         requested, release, paths)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def failed(receiver: Receiver) -> list[dict[str, Any]]:
    assert all(r.verified for r in receiver.received)
    return [r.body for r in receiver.received if r.body["event"] == "paper.failed"]


def read_flow_run(flow_run_id: UUID) -> Any:
    from prefect import get_client

    async def read() -> Any:
        async with get_client() as client:
            return await client.read_flow_run(flow_run_id)

    return asyncio.run(read())


def test_permanent_error_sends_one_failed_webhook_and_is_not_retried(
        webhook_env: None, tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert process_paper.retries == 1  # the default PAPERFLOW_FLOW_RETRIES
    with receive_webhooks(SECRET) as receiver:
        state = process_paper(str(empty), webhook_url=receiver.url, return_state=True)
        assert state.is_failed() and state.name == "Failed"
        bodies = failed(receiver)
    assert len(bodies) == 1 and len(receiver.received) == 1
    assert bodies[0]["source"] == str(empty) and "empty" in bodies[0]["error"].lower()
    run = read_flow_run(state.state_details.flow_run_id)
    assert run.run_count == 1, "a permanent error must not use the flow's retries"


# pytest-timeout's signal method owns SIGALRM; with it Prefect could only stop the flow once the
# blocked read returns. The thread method leaves SIGALRM to Prefect, as in a worker's process.
@pytest.mark.timeout(300, method="thread")
def test_flow_timeout_sends_one_failed_webhook_naming_it(webhook_env: None) -> None:
    # Retried once (no delay): two attempts both time out, and only the final one reports.
    limited = process_paper.with_options(timeout_seconds=2, retries=1, retry_delay_seconds=0)
    with slow_paper_server() as paper, receive_webhooks(SECRET) as receiver:
        start = time.perf_counter()
        state = limited(paper.url, webhook_url=receiver.url, return_state=True)
        seconds = time.perf_counter() - start
        bodies = failed(receiver)
        print(f"\ntimed-out run (2 attempts of 2 s): {seconds:.1f} s, "
              f"{len(receiver.received)} webhook(s), paper requested {len(paper.paths)} times")
    assert state.name == "TimedOut" and state.is_failed()
    assert len(bodies) == 1 and len(receiver.received) == 1
    assert bodies[0]["error"].startswith("timed out after 2 s")
    assert bodies[0]["source"] == paper.url
    assert bodies[0]["flow_run_id"] == str(state.state_details.flow_run_id)
    assert read_flow_run(state.state_details.flow_run_id).run_count == 2


def test_killed_run_reports_crash_once(webhook_env: None, prefect_server: str,
                                       data_dir: Path) -> None:
    """A flow run process stopped by SIGTERM (as a worker or `kill` does) ends Crashed."""
    with slow_paper_server() as paper, receive_webhooks(SECRET) as receiver:
        env = {**os.environ, "PREFECT_API_URL": prefect_server,
               "PYTHONPATH": str(ROOT), "PAPERFLOW_DATA_DIR": str(data_dir)}
        code = ("import sys; from flows.process_paper import process_paper; "
                "process_paper(sys.argv[1], webhook_url=sys.argv[2])")
        child = subprocess.Popen([sys.executable, "-c", code, paper.url, receiver.url],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        try:
            assert paper.requested.wait(60), "the flow run never asked for the paper"
            child.send_signal(signal.SIGTERM)
            output, _ = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        bodies = failed(receiver)
    assert child.returncode != 0
    assert len(bodies) == 1 and len(receiver.received) == 1, output.decode()[-3000:]
    assert bodies[0]["error"].startswith("Crashed:") and bodies[0]["source"] == paper.url


def test_hook_on_crashed_and_cancelled_states(webhook_env: None) -> None:
    """The hook as the worker calls it for a run it saw crash or cancelled: no run context."""
    from prefect import get_client
    from prefect.states import Cancelled, Crashed

    async def create() -> Any:
        async with get_client() as client:
            return await client.create_flow_run(
                process_paper, parameters={"source": "2304.02623", "webhook_url": "X"})

    with receive_webhooks(SECRET) as receiver:
        crashed, cancelled = asyncio.run(create()), asyncio.run(create())
        for run in (crashed, cancelled):
            run.parameters["webhook_url"] = receiver.url
        hooks.report_failure(process_paper, crashed,
                             Crashed(message="Flow run infrastructure exited with code -9."))
        hooks.report_failure(process_paper, cancelled,
                             Cancelled(message="Cancelled from the UI."))
        # Sent from outside the run, the delivery is still found: the same run reports once.
        hooks.report_failure(process_paper, crashed, Crashed(message="reported already"))
        crashed.parameters.pop("webhook_url")
        hooks.report_failure(process_paper, crashed, Crashed(message="no URL, nothing sent"))
        bodies = failed(receiver)
    assert [(b["error"], b["flow_run_id"]) for b in bodies] == [
        ("Crashed: Flow run infrastructure exited with code -9.", str(crashed.id)),
        ("Cancelled: Cancelled from the UI.", str(cancelled.id))]
    assert all(b["source"] == "2304.02623" for b in bodies)


def test_bulk_run_times_out_a_hanging_paper(webhook_env: None, tmp_path: Path) -> None:
    good = [tmp_path / f"ok-{n}.pdf" for n in range(3)]
    for n, path in enumerate(good):
        path.write_bytes(make_paper(title=f"Hook Paper {n}", nonce=f"hooks-bulk-{n}"))
    with slow_paper_server() as paper, receive_webhooks(SECRET) as receiver:
        start = time.perf_counter()
        summary = bulk_process(sources=[paper.url, *map(str, good)], concurrency=2,
                               paper_timeout_seconds=20, webhook_url=receiver.url)
        seconds = time.perf_counter() - start
        bodies = failed(receiver)
        print(f"\nbulk run with a hanging paper: {seconds:.1f} s; {summary.completed} done, "
              f"{summary.failed} failed")
    assert (summary.total, summary.completed, summary.failed) == (4, 3, 1)
    hung = next(o for o in summary.outcomes if o.source == paper.url)
    assert hung.status == "failed" and hung.error == "timed out after 20 s"
    assert len(bodies) == 1 and bodies[0]["source"] == paper.url
    assert bodies[0]["error"] == "timed out after 20 s"
    assert len(receiver.received) == 4
    assert seconds >= 20, "the hanging paper was given its whole limit"

"""A bulk run spread over workers: each batch of papers is a flow run of the `bulk-chunk`
deployment, so every worker polling the `papers` pool, on any machine, takes chunks of it.

The parent run starts the chunks as subflow runs (linked in the UI), follows their states,
starts a chunk again when its run crashed (a worker killed mid-chunk: the papers it finished
are cache hits the second time), and gathers the outcomes each chunk wrote to the shared
storage (`runs/<parent run>/chunks/<chunk run>.json`), so the parent never needs to reach a
worker's local disk.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.artifacts import create_table_artifact, update_progress_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runtime import deployment, flow_run
from prefect.states import StateType

from flows.batch import BatchRunner, Outcome
from paperflow.errors import PermanentError
from paperflow.report import artifact_key
from paperflow.storage import get_storage

CHUNK_FLOW = "bulk-chunk"
CHUNK_DEPLOYMENT = f"{CHUNK_FLOW}/{CHUNK_FLOW}"
RESTARTED_STATES = {StateType.CRASHED}
"""A chunk whose run ended so (its worker died) is started again, up to `max_attempts`."""


def chunk_key(parent_run_id: str, chunk_run_id: str) -> str:
    """Where a chunk run leaves its outcomes in the configured storage."""
    return f"runs/{parent_run_id}/chunks/{chunk_run_id}.json"


def worker_identity() -> str:
    """Which worker ran this flow run (the name Prefect's worker hands its runs) and where."""
    name = os.environ.get("PREFECT__WORKER_NAME") or f"pid {os.getppid()}"
    return f"{name} on {socket.gethostname()}"


def save_chunk_outcomes(parent_run_id: str, index: int, outcomes: list[Outcome]) -> str:
    """Write a chunk's outcomes where its parent run reads them; returns the storage key."""
    run_id = str(flow_run.get_id() or f"local-{index}")
    key = chunk_key(parent_run_id, run_id)
    body = {"index": index, "flow_run_id": run_id, "worker": worker_identity(),
            "outcomes": [o.model_dump(mode="json") for o in outcomes]}
    get_storage().put(key, json.dumps(body).encode(), "application/json")
    return key


def should_distribute(distribute: bool | None) -> bool:
    """Whether a bulk or ingestion run spreads its papers over chunk runs: by default when it
    is itself a deployment run and the `bulk-chunk` deployment exists; asked for explicitly,
    the deployment must exist."""
    if distribute is None:
        return deployment.get_id() is not None and chunk_deployment_id() is not None
    if distribute and chunk_deployment_id() is None:
        raise PermanentError(f"distribute=True needs the {CHUNK_FLOW!r} deployment on the server "
                             "(`paperflow up` or `prefect deploy --all` creates it).")
    return distribute


def chunk_deployment_id() -> UUID | None:
    """The `bulk-chunk` deployment's id on the current server, or None where there is none."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(CHUNK_DEPLOYMENT).id
        except Exception:  # no server-side deployment (embedded run, tests): run in-process
            return None


@dataclass
class Chunk:
    """One batch of the bulk run and the flow runs it took."""

    index: int
    sources: list[str]
    attempts: int = 0
    run_id: UUID | None = None
    state: str = "not started"
    worker: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    done: bool = False


@dataclass
class ChunkedBulk:
    """Starts the chunks as deployment runs, follows them to the end, gathers the outcomes."""

    runner: BatchRunner
    parameters: dict[str, Any]
    """Passed to every chunk run besides its own sources (options, webhook, time limits)."""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per source, the `PaperOverrides` (as JSON) its chunk run passes on (arXiv's metadata)."""
    on_outcome: Callable[[Outcome], None] | None = None
    """Called in this run for each paper's outcome as its chunk's outcomes come in."""
    max_attempts: int = 3
    poll_seconds: float = 2.0
    chunks: list[Chunk] = field(default_factory=list)

    def run(self, sources: list[str], chunk_size: int) -> list[Outcome]:
        logger = get_run_logger()
        self.chunks = [Chunk(i, sources[start:start + chunk_size])
                       for i, start in enumerate(range(0, len(sources), chunk_size))]
        logger.info("Spreading %d papers over %d chunk runs of the %r deployment",
                    len(sources), len(self.chunks), CHUNK_DEPLOYMENT)
        for chunk in self.chunks:
            self._start(chunk)
        while not all(chunk.done for chunk in self.chunks):
            time.sleep(self.poll_seconds)
            with get_client(sync_client=True) as client:
                for chunk in self.chunks:
                    if not chunk.done:
                        self._follow(chunk, client.read_flow_run(chunk.run_id))
        self._table()
        return self.runner.outcomes

    def _start(self, chunk: Chunk) -> None:
        chunk.attempts += 1
        parent = str(flow_run.get_id())
        parameters = {**self.parameters, "sources": chunk.sources, "parent_run_id": parent,
                      "index": chunk.index}
        overrides = {s: self.overrides[s] for s in chunk.sources if s in self.overrides}
        if overrides:
            parameters["overrides"] = overrides
        run: FlowRun = run_deployment(
            CHUNK_DEPLOYMENT, timeout=0, as_subflow=True, tags=["bulk-chunk"],
            parameters=parameters)
        chunk.run_id, chunk.state = run.id, "Scheduled"

    def _follow(self, chunk: Chunk, run: FlowRun) -> None:
        state = run.state
        if state is None or not state.is_final():
            chunk.state = state.name if state else "unknown"
            return
        chunk.state = state.name
        logger = get_run_logger()
        if state.type in RESTARTED_STATES and chunk.attempts < self.max_attempts:
            logger.warning("Chunk %d (run %s) ended %s: %s; starting it again (attempt %d of "
                           "%d)", chunk.index, run.id, state.name, state.message,
                           chunk.attempts + 1, self.max_attempts)
            self._start(chunk)
            return
        chunk.done = True
        outcomes, worker = self._read(chunk, run)
        if outcomes is None:
            reason = (f"chunk run {run.id} ended {state.name}"
                      + (f": {state.message}" if state.message else "")
                      + f" after {chunk.attempts} attempt(s)")
            outcomes = [Outcome(source=s, status="failed", error=reason[:500])
                        for s in chunk.sources]
        chunk.worker, chunk.outcomes = worker, outcomes
        self._record(outcomes)

    def _read(self, chunk: Chunk, run: FlowRun) -> tuple[list[Outcome] | None, str | None]:
        """The outcomes the chunk run stored, if it got that far."""
        key = chunk_key(str(flow_run.get_id()), str(run.id))
        storage = get_storage()
        if not storage.exists(key):
            return None, None
        body = json.loads(storage.get(key))
        return [Outcome.model_validate(o) for o in body["outcomes"]], body.get("worker")

    def _record(self, outcomes: list[Outcome]) -> None:
        runner = self.runner
        seen = {o.source for o in runner.outcomes}
        new = [o for o in outcomes if o.source not in seen]
        runner.outcomes.extend(new)
        for outcome in new if self.on_outcome else []:
            self.on_outcome(outcome)  # type: ignore[misc]
        done = len(runner.outcomes)
        update_progress_artifact(runner.progress_id, round(100 * done / runner.total, 1),
                                 description=f"{runner.title}: {done} of {runner.total} papers "
                                             f"({runner.failed} failed)")
        get_run_logger().info("[%d/%d] papers done (%d failed)", done, runner.total,
                              runner.failed)

    def _table(self) -> None:
        rows = [{"chunk": c.index, "papers": len(c.sources), "run": str(c.run_id),
                 "state": c.state, "attempts": c.attempts, "worker": c.worker or "",
                 "failed": sum(1 for o in c.outcomes if o.status == "failed")}
                for c in self.chunks]
        create_table_artifact(rows, key=artifact_key(self.runner.title, "chunks"),
                              description="Chunk runs of this bulk run: where each ran")


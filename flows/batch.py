"""Many papers inside ONE flow run: threads call `process_one`, so each paper is plain tasks.

Per-paper subflows cost the API server far more (20 papers as subflows took 63 s on SQLite and
100 made it answer HTTP 503); plain tasks in one run cost a few milliseconds each.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import io
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, wait
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from prefect import get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run
from pydantic import BaseModel

from flows.process_paper import PaperOverrides, ProcessOptions, process_one
from paperflow.models import Asset
from paperflow.notify import build_payload
from paperflow.report import artifact_key
from paperflow.storage import get_storage
from tasks.notify import notify

OutcomeStatus = Literal["completed", "cached", "failed"]


class Outcome(BaseModel):
    """How one paper of a batch ended."""

    source: str
    status: OutcomeStatus
    sha256: str | None = None
    title: str | None = None
    arxiv_id: str | None = None
    pages: int | None = None
    seconds: float = 0.0
    metadata_uri: str | None = None
    error: str | None = None


class BatchSummary(BaseModel):
    """The return value of bulk and ingestion runs."""

    total: int
    completed: int
    cached: int
    failed: int
    seconds: float
    outcomes: list[Outcome]
    files: dict[str, str] = {}
    note: str = ""


@dataclass
class Job:
    """One paper to process."""

    source: str
    overrides: PaperOverrides | None = None
    tag: Any = None


class PaperTimedOut(BaseException):
    """Raised inside a paper's thread that ran past its time limit, to stop it at the next line
    of Python it runs (a blocking call finishes first). A BaseException, so `process_one` does
    not catch it and send a second failed webhook: the runner has sent one already."""


def _stop_thread(thread: threading.Thread) -> None:
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(PaperTimedOut))


@dataclass
class _Running:
    job: Job
    future: Future[Outcome]
    thread: threading.Thread
    started: float


@dataclass
class BatchRunner:
    """Runs jobs in batches on a bounded thread pool and reports progress as papers finish."""

    title: str
    total: int
    concurrency: int = 4
    options: ProcessOptions = field(default_factory=ProcessOptions)
    webhook_url: str | None = None
    paper_timeout: float | None = None
    """Seconds one paper may take (None: no limit; the flows pass `paper_timeout_seconds`)."""
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = time.perf_counter()
        self.progress_id = create_progress_artifact(
            0.0, key=artifact_key(self.title, "progress"),
            description=f"{self.title}: 0 of {self.total} papers")

    def run(self, jobs: Iterable[Job], batch_size: int,
            on_done: Callable[[Job, Outcome], None] | None = None,
            after_batch: Callable[[list[Outcome]], None] | None = None) -> list[Outcome]:
        """Process every job; one failure, or one paper that hangs, never stops the others.

        A paper still running `paper_timeout` seconds after it started is a failed outcome
        ("timed out after N s"): its thread is told to stop and left behind (a daemon thread,
        so it cannot keep the run's process alive) and its slot goes to the next paper.
        """
        logger = get_run_logger()
        pending = list(jobs)
        size = max(1, batch_size)
        for start in range(0, len(pending), size):
            queue = deque(pending[start:start + size])
            running: list[_Running] = []
            while queue or running:
                while queue and len(running) < max(1, self.concurrency):
                    running.append(self._start(queue.popleft()))
                wait([r.future for r in running], timeout=self._wait_seconds(running),
                     return_when=FIRST_COMPLETED)
                for item in list(running):
                    outcome = self._finished(item)
                    if outcome is None:
                        continue
                    running.remove(item)
                    self.outcomes.append(outcome)
                    done = len(self.outcomes)
                    update_progress_artifact(self.progress_id, round(100 * done / self.total, 1),
                                             description=f"{self.title}: {done} of {self.total} "
                                                         f"papers ({self.failed} failed)")
                    logger.info("[%d/%d] %s: %s%s", done, self.total, item.job.source,
                                outcome.status, f" ({outcome.error})" if outcome.error else "")
                    if on_done:
                        on_done(item.job, outcome)
            if after_batch:
                after_batch(self.outcomes)
        return self.outcomes

    def _start(self, job: Job) -> _Running:
        future: Future[Outcome] = Future()
        # Each thread needs its own copy of the flow run's context to submit tasks.
        context = contextvars.copy_context()

        def work() -> None:
            try:
                outcome = context.run(self._one, job)
            except PaperTimedOut:
                return  # the runner has already recorded the paper as timed out
            except BaseException as exc:  # a crash inside one paper stays with that paper
                outcome = Outcome(source=job.source, status="failed",
                                  error=f"{type(exc).__name__}: {exc}"[:500])
            with contextlib.suppress(InvalidStateError):
                future.set_result(outcome)

        thread = threading.Thread(target=work, name=f"paper-{len(self.outcomes)}", daemon=True)
        item = _Running(job, future, thread, time.monotonic())
        thread.start()
        return item

    def _wait_seconds(self, running: list[_Running]) -> float | None:
        if self.paper_timeout is None:
            return None
        first = min(r.started for r in running) + self.paper_timeout
        return max(0.0, first - time.monotonic())

    def _finished(self, item: _Running) -> Outcome | None:
        """The paper's outcome once it finished or ran out of time, else None."""
        if not item.future.done():
            limit = self.paper_timeout
            if limit is None or time.monotonic() - item.started < limit:
                return None
            timed_out = Outcome(source=item.job.source, status="failed",
                                seconds=round(time.monotonic() - item.started, 3),
                                error=f"timed out after {limit:g} s")
            try:
                item.future.set_result(timed_out)
            except InvalidStateError:
                pass  # it finished at the last moment: its own outcome stands
            else:
                _stop_thread(item.thread)
                self._report_timeout(item.job, timed_out)
        return item.future.result()

    def _report_timeout(self, job: Job, outcome: Outcome) -> None:
        """The failed webhook of a paper that timed out (its own thread never reached one)."""
        if self.webhook_url:
            notify(self.webhook_url, build_payload(
                "failed", source=job.source, error=outcome.error,
                duration_seconds=outcome.seconds, flow_run_id=str(flow_run.get_id() or "") or None))

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "failed")

    def _one(self, job: Job) -> Outcome:
        start = time.perf_counter()
        try:
            result = process_one(job.source, self.options, self.webhook_url,
                                 overrides=job.overrides, artifacts=False)
        except Exception as exc:
            return Outcome(source=job.source, status="failed",
                           seconds=round(time.perf_counter() - start, 3),
                           error=f"{type(exc).__name__}: {exc}"[:500])
        cached = bool(result.timings) and all(t.cached for t in result.timings)
        metadata: Asset | None = result.assets.get("metadata")
        return Outcome(source=job.source, status="cached" if cached else "completed",
                       sha256=result.sha256, title=result.title, arxiv_id=result.arxiv_id,
                       pages=result.page_count, seconds=round(time.perf_counter() - start, 3),
                       metadata_uri=(metadata.url or metadata.uri) if metadata else None)

    def summarize(self, note: str = "") -> BatchSummary:
        """Counts, the outcomes table and failures artifacts, and the summary files in storage."""
        outcomes = sorted(self.outcomes, key=lambda o: o.source)
        counts = {s: sum(1 for o in outcomes if o.status == s)
                  for s in ("completed", "cached", "failed")}
        files = write_summary(outcomes)
        rows = [o.model_dump(include={"source", "status", "title", "pages", "seconds", "error",
                                      "metadata_uri"}) for o in outcomes]
        create_table_artifact(rows or [{"source": "(no papers)"}],
                              key=artifact_key(self.title, "outcomes"),
                              description=f"{self.title}: {counts['completed']} processed, "
                                          f"{counts['cached']} already done, "
                                          f"{counts['failed']} failed")
        failures = [o for o in outcomes if o.status == "failed"]
        if failures:
            lines = [f"# {len(failures)} of {len(outcomes)} papers failed", ""]
            lines += [f"- `{o.source}`: {o.error}" for o in failures]
            create_markdown_artifact("\n".join(lines), key=artifact_key(self.title, "failures"),
                                     description="Failed papers and why")
        return BatchSummary(total=len(outcomes), seconds=round(time.perf_counter() -
                                                               self.started, 2),
                            outcomes=outcomes, files=files, note=note, **counts)


def write_summary(outcomes: list[Outcome]) -> dict[str, str]:
    """The outcomes as Parquet and CSV under `runs/<flow_run_id>/` in the configured storage."""
    run_id = flow_run.get_id() or "local"
    frame = pd.DataFrame([o.model_dump() for o in outcomes],
                         columns=list(Outcome.model_fields))
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    storage = get_storage()
    stored = {
        "parquet": storage.put(f"runs/{run_id}/summary.parquet", parquet.getvalue(),
                               "application/vnd.apache.parquet"),
        "csv": storage.put(f"runs/{run_id}/summary.csv", frame.to_csv(index=False).encode(),
                           "text/csv; charset=utf-8"),
    }
    return {name: asset.url or asset.uri for name, asset in stored.items()}

"""The scheduled flow: new arXiv papers for some categories and/or a query, each processed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.batch import BatchRunner, BatchSummary, Job, Outcome
from flows.chunks import ChunkedBulk, should_distribute
from flows.process_paper import PaperOverrides, ProcessOptions
from paperflow import __version__
from paperflow.arxiv import (
    ArxivEntry,
    ArxivParameterError,
    IngestState,
    build_search_query,
    parse_since,
)
from paperflow.errors import PermanentError
from paperflow.settings import get_settings
from paperflow.storage import get_storage
from tasks.arxiv import search_arxiv
from tasks.results import flow_result_options

LAST_SUCCESS = "last-success"


class NothingIngested(PermanentError):
    """Every new paper of an ingestion run failed."""


def _since(value: str | None, state: IngestState, margin_hours: float) -> datetime | None:
    if value is None or value.strip().lower() == LAST_SUCCESS:
        last = parse_since(state.last_success)
        return last - timedelta(hours=margin_hours) if last else None
    if value.strip().lower() == "all":
        return None
    return parse_since(value)


@flow(name="arxiv-ingest", version=__version__, persist_result=True,
      **flow_result_options(),
      task_runner=ThreadPoolTaskRunner(max_workers=16))
def ingest_arxiv(categories: list[str] | None = None, query: str | None = None,
                 max_results: int = 100, since: str | None = LAST_SUCCESS,
                 concurrency: int | None = None, options: ProcessOptions | None = None,
                 webhook_url: str | None = None,
                 paper_timeout_seconds: float | None = None, batch_size: int = 10,
                 distribute: bool | None = None) -> BatchSummary:
    """Find papers not ingested yet (newest first), process them, remember them; a paper
    taking longer than `paper_timeout_seconds` (default `PAPERFLOW_PAPER_TIMEOUT_SECONDS`) is
    a failed outcome, "timed out after N s". `distribute` (default: when this run is a
    deployment run and the `bulk-chunk` deployment exists) processes each batch of `batch_size`
    new papers as a `bulk-chunk` flow run on any worker of the pool, like a bulk run."""
    logger = get_run_logger()
    settings = get_settings()
    search_query = build_search_query(categories, query)
    if max_results < 1:
        raise ArxivParameterError(f"max_results must be at least 1, not {max_results}.")
    if batch_size < 1:
        raise ArxivParameterError(f"batch_size must be at least 1, not {batch_size}.")
    storage = get_storage()
    state = IngestState.load(storage, search_query)
    cutoff = _since(since, state, settings.arxiv_since_margin_hours)
    started = datetime.now(UTC)
    search = search_arxiv.with_options(
        retry_delay_seconds=max(1.0, settings.arxiv_request_delay_seconds * 10))
    scan = search(search_query, max_results, state.seen_ids(), cutoff)
    logger.info("arXiv %r: %d results, %d examined in %d page(s), %d new; stopped: %s",
                search_query, scan.total_results, scan.examined, scan.pages, len(scan.new),
                scan.stopped)
    runner = BatchRunner("arxiv", len(scan.new), concurrency or settings.bulk_concurrency,
                         options or ProcessOptions(), webhook_url,
                         paper_timeout_seconds or settings.paper_timeout_seconds)

    jobs = [Job(entry.versioned_id, PaperOverrides(fields=entry.overrides()), entry)
            for entry in scan.new]
    entries: dict[str, ArxivEntry] = {job.source: job.tag for job in jobs}

    def remember(outcome: Outcome) -> None:
        if outcome.status != "failed" and outcome.source in entries:
            state.mark(entries[outcome.source])
            state.save(storage)

    if jobs and should_distribute(distribute):
        options_json = (options or ProcessOptions()).model_dump(mode="json")
        ChunkedBulk(runner, {"options": options_json, "webhook_url": webhook_url,
                             "concurrency": runner.concurrency,
                             "paper_timeout_seconds": runner.paper_timeout},
                    overrides={job.source: job.overrides.model_dump(mode="json")
                               for job in jobs if job.overrides},
                    on_outcome=remember).run([job.source for job in jobs], batch_size)
    else:
        runner.run(jobs, batch_size=max(1, len(jobs)),
                   on_done=lambda _job, outcome: remember(outcome))
    summary = runner.summarize(note=f"query {search_query!r}; {scan.stopped}")
    if summary.failed == 0:
        # Only a clean run moves the cursor: failed papers are retried by the next run.
        state.last_success = started.isoformat()
        state.save(storage)
    logger.info("Ingested %d new papers (%d already processed content, %d failed)",
                summary.completed + summary.cached, summary.cached, summary.failed)
    if summary.total and summary.failed == summary.total:
        raise NothingIngested(f"All {summary.total} new papers failed; see the "
                              "'arxiv-failures' artifact for each reason.")
    return summary

"""Fetching a paper: retried when the network hiccups, never when the source is wrong."""

from __future__ import annotations

from prefect import task
from prefect.tasks import exponential_backoff

from paperflow.sources import ResolvedSource, resolve_source
from tasks.policy import retry_unless_permanent


# No `timeout_seconds` here: this task runs inline in the flow's own thread, and a task time
# limit there (a nested cancel scope) would catch the flow's time-limit signal as its own timeout
# and retry it. The flow's limit (process-paper) or the paper's limit (bulk/ingest runs) bounds it.
@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2),
      retry_jitter_factor=0.5, retry_condition_fn=retry_unless_permanent,
      task_run_name="fetch {source}", persist_result=False)  # the PDF's bytes: kept in memory
def fetch_source(source: str) -> ResolvedSource:
    """The PDF bytes a source names, checked to be a PDF."""
    return resolve_source(source)

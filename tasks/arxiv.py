"""arXiv search as a task: the client retries politely, the task retries what is left."""

from __future__ import annotations

from datetime import datetime

from prefect import task

from paperflow.arxiv import ArxivClient, Scan, scan_new
from paperflow.settings import get_settings
from tasks.policy import retry_unless_permanent


@task(retries=2, retry_delay_seconds=30, retry_condition_fn=retry_unless_permanent,
      timeout_seconds=get_settings().arxiv_search_timeout_seconds,
      task_run_name="search arXiv: {search_query}", persist_result=False)
def search_arxiv(search_query: str, max_results: int, seen: set[str],
                 since: datetime | None) -> Scan:
    """New (id, version) pairs for a query, newest first, stopping at already-known results."""
    settings = get_settings()
    with ArxivClient(settings) as client:
        return scan_new(client, search_query, max_results=max_results, seen=seen, since=since,
                        page_size=settings.arxiv_page_size)

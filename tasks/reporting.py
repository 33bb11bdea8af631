"""Artifacts that tell a person what a run extracted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from paperflow.models import PaperMetadataExtraction
from paperflow.report import (
    artifact_key,
    markdown_report,
    references_table,
    similar_papers_section,
)


# No `timeout_seconds` here: this task runs inline in the flow's own thread, and a task time
# limit there (a nested cancel scope) would catch the flow's time-limit signal as its own timeout
# and retry it. The flow's limit (process-paper) or the paper's limit (bulk/ingest runs) bounds it.
@task
def publish_artifacts(result: PaperMetadataExtraction,
                      similar: list[Any] | None = None) -> list[str]:
    """A markdown report (with the stored papers most like this one), a references table and
    a link to the stored metadata."""
    stem = (result.arxiv_id or "") + "-" + result.sha256[:12]
    keys = [artifact_key("paper", stem), artifact_key("references", stem)]
    report = markdown_report(result)
    if similar is not None:
        report = f"{report.rstrip()}\n\n{similar_papers_section(similar)}"
    create_markdown_artifact(report, key=keys[0],
                             description=f"Extraction report: {result.title or result.sha256}")
    create_table_artifact(references_table(result) or [{"n": "", "title": "(no references found)"}],
                          key=keys[1], description=f"{len(result.references)} references")
    metadata = result.assets.get("metadata")
    if metadata:
        keys.append(artifact_key("metadata", stem))
        create_link_artifact(metadata.url or metadata.uri, link_text="metadata.json",
                             key=keys[2], description="The stored extraction result")
    return keys


class ProgressReporter:
    """A progress artifact, updated as steps finish: at most once per `interval` seconds and
    always at the last step, since each update is a request to the server on the flow's own
    thread (ten in a row were over a second of a warm one-paper call)."""

    def __init__(self, total: int, description: str, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.interval = interval
        self._clock = clock
        self.artifact_id: UUID = create_progress_artifact(0.0, description=description)
        self._updated_at = clock()

    def step(self) -> float:
        """Count one finished step; its percentage."""
        self.done += 1
        percent = round(100.0 * self.done / self.total, 1)
        now = self._clock()
        if self.done >= self.total or now - self._updated_at >= self.interval:
            update_progress_artifact(self.artifact_id, percent)
            self._updated_at = now
        return percent


RUN_NAME_TITLE_CHARS = 80


def paper_run_name(title: str | None, fallback: str) -> str:
    """`paper: <title>` (shortened), or `paper: <fallback>` while no title is known."""
    text = " ".join((title or "").split())
    if len(text) > RUN_NAME_TITLE_CHARS:
        text = text[:RUN_NAME_TITLE_CHARS - 1].rstrip() + "…"
    return f"paper: {text or fallback[-60:]}"


def paper_run_tags(source_kind: str, categories: list[str]) -> list[str]:
    """Tags to find runs by in the UI: `source:<kind>` and `arxiv:<category>` (up to three)."""
    return [f"source:{source_kind}", *(f"arxiv:{c}" for c in categories[:3] if c)]


def name_run_after_paper(result: PaperMetadataExtraction, source_kind: str,
                         flow_run_id: UUID | str | None = None) -> None:
    """Rename the current flow run after the paper's title and add its source-kind and arXiv
    category tags (kept with the run's own tags). For single-paper runs only: a bulk run holds
    many papers. Best effort: the paper does not fail because the run kept its first name."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run_id or flow_run.get_id()
    if not run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(str(run_id)))
            tags = list(dict.fromkeys([*run.tags, *paper_run_tags(source_kind,
                                                                  result.categories)]))
            client.update_flow_run(run.id, name=paper_run_name(result.title, result.source or
                                                               run.name), tags=tags)
    except Exception as exc:  # naming is cosmetic
        try:
            logger: Any = get_run_logger()
        except Exception:  # called outside a run (with `flow_run_id`)
            logger = logging.getLogger(__name__)
        logger.warning("Could not rename the flow run after the paper: %s", exc)

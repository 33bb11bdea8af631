"""Artifacts that tell a person what a run extracted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import task
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
    """A progress artifact plus a log line per finished step."""

    def __init__(self, total: int, description: str) -> None:
        self.total = total
        self.done = 0
        self.artifact_id: UUID = create_progress_artifact(0.0, description=description)

    def step(self) -> float:
        self.done += 1
        percent = round(100.0 * self.done / self.total, 1)
        update_progress_artifact(self.artifact_id, percent)
        return percent

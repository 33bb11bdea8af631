"""The scheduled clean-up: expired task results and run summaries, and (opt-in) unused papers.

The work is `paperflow.retention` (also behind `paperflow gc`); this flow plans it, deletes it
(unless `dry_run`), and leaves a table of what went and a summary as artifacts.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import BaseModel

from paperflow import __version__, retention
from paperflow.report import artifact_key
from paperflow.settings import get_settings


class CleanupSummary(BaseModel):
    """What a clean-up run removed (or, in a dry run, would have)."""

    dry_run: bool
    results: int
    runs: int
    papers: int
    bytes: int
    errors: list[str] = []
    cutoffs: dict[str, str] = {}


@flow(name="cleanup", version=__version__)
def cleanup(days: float | None = None, papers: float | None = None,
            dry_run: bool = False) -> CleanupSummary:
    """Delete task results and `runs/` summaries older than `days` (default: the settings'
    `PAPERFLOW_RESULTS_RETENTION_DAYS` / `PAPERFLOW_RUNS_RETENTION_DAYS`), and, only when
    `papers` is given, papers not requested for that many days (`metadata.json` first)."""
    logger = get_run_logger()
    settings = get_settings()
    plan = retention.configured_plan(
        results_days=days if days is not None else settings.results_retention_days,
        runs_days=days if days is not None else settings.runs_retention_days,
        papers_days=papers, settings=settings)
    for line in retention.describe(plan, dry_run):
        logger.info(line)
    outcome = None if dry_run else retention.apply(plan)
    done = plan.items if outcome is None else outcome.deleted
    summary = CleanupSummary(
        dry_run=dry_run, bytes=sum(i.size for i in done),
        errors=outcome.errors if outcome else [], cutoffs=plan.cutoffs,
        **{area: sum(1 for i in done if i.area == area) for area in ("results", "runs",
                                                                     "papers")})
    rows = [row for row in plan.rows() if outcome is None
            or row["uri"] in {i.uri for i in outcome.deleted}]
    create_table_artifact(rows or [{"area": "(nothing expired)"}],
                          key=artifact_key("cleanup", "items"),
                          description=("would delete" if dry_run else "deleted") +
                          f": {len(rows)} item(s), {retention.human_size(summary.bytes)}")
    lines = [f"# Clean-up{' (dry run)' if dry_run else ''}", "",
             f"- results: {summary.results}", f"- runs: {summary.runs}",
             f"- papers: {summary.papers}" + ("" if papers is not None else " (not asked for)"),
             f"- {retention.human_size(summary.bytes)} ({summary.bytes} bytes)",
             *[f"- cutoff {area}: {when}" for area, when in plan.cutoffs.items()]]
    lines += [f"- error: {error}" for error in summary.errors]
    create_markdown_artifact("\n".join(lines), key=artifact_key("cleanup", "summary"),
                             description="What the clean-up removed")
    logger.info("Clean-up %s: %d results, %d runs, %d papers, %s; %d error(s)",
                "dry run" if dry_run else "done", summary.results, summary.runs,
                summary.papers, retention.human_size(summary.bytes), len(summary.errors))
    if summary.errors and not done:
        raise RuntimeError(f"Clean-up deleted nothing; {len(summary.errors)} error(s), first: "
                           f"{summary.errors[0]}")
    return summary

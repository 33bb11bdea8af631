"""The on-demand flow: one paper in, one `PaperMetadataExtraction` out."""

from __future__ import annotations

import re
import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote
from pydantic import BaseModel

from flows import hooks
from paperflow import __version__
from paperflow.embeddings import paper_metadata
from paperflow.models import PaperMetadataExtraction, Provenance, TaskTiming
from paperflow.notify import build_payload, check_webhook_url
from paperflow.pdf import pages_needing_ocr
from paperflow.pipeline import PaperKey, assemble
from paperflow.settings import Settings, get_settings
from paperflow.sources import resolve_source
from tasks.embed import embed_paper
from tasks.extraction import (
    TEXT_GROUPS,
    analyse_layout,
    figures,
    ocr_pages,
    parse_pdf,
    preview,
)
from tasks.llm import enrich, llm_configured
from tasks.notify import notify
from tasks.policy import Timed, configured, from_settings
from tasks.reporting import ProgressReporter, name_run_after_paper, publish_artifacts
from tasks.results import flow_result_options
from tasks.sources import fetch_source
from tasks.storage import mark_paper_requested, store_metadata, store_original, store_text


class ProcessOptions(BaseModel):
    """Per-run switches."""

    figures: bool = True
    preview: bool = True
    refresh_cache: bool = False
    """Recompute every cached step for this paper (for example after fixing a heuristic)."""


class PaperOverrides(BaseModel):
    """Field values known better than extraction can find them (e.g. arXiv's own metadata)."""

    fields: dict[str, Any]
    provenance: Provenance = "arxiv"

    def apply(self, result: PaperMetadataExtraction) -> PaperMetadataExtraction:
        """A copy of `result` with the non-empty override values and their provenance."""
        update = {k: v for k, v in self.fields.items() if v not in (None, "", [], {})}
        merged = result.model_dump()
        merged.update(update)
        merged["provenance"] = {**result.provenance, **dict.fromkeys(update, self.provenance)}
        return PaperMetadataExtraction.model_validate(merged)


def _run_name() -> str:
    source = flow_run.parameters.get("source")
    label = source if isinstance(source, str) else "<bytes>"
    return f"paper: {label[-60:]}"


def _flow_limits(settings: Settings) -> dict[str, Any]:
    """The flow's time limit and retries as the settings give them."""
    return {"timeout_seconds": settings.flow_timeout_seconds, **hooks.flow_retries(settings)}


@from_settings(_flow_limits)
@flow(name="process-paper", version=__version__, flow_run_name=_run_name,
      task_runner=ThreadPoolTaskRunner(max_workers=10), persist_result=True,
      **flow_result_options(), **_flow_limits(get_settings()),
      on_failure=[hooks.report_failure], on_crashed=[hooks.report_failure],
      on_cancellation=[hooks.report_failure])
@hooks.permanent_errors_not_retried
def process_paper(source: str | bytes, options: ProcessOptions | None = None,
                  webhook_url: str | None = None) -> PaperMetadataExtraction:
    """Resolve a paper, extract every field concurrently, store the assets, report, notify."""
    return process_one(source, options, webhook_url)


def process_one(source: str | bytes, options: ProcessOptions | None = None,
                webhook_url: str | None = None, *, overrides: PaperOverrides | None = None,
                artifacts: bool = True) -> PaperMetadataExtraction:
    """One paper's tasks, submitted to the current flow run; a webhook reports the outcome.

    Bulk and ingestion runs call this from threads of ONE flow run (per-paper subflows cost
    far more on the API server than plain tasks do).
    """
    settings = get_settings()
    if webhook_url:
        check_webhook_url(webhook_url, settings.allow_private_webhooks)
    start = time.perf_counter()
    label = source if isinstance(source, str) else "<bytes>"
    try:
        result = _extract(source, options or ProcessOptions(), overrides, artifacts)
    except Exception as exc:
        if webhook_url:
            notify(webhook_url, build_payload(
                "failed", source=label, error=f"{type(exc).__name__}: {exc}",
                duration_seconds=time.perf_counter() - start, flow_run_id=_flow_run_id()))
        raise
    if webhook_url:
        notify(webhook_url, build_payload(
            "completed", source=label, result=result,
            duration_seconds=time.perf_counter() - start, flow_run_id=_flow_run_id()))
    return result


def _flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def _extract(source: str | bytes, options: ProcessOptions, overrides: PaperOverrides | None,
             artifacts: bool) -> PaperMetadataExtraction:
    logger = get_run_logger()
    resolved = fetch_source(source) if isinstance(source, str) else resolve_source(source)
    data = resolved.data
    key = PaperKey.of(data)
    logger.info("Fetched %s (%s): %d bytes, sha256 %s", resolved.source, resolved.kind,
                key.size, key.sha256)

    def cached(task: Any) -> Any:
        task = configured(task)
        return task.with_options(refresh_cache=True) if options.refresh_cache else task

    layout = cached(parse_pdf).submit(key, data)
    preview_run = cached(preview).submit(key, data) if options.preview else None
    parsed: Timed = layout.result()
    ocr_run = analysed_run = None
    analysed = parsed
    if pages_needing_ocr(parsed.value):  # a scan: its own cached, time-limited step
        ocr_run = cached(ocr_pages).submit(key, data, quote(parsed.value))
        parsed = ocr_run.result()
    if parsed.value.front is None:
        # A scan's OCR'd words, or a parse record cached before parsing also analysed.
        analysed_run = cached(analyse_layout).submit(key, quote(parsed.value))
        analysed = analysed_run.result()
    doc = analysed.value
    logger.info("Parsed %d pages (%d with text)", doc.page_count,
                sum(1 for p in doc.pages if p.has_text))

    original = configured(store_original).submit(key, data)
    # The document is wrapped in `quote` so Prefect does not walk its every span and line.
    text = configured(store_text).submit(key, quote(doc))
    named: dict[str, PrefectFuture[Any]] = {
        task.name: cached(task).submit(key, quote(doc)) for task in TEXT_GROUPS
    }
    if options.figures:
        named["figures"] = cached(figures).submit(key, data, quote(doc))
    if preview_run is not None:
        named["preview"] = preview_run
    futures = {future.task_run_id: name for name, future in named.items()}

    progress = ProgressReporter(len(named) + 2, f"Extracting {resolved.name}") \
        if artifacts else None
    for future in as_completed([*named.values(), original, text]):
        if progress is not None:
            percent = progress.step()
            logger.info("%5.1f%% done: %s finished", percent,
                        futures.get(future.task_run_id, "storage"))

    timings = [_timing("parse_pdf", layout, layout.result()),
               *([_timing("ocr_pages", ocr_run, parsed)] if ocr_run is not None else []),
               *([_timing("analyse_layout", analysed_run, analysed)]
                 if analysed_run is not None else [])]
    values: dict[str, Any] = {}
    groups = []
    for name, future in named.items():
        outcome: Timed = future.result()
        timings.append(_timing(name, future, outcome))
        if name in ("figures", "preview"):
            values[name] = outcome.value
        else:
            groups.append(outcome.value)
    llm_report = None
    if llm_configured():
        logger.info("LLM enrichment of the six groups")
        groups, llm_report = enrich(key, doc, groups, values.pop("figures", None),
                                    refresh_cache=options.refresh_cache)
        timings.append(TaskTiming(task="llm", seconds=llm_report.seconds,
                                  cached=bool(llm_report.calls)
                                  and all(c.cached for c in llm_report.calls)))
    result = assemble(key, doc, groups, source=resolved.source, extra=values, timings=timings)
    result.llm = llm_report
    if resolved.arxiv_id and not result.arxiv_id:
        result.arxiv_id = re.sub(r"v\d+$", "", resolved.arxiv_id)
    if overrides is not None:
        result = overrides.apply(result)
    if artifacts:  # single-paper runs only; a bulk or ingestion run holds many papers
        name_run_after_paper(result, resolved.kind)
    similar_run = cached(embed_paper).submit(
        result.sha256, result.title, result.abstract, [page.text for page in doc.pages],
        paper_metadata(result.model_dump(mode="json")))
    result.assets = {"original": original.result(), "text": text.result()}
    if result.preview and result.preview.asset:
        result.assets["preview"] = result.preview.asset
    result.assets["metadata"] = store_metadata(result)
    # Every request, cache hits included, so `paperflow gc --papers-days` keeps papers in use.
    marked = mark_paper_requested.submit(result.sha256)
    similar = similar_run.result(raise_on_failure=False)
    if isinstance(similar, BaseException):
        # Finding similar papers is a convenience: the paper is complete without it.
        logger.warning("Similar papers not computed: %s", similar)
        similar = []
    if artifacts:
        publish_artifacts(result, similar)
    marker = marked.result(raise_on_failure=False)
    if isinstance(marker, BaseException):  # the task warns of its own write failures
        logger.warning("Requested marker of %s not written: %s", result.sha256, marker)
    logger.info("Done: %r, %d authors, %d references, %d figures", result.title,
                len(result.authors), len(result.references), len(result.figures))
    return result


def _timing(name: str, future: PrefectFuture[Any], outcome: Timed) -> TaskTiming:
    cached = future.state.name == "Cached"
    return TaskTiming(task=name, seconds=round(outcome.seconds, 4),
                      started_at=outcome.started_at, cached=cached)


if __name__ == "__main__":
    import sys

    print(process_paper(sys.argv[1]).model_dump_json(indent=2))

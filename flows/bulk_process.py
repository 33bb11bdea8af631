"""The bulk flow: a list of sources, a folder or an S3 prefix, in batches.

Run as a deployment (the server has the `bulk-chunk` deployment), each batch is a flow run of
its own that any worker of the `papers` pool takes (`flows/chunks.py`); called in-process (the
embedded default, a notebook, `distribute=False`) the batches run in this one flow run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.batch import BatchRunner, BatchSummary, Job
from flows.chunks import CHUNK_FLOW, ChunkedBulk, save_chunk_outcomes, should_distribute
from flows.hooks import flow_retries, permanent_errors_not_retried
from flows.process_paper import PaperOverrides, ProcessOptions
from paperflow import __version__
from paperflow.errors import InvalidSourceError, PermanentError
from paperflow.settings import get_settings
from tasks.policy import from_settings
from tasks.results import flow_result_options


class NothingProcessed(PermanentError):
    """Every paper of a bulk run failed."""


def folder_sources(folder: str) -> list[str]:
    """Every `*.pdf` under a folder, sorted."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InvalidSourceError(f"folder={folder!r} is not a folder.")
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")


def s3_sources(prefix: str) -> list[str]:
    """Every `.pdf` object under an `s3://bucket/prefix`, listed through paperflow's S3 layer."""
    if not prefix.startswith("s3://"):
        raise InvalidSourceError(f"s3_prefix={prefix!r} must look like s3://bucket/prefix/.")
    try:
        from paperflow.storage import s3
    except ImportError as exc:
        raise InvalidSourceError(
            "s3_prefix needs paperflow's S3 store (paperflow/storage/s3.py), which this install "
            "lacks; pass the objects as `sources` (s3:// URIs) or sync them to a folder.") from exc
    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    client = s3.s3_client(get_settings())
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                 Prefix=key_prefix):
        found += [f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", [])
                  if item["Key"].lower().endswith(".pdf")]
    return sorted(found)


@from_settings(flow_retries)
@flow(name="bulk-process", version=__version__, persist_result=True,
      **flow_result_options(),
      task_runner=ThreadPoolTaskRunner(max_workers=16), **flow_retries(get_settings()))
@permanent_errors_not_retried
def bulk_process(sources: list[str] | None = None, folder: str | None = None,
                 s3_prefix: str | None = None, batch_size: int = 10,
                 concurrency: int | None = None, options: ProcessOptions | None = None,
                 webhook_url: str | None = None,
                 paper_timeout_seconds: float | None = None,
                 distribute: bool | None = None) -> BatchSummary:
    """Process many papers; failures are listed, and only all-failed fails the run.

    A paper taking longer than `paper_timeout_seconds` (default `PAPERFLOW_PAPER_TIMEOUT_SECONDS`)
    is a failed outcome, "timed out after N s"; the others go on. `distribute` (default: when
    this run is a deployment run and the `bulk-chunk` deployment exists) runs each batch of
    `batch_size` papers as a `bulk-chunk` flow run on any worker of the pool.
    """
    logger = get_run_logger()
    if batch_size < 1:
        raise PermanentError(f"batch_size must be at least 1, not {batch_size}.")
    found = list(sources or [])
    if folder:
        found += folder_sources(folder)
    if s3_prefix:
        found += s3_sources(s3_prefix)
    found = list(dict.fromkeys(s.strip() for s in found if s and s.strip()))
    if not found:
        raise PermanentError("Nothing to process: give `sources`, a `folder` holding PDFs, or "
                             "an `s3_prefix`.")
    workers = concurrency or get_settings().bulk_concurrency
    timeout = paper_timeout_seconds or get_settings().paper_timeout_seconds
    distribute = should_distribute(distribute)
    logger.info("Bulk run: %d papers, batches of %d, %d at a time %s", len(found), batch_size,
                workers, "in each chunk run, on any worker" if distribute else "in this run")
    runner = BatchRunner("bulk", len(found), workers, options or ProcessOptions(), webhook_url,
                         timeout)
    if distribute:
        ChunkedBulk(runner, {"options": (options or ProcessOptions()).model_dump(),
                             "webhook_url": webhook_url, "concurrency": workers,
                             "paper_timeout_seconds": timeout}).run(found, batch_size)
    else:
        runner.run((Job(s) for s in found), batch_size)
    summary = runner.summarize()
    logger.info("Bulk run done in %.1f s: %d processed, %d already done, %d failed; summary %s",
                summary.seconds, summary.completed, summary.cached, summary.failed,
                summary.files.get("csv"))
    if summary.failed == summary.total:
        raise NothingProcessed(f"All {summary.total} papers failed; see the 'bulk-failures' "
                               "artifact for each reason.")
    return summary


@flow(name=CHUNK_FLOW, version=__version__, persist_result=True,
      **flow_result_options(),
      task_runner=ThreadPoolTaskRunner(max_workers=16))
def bulk_chunk(sources: list[str], parent_run_id: str, index: int = 0,
               options: ProcessOptions | None = None, webhook_url: str | None = None,
               concurrency: int | None = None,
               paper_timeout_seconds: float | None = None,
               overrides: dict[str, PaperOverrides] | None = None) -> int:
    """One chunk of a bulk or ingestion run: its papers (with their `overrides`, by source),
    their outcomes stored for the parent; returns how many failed (failures are outcomes, so
    the chunk itself completes)."""
    by_source = overrides or {}
    runner = BatchRunner(f"chunk {index}", len(sources),
                         concurrency or get_settings().bulk_concurrency,
                         options or ProcessOptions(), webhook_url,
                         paper_timeout_seconds or get_settings().paper_timeout_seconds)
    outcomes = runner.run((Job(s, by_source.get(s)) for s in sources), len(sources))
    key = save_chunk_outcomes(parent_run_id, index, outcomes)
    get_run_logger().info("Chunk %d: %d papers, %d failed; outcomes in %s", index,
                          len(outcomes), runner.failed, key)
    return runner.failed

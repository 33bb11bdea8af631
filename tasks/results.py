"""Where task results (and so the cache) live: the S3 results block when S3 is configured."""

from __future__ import annotations

from paperflow.settings import Settings, get_settings

RESULTS_BLOCK = "paperflow-results"
"""The `S3Bucket` block holding task results; `paperflow blocks register` creates it."""
RESULTS_FOLDER = "prefect-results"


def results_folder(settings: Settings) -> str:
    """The results folder of the bucket: beside `papers/`, under the same prefix."""
    prefix = "/".join(p for p in settings.s3_prefix.split("/") if p)
    return f"{prefix}/{RESULTS_FOLDER}" if prefix else RESULTS_FOLDER


def result_storage(settings: Settings | None = None) -> str | None:
    """The results block by slug when S3 is configured, so any worker hits any worker's cache.

    None keeps Prefect's default (the local `PREFECT_HOME` storage, or the server's default).
    The slug is resolved when a task runs, so the block must be saved first: run
    `paperflow blocks register` against the same Prefect server.
    """
    settings = settings or get_settings()
    return f"s3-bucket/{RESULTS_BLOCK}" if settings.s3_bucket else None

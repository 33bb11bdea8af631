"""Storage tasks: idempotent writes of the original PDF, the page texts and the metadata, and
the paper's `requested` marker, which every request refreshes."""

from __future__ import annotations

import json
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from paperflow.models import Asset, PaperMetadataExtraction
from paperflow.pdf import ParsedDocument
from paperflow.pipeline import PaperKey
from paperflow.settings import Settings, get_settings
from paperflow.storage import get_storage, mark_requested, paper_key
from tasks.policy import from_settings, retry_unless_permanent

_retried = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=2),
            "retry_jitter_factor": 0.5, "retry_condition_fn": retry_unless_permanent}


def _limits(settings: Settings) -> dict[str, Any]:
    """For the storage tasks the flow submits to its thread pool."""
    return {"timeout_seconds": settings.storage_timeout_seconds}


_limited = _limits(get_settings())
_written = {"cache_policy": NO_CACHE, "persist_result": False}
"""Writes are idempotent and return only where they wrote: nothing to cache or persist, and no
cache key to compute from the whole document (Prefect's default key hashes every input)."""

# Run-specific fields stay out of metadata.json so the same bytes always store the same JSON.
RUN_FIELDS = {"timings", "source"}


@from_settings(_limits)
@task(**_retried, **_limited, **_written)
def store_original(key: PaperKey, data: bytes) -> Asset:
    """The PDF as received, under its content address."""
    return get_storage().put(paper_key(key.sha256, "original.pdf"), data, "application/pdf")


@from_settings(_limits)
@task(**_retried, **_limited, **_written)
def store_text(key: PaperKey, doc: ParsedDocument) -> Asset:
    """Every page's text in reading order, as JSON."""
    pages = [{"page": page.number, "text": page.text} for page in doc.pages]
    body = json.dumps({"sha256": key.sha256, "page_count": doc.page_count, "pages": pages},
                      ensure_ascii=False).encode()
    return get_storage().put(paper_key(key.sha256, "text", "pages.json"), body, "application/json")


def stored_metadata_json(result: PaperMetadataExtraction) -> bytes:
    """The result without run-specific fields or expiring (presigned) URLs."""
    return json.dumps(_without_signed_urls(result.model_dump(mode="json", exclude=RUN_FIELDS)),
                      indent=2, ensure_ascii=False).encode()


def _without_signed_urls(value: Any) -> Any:
    # A presigned URL changes every signing window: stored, it would rewrite metadata.json.
    if isinstance(value, dict):
        return {k: None if k == "url" and _is_signed(v) else _without_signed_urls(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_without_signed_urls(v) for v in value]
    return value


def _is_signed(url: Any) -> bool:
    return isinstance(url, str) and "X-Amz-Signature=" in url


# No `timeout_seconds` here: this task runs inline in the flow's own thread, and a task time
# limit there (a nested cancel scope) would catch the flow's time-limit signal as its own timeout
# and retry it. The flow's limit (process-paper) or the paper's limit (bulk/ingest runs) bounds it.
@task(**_retried, **_written)
def store_metadata(result: PaperMetadataExtraction) -> Asset:
    """The result as `metadata.json`, written last so its presence means the paper is complete."""
    body = stored_metadata_json(result)
    return get_storage().put(paper_key(result.sha256, "metadata.json"), body, "application/json")


# Never cached (each request must move the marker on) and never retried: it is one small write,
# the next request writes it again, and without it retention dates the paper by its newest
# object, as it did before markers existed.
@task(**_written)
def mark_paper_requested(sha256: str) -> Asset | None:
    """Refresh `papers/<sha256>/requested`: `paperflow gc --papers-days` dates the paper by it."""
    try:
        return mark_requested(get_storage(), sha256)
    except Exception as exc:  # a marker that cannot be written must never fail the paper
        get_run_logger().warning(
            "Could not record that paper %s was requested (%s: %s); `paperflow gc "
            "--papers-days` will date it by its newest object until a later request succeeds.",
            sha256, type(exc).__name__, exc)
        return None

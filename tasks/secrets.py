"""Secret blocks read through the sync API client.

Bulk and ingest runs process papers in worker threads of one flow run; a plain HTTP request
from the sync client does not go through Prefect's async-to-sync bridge from those threads.
"""

from __future__ import annotations

from prefect import get_client
from prefect.exceptions import ObjectNotFound


def read_secret(name: str) -> str | None:
    """The value of the Secret block `name`, or None when there is no such block."""
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type_slug="secret")
        except ObjectNotFound:
            return None
    value = document.data.get("value")
    return str(value) if value else None

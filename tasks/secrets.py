"""Secret blocks read through the sync API client.

`Secret.load` from a worker thread of a flow run (bulk and ingest runs process papers in
threads) waits on the run's event loop, which is busy waiting for those threads: a deadlock.
The sync client makes a plain HTTP request from whichever thread asks.
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

"""The storage interface: keys, content types and the `Storage` protocol every store meets.

Keys are content-addressed (`papers/<sha256>/...`), so writing the same paper twice writes
nothing new: `put` compares size and checksum before writing. The one exception is the paper's
`requested` marker (`mark_requested`), rewritten on every request so retention can date it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from paperflow.errors import PermanentError
from paperflow.models import Asset

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".webp": "image/webp",
    ".png": "image/png",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
}


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def paper_key(sha256: str, *parts: str) -> str:
    """`papers/<sha256>/<parts...>`; refuses anything that could leave the paper's prefix."""
    if not _SHA256.match(sha256):
        raise PermanentError(f"Not a sha256 hex digest: {sha256!r}.")
    for part in parts:
        if not _SEGMENT.match(part) or part in {".", ".."} or ".." in part:
            raise PermanentError(
                f"Unsafe storage key segment {part!r}: use letters, digits, '.', '_' and '-'."
            )
    return "/".join(("papers", sha256, *parts))


class Storage(Protocol):
    """The operations paperflow needs from an object store."""

    name: str

    def put(self, key: str, data: bytes, content_type: str | None = None) -> Asset: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def describe(self, key: str) -> Asset | None: ...

    def fingerprint(self) -> str:
        """Identifies the store, so caches of stored assets do not cross stores."""
        ...


@dataclass
class WriteStats:
    written: int = 0
    skipped: int = 0


REQUESTED_MARKER = "requested"
"""`papers/<sha256>/requested`: when the paper was last asked for (retention reads its time)."""


def mark_requested(storage: Storage, sha256: str, now: float | None = None) -> Asset:
    """Write or refresh the paper's `requested` marker (its body is the time, so it always
    changes and the store's last-modified time moves on, locally and on S3)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return storage.put(paper_key(sha256, REQUESTED_MARKER), moment.isoformat().encode(),
                       "text/plain; charset=utf-8")

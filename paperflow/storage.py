"""Where a paper's assets live: one interface, a local folder by default.

Keys are content-addressed (`papers/<sha256>/...`), so writing the same paper twice writes
nothing new: `put` compares size and checksum before writing. The one exception is the paper's
`requested` marker (`mark_requested`), rewritten on every request so retention can date it.
Writes are atomic (temporary file, then rename), so a crash never leaves a half-written asset
under its final name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from paperflow.errors import PermanentError, StorageError
from paperflow.models import Asset
from paperflow.settings import Settings, get_settings

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


class LocalStorage:
    """Assets under a local folder; URIs are `file://` paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.name = f"local:{self.root}"
        self.stats = WriteStats()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise PermanentError(f"Storage key {key!r} escapes the storage root {self.root}.")
        return path

    def fingerprint(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:16]

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"No stored object {key!r} under {self.root}.") from exc

    def _asset(self, key: str, size: int, content_type: str) -> Asset:
        path = self._path(key)
        return Asset(key=key, uri=path.as_uri(), url=path.as_uri(), content_type=content_type,
                     size=size)

    def describe(self, key: str) -> Asset | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return self._asset(key, path.stat().st_size, content_type_for(key))

    def put(self, key: str, data: bytes, content_type: str | None = None) -> Asset:
        content_type = content_type or content_type_for(key)
        path = self._path(key)
        if path.is_file() and path.stat().st_size == len(data) and _same_bytes(path, data):
            self.stats.skipped += 1
            return self._asset(key, len(data), content_type)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"Could not write {key!r} under {self.root}: {exc}") from exc
        self.stats.written += 1
        return self._asset(key, len(data), content_type)


def _same_bytes(path: Path, data: bytes) -> bool:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest() == hashlib.sha256(data).digest()


def local_storage(data_dir: Path) -> LocalStorage:
    return LocalStorage(Path(data_dir) / "store")


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured store: S3 when `PAPERFLOW_S3_BUCKET` is set, else the local folder."""
    settings = settings or get_settings()
    if settings.s3_bucket:
        from paperflow.s3 import s3_storage

        return s3_storage(settings)
    return local_storage(settings.data_dir)


REQUESTED_MARKER = "requested"
"""`papers/<sha256>/requested`: when the paper was last asked for (retention reads its time)."""


def mark_requested(storage: Storage, sha256: str, now: float | None = None) -> Asset:
    """Write or refresh the paper's `requested` marker (its body is the time, so it always
    changes and the store's last-modified time moves on, locally and on S3)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return storage.put(paper_key(sha256, REQUESTED_MARKER), moment.isoformat().encode(),
                       "text/plain; charset=utf-8")

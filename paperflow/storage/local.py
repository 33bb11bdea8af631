"""Assets under a local folder (the default store); URIs are `file://` paths.

Writes are atomic (temporary file, then rename), so a crash never leaves a half-written asset
under its final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from paperflow.errors import PermanentError, StorageError
from paperflow.models import Asset
from paperflow.storage.base import WriteStats, content_type_for


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

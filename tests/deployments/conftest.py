"""A real local stack for the session: Prefect server, deployments of prefect.yaml, a worker."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployments.stack import Stack, free_port

WEBHOOK_SECRET = "deployments-test-secret"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """`paperflow up` on free loopback ports with its own PREFECT_HOME; `down` even on failure."""
    root = Path(tempfile.mkdtemp(prefix="paperflow-stack-"))
    stack = Stack(root / "stack", port=free_port(), extra_env={
        "PREFECT_HOME": str(root / "prefect"),
        "PAPERFLOW_DATA_DIR": str(root / "data"),
        "PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PAPERFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAPERFLOW_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "PREFECT_LOGGING_LEVEL": "INFO",
    })
    try:
        stack.up(s3=False, query_seconds=1)
        yield stack
    finally:
        stack.down()

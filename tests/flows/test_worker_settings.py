"""A flow-run process whose worker has only the server's URL stores where the blocks say."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import deployments.blocks as blocks
import flows.worker_settings as worker_settings
from deployments.blocks import register_blocks
from paperflow.settings import reload_settings
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("prefect_server")

PROBE = """
from prefect.flows import load_flow_from_entrypoint
load_flow_from_entrypoint("flows/bulk_process.py:bulk_process")  # as a worker's run loads it
from paperflow.settings import get_settings
import tasks.extraction
settings = get_settings()
print("SETTINGS", settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url,
      tasks.extraction.parse_pdf.result_storage)
"""


def _flow_run_process(api_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PAPERFLOW_", "AWS_", "PREFECT_"))}
    env.update(PREFECT__FLOW_RUN_ID="00000000-0000-0000-0000-000000000000",
               PREFECT_API_URL=api_url, PREFECT_HOME=os.environ["PREFECT_HOME"],
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_block_name_is_the_registered_one() -> None:
    assert worker_settings.ASSETS_BLOCK == blocks.ASSETS_BLOCK


def test_storage_comes_from_the_servers_blocks(prefect_server: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_S3_BUCKET", "shared-bucket")
    monkeypatch.setenv("PAPERFLOW_S3_PREFIX", "team")
    monkeypatch.setenv("PAPERFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    try:
        register_blocks(reload_settings())
        done = _flow_run_process(prefect_server)
        assert done.returncode == 0, done.stderr[-3000:]
        assert ("SETTINGS shared-bucket team http://127.0.0.1:9 "
                "paperflow-checked-s3-bucket/paperflow-results") in done.stdout
    finally:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            for name, slug in ((blocks.ASSETS_BLOCK, "s3-bucket"),
                               (blocks.CREDENTIALS_BLOCK, "aws-credentials")):
                document = client.read_block_document_by_name(name, block_type_slug=slug)
                client.delete_block_document(document.id)
        monkeypatch.undo()
        reload_settings()
    # Without the blocks (a stack with no S3), the local disk is where everything goes.
    done = _flow_run_process(prefect_server)
    assert done.returncode == 0 and "SETTINGS None" in done.stdout, done.stderr[-3000:]


def test_unreadable_blocks_fail_the_run_rather_than_store_locally() -> None:
    done = _flow_run_process("http://127.0.0.1:9/api")
    assert done.returncode != 0
    assert "StorageBlocksUnreadable" in done.stderr and "PAPERFLOW_S3_BUCKET" in done.stderr

"""`paperflow blocks register`: prefect-aws blocks that really reach the S3-compatible store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cli.main import main
from deployments.blocks import (
    ASSETS_BLOCK,
    CREDENTIALS_BLOCK,
    LLM_KEY_BLOCK,
    WEBHOOK_SECRET_BLOCK,
    build_blocks,
    register_blocks,
)
from paperflow.settings import reload_settings
from tasks.results import RESULTS_BLOCK, CheckedS3Bucket, ForeignResultError, result_storage
from tests.s3 import BUCKET, SeaweedFS, apply_env, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]
S3_BLOCKS = {CREDENTIALS_BLOCK, ASSETS_BLOCK, RESULTS_BLOCK}


def _documents() -> dict[str, Any]:
    """Saved block documents by name: id and last update, to prove re-running changed nothing."""
    from prefect.client.orchestration import get_client

    async def read() -> dict[str, Any]:
        async with get_client() as client:
            documents = await client.read_block_documents()
        return {d.name: (d.id, d.block_schema_id, d.data) for d in documents
                if d.name and d.name.startswith("paperflow-")}

    return asyncio.run(read())


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPERFLOW_WEBHOOK_SECRET", "PAPERFLOW_LLM_API_KEY", "OPENAI_API_KEY",
                 "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_secrets")
def test_register_is_idempotent_and_blocks_reach_the_store(s3_env: dict[str, str],
                                                           seaweedfs: SeaweedFS) -> None:
    from prefect_aws import AwsCredentials
    from prefect_aws.s3 import S3Bucket

    first = register_blocks(reload_settings())
    assert set(first) == S3_BLOCKS and set(first.values()) <= {"created", "updated"}
    saved = _documents()
    again = register_blocks(reload_settings())
    assert again == dict.fromkeys(S3_BLOCKS, "unchanged")
    assert _documents() == saved, "re-running register changed saved blocks"

    credentials = AwsCredentials.load(CREDENTIALS_BLOCK)
    parameters = credentials.aws_client_parameters
    assert parameters.endpoint_url == seaweedfs.endpoint_url
    assert parameters.config == {"s3": {"addressing_style": "path"}, "signature_version": "s3v4"}
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    assets = S3Bucket.load(ASSETS_BLOCK)
    results = CheckedS3Bucket.load(RESULTS_BLOCK)
    assert (assets.bucket_name, assets.bucket_folder) == (BUCKET, prefix)
    assert (results.bucket_name, results.bucket_folder) == (BUCKET, f"{prefix}/prefect-results")
    assert result_storage(reload_settings()) == f"paperflow-checked-s3-bucket/{RESULTS_BLOCK}"

    # The saved blocks talk to SeaweedFS, not AWS: a write lands under the results folder.
    results.write_path("probe", b"through the block")
    stored = seaweedfs.client().get_object(Bucket=BUCKET, Key=f"{prefix}/prefect-results/probe")
    assert stored["Body"].read() == b"through the block"
    # ...and reading back hands over only records paperflow's JSON serializer wrote.
    with pytest.raises(ForeignResultError, match="serializer None"):
        results.read_path("probe")


@pytest.mark.usefixtures("no_secrets")
def test_changed_settings_update_only_what_changed(s3_env: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    register_blocks(reload_settings())
    apply_env(monkeypatch, {**s3_env, "PAPERFLOW_S3_PREFIX": s3_env["PAPERFLOW_S3_PREFIX"] + "b"})
    assert register_blocks(reload_settings()) == {
        CREDENTIALS_BLOCK: "unchanged", ASSETS_BLOCK: "updated", RESULTS_BLOCK: "updated"}
    apply_env(monkeypatch, {**s3_env, "AWS_SECRET_ACCESS_KEY": "rotated"})
    outcome = register_blocks(reload_settings())
    assert outcome[CREDENTIALS_BLOCK] == "updated"


def test_secrets_and_no_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    for name in ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME",
                 "OPENAI_API_KEY", "LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERFLOW_WEBHOOK_SECRET", "hook-secret")
    monkeypatch.setenv("PAPERFLOW_LLM_API_KEY", "sk-test")
    settings = reload_settings()
    assert set(build_blocks(settings)) == {LLM_KEY_BLOCK, WEBHOOK_SECRET_BLOCK}
    assert result_storage(settings) is None
    try:
        register_blocks(settings)
        assert register_blocks(settings) == {LLM_KEY_BLOCK: "unchanged",
                                             WEBHOOK_SECRET_BLOCK: "unchanged"}
        assert Secret.load(WEBHOOK_SECRET_BLOCK).get() == "hook-secret"
        assert Secret.load(LLM_KEY_BLOCK).get() == "sk-test"
        monkeypatch.setenv("PAPERFLOW_WEBHOOK_SECRET", "rotated")
        assert register_blocks(reload_settings())[WEBHOOK_SECRET_BLOCK] == "updated"
    finally:
        # Left on the session's server, the key would switch the LLM phase on in later tests.
        _delete_blocks(LLM_KEY_BLOCK, WEBHOOK_SECRET_BLOCK)
        monkeypatch.undo()
        reload_settings()


def _delete_blocks(*names: str) -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for name in names:
            try:
                document = client.read_block_document_by_name(name, block_type_slug="secret")
            except ObjectNotFound:
                continue
            client.delete_block_document(document.id)


@pytest.mark.usefixtures("no_secrets")
def test_cli_blocks_register(s3_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["blocks", "register"]) == 0
    assert main(["blocks", "register"]) == 0
    out = capsys.readouterr().out.splitlines()[-3:]
    assert sorted(out) == sorted(f"{name}: unchanged" for name in S3_BLOCKS)

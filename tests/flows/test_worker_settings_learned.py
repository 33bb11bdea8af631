"""Storage from the blocks is learned by the settings, never exported to os.environ."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import flows.worker_settings as worker_settings
from paperflow.settings import forget_learned, get_settings

BLOCKS = {"PAPERFLOW_S3_BUCKET": "shared", "PAPERFLOW_S3_PREFIX": "team",
          "PAPERFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:8333", "AWS_ACCESS_KEY_ID": "block-id",
          "AWS_SECRET_ACCESS_KEY": "block-secret", "AWS_REGION": "us-east-1"}


@pytest.fixture
def flow_run_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The environment a worker gives a flow run: its id and the API URL, no S3 settings."""
    for name in (*BLOCKS, "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL", "PAPERFLOW_AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION",
                 "PAPERFLOW_AWS_SECRET_ACCESS_KEY", "PAPERFLOW_AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setattr(worker_settings, "storage_env_from_blocks", lambda: dict(BLOCKS))
    forget_learned()
    yield
    forget_learned()


@pytest.mark.usefixtures("flow_run_process")
def test_the_blocks_are_learned_by_the_settings_not_exported() -> None:
    before = dict(os.environ)
    assert worker_settings.configure_flow_run_from_blocks() == sorted(BLOCKS)
    settings = get_settings()
    assert (settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url) == (
        "shared", "team", "http://127.0.0.1:8333")
    assert settings.aws_access_key_id == "block-id" and settings.aws_region == "us-east-1"
    assert settings.aws_secret_access_key is not None
    assert settings.aws_secret_access_key.get_secret_value() == "block-secret"
    assert dict(os.environ) == before, "nothing is written to os.environ"
    assert forget_learned().s3_bucket is None


@pytest.mark.usefixtures("flow_run_process")
def test_this_machines_own_setting_wins_over_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_S3_ENDPOINT_URL", "http://s3.lan:9000")
    learned = worker_settings.configure_flow_run_from_blocks()
    assert "PAPERFLOW_S3_ENDPOINT_URL" not in learned and "PAPERFLOW_S3_BUCKET" in learned
    assert get_settings().s3_endpoint_url == "http://s3.lan:9000"
    assert get_settings().s3_bucket == "shared"


def test_outside_a_worker_flow_run_nothing_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT__FLOW_RUN_ID", raising=False)

    def unreachable() -> dict[str, str]:
        raise AssertionError("the blocks were read outside a flow run")

    monkeypatch.setattr(worker_settings, "storage_env_from_blocks", unreachable)
    assert worker_settings.configure_flow_run_from_blocks() == []

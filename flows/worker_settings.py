"""Storage settings for a flow run whose worker was given only the server's URL.

A worker on another machine needs the code and `PREFECT_API_URL`; where papers, assets and the
shared task cache live is what the server's blocks say (`paperflow blocks register` saved them:
`paperflow-assets` and `paperflow-aws`). A flow-run process started by a worker reads them
before any task module reads the settings, so it stores where every other worker stores. It
never falls back to its local disk while the server names a bucket: a block it cannot read
fails the run with the reason.
"""

from __future__ import annotations

import logging
import os

from deployments.stack import BUCKET_VARIABLES

ASSETS_BLOCK = "paperflow-assets"
"""`deployments.blocks.ASSETS_BLOCK`, not imported: that module imports the tasks, which read
the settings, and this must run before anything does."""

logger = logging.getLogger("paperflow.worker")


class StorageBlocksUnreadable(RuntimeError):
    """The server names the shared storage, but this process could not read its blocks."""


def storage_env_from_blocks() -> dict[str, str]:
    """The S3 variables the server's `paperflow-assets` block (and its credentials) describe;
    empty when the server has no such block (a stack without S3: local disk is right)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect_aws.s3 import S3Bucket

    with get_client(sync_client=True) as client:
        try:
            client.read_block_document_by_name(ASSETS_BLOCK, block_type_slug="s3-bucket")
        except ObjectNotFound:
            return {}
    assets = S3Bucket.load(ASSETS_BLOCK, _sync=True)  # type: ignore[call-arg]
    credentials = assets.credentials
    env = {"PAPERFLOW_S3_BUCKET": assets.bucket_name,
           "PAPERFLOW_S3_PREFIX": assets.bucket_folder or ""}
    key_id = getattr(credentials, "aws_access_key_id", None)
    secret = getattr(credentials, "aws_secret_access_key", None)
    region = getattr(credentials, "region_name", None)
    parameters = getattr(credentials, "aws_client_parameters", None)
    endpoint = getattr(parameters, "endpoint_url", None)
    if key_id:
        env["AWS_ACCESS_KEY_ID"] = key_id
    if secret:
        env["AWS_SECRET_ACCESS_KEY"] = secret.get_secret_value()
    if region:
        env["AWS_REGION"] = region
    if endpoint:
        env["PAPERFLOW_S3_ENDPOINT_URL"] = str(endpoint)
    return env


SETTING_OF_VARIABLE = {
    "PAPERFLOW_S3_BUCKET": "s3_bucket", "PAPERFLOW_S3_PREFIX": "s3_prefix",
    "PAPERFLOW_S3_ENDPOINT_URL": "s3_endpoint_url", "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key", "AWS_REGION": "aws_region",
}
"""The `Settings` field each variable of `storage_env_from_blocks` stands for."""


def configure_flow_run_from_blocks() -> list[str]:
    """In a flow-run process a worker started without S3 settings: take them from the blocks.

    The values are learned by the settings (`paperflow.settings.learn`), not written to
    `os.environ`; a setting this machine's environment gives wins over the block's. Returns the
    variables learned (none outside worker flow runs, or when S3 is configured here).
    """
    if not os.environ.get("PREFECT__FLOW_RUN_ID") or not os.environ.get("PREFECT_API_URL"):
        return []
    if any(os.environ.get(name) for name in BUCKET_VARIABLES):
        return []
    try:
        env = storage_env_from_blocks()
    except Exception as exc:
        raise StorageBlocksUnreadable(
            f"this worker has no S3 settings and could not read the server's "
            f"{ASSETS_BLOCK!r} block ({type(exc).__name__}: {exc}); set PAPERFLOW_S3_BUCKET "
            "and the keys on the worker, or check that `paperflow blocks register` ran against "
            "this server") from exc
    from paperflow.settings import Settings, learn

    own = Settings()
    learned = {name: value for name, value in env.items()
               if getattr(own, SETTING_OF_VARIABLE[name]) in (None, "")}
    if learned:
        learn(**{SETTING_OF_VARIABLE[name]: value for name, value in learned.items()})
        logger.info("Storage from the server's blocks: s3://%s/%s", env["PAPERFLOW_S3_BUCKET"],
                    env.get("PAPERFLOW_S3_PREFIX", ""))
    return sorted(learned)

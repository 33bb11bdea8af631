"""Prefect blocks paperflow uses, built from the environment: `paperflow blocks register`.

- `paperflow-aws` (AwsCredentials): keys, region, and `AwsClientParameters(endpoint_url=...)`
  with path-style addressing for S3-compatible stores (R2, MinIO, SeaweedFS). prefect-aws
  ignores unknown fields, so the endpoint must go exactly there or requests go to AWS.
- `paperflow-assets` (S3Bucket): the assets bucket under `PAPERFLOW_S3_PREFIX`.
- `paperflow-results` (CheckedS3Bucket, an S3Bucket that only reads back paperflow's typed-JSON
  result records): the same bucket, `<prefix>/prefect-results`, where task
  results and so the cache live (`tasks.results.result_storage`).
- `paperflow-llm-api-key`, `paperflow-webhook-secret` (Secret): when their variables are set.

Registering is idempotent: a block whose saved value already matches is left untouched.
"""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect_aws import AwsClientParameters, AwsCredentials
from prefect_aws.s3 import S3Bucket
from pydantic import SecretStr

from paperflow.settings import Settings, get_settings
from tasks.llm import KEY_BLOCK as LLM_KEY_BLOCK
from tasks.results import RESULTS_BLOCK, CheckedS3Bucket, results_folder

CREDENTIALS_BLOCK = "paperflow-aws"
ASSETS_BLOCK = "paperflow-assets"
WEBHOOK_SECRET_BLOCK = "paperflow-webhook-secret"


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def build_blocks(settings: Settings) -> dict[str, Block]:
    """The blocks the settings describe, by name (nothing is saved)."""
    blocks: dict[str, Block] = {}
    if settings.s3_bucket:
        client_parameters = AwsClientParameters(
            endpoint_url=settings.s3_endpoint_url,
            config={"s3": {"addressing_style": "path"}, "signature_version": "s3v4"}
            if settings.s3_endpoint_url else None,
        )
        credentials = AwsCredentials(
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=_secret(settings.aws_secret_access_key),
            aws_session_token=_secret(settings.aws_session_token),
            region_name=settings.aws_region or ("us-east-1" if settings.s3_endpoint_url else None),
            aws_client_parameters=client_parameters,
        )
        prefix = "/".join(p for p in settings.s3_prefix.split("/") if p)
        blocks[CREDENTIALS_BLOCK] = credentials
        blocks[ASSETS_BLOCK] = S3Bucket(bucket_name=settings.s3_bucket, credentials=credentials,
                                        bucket_folder=prefix)
        blocks[RESULTS_BLOCK] = CheckedS3Bucket(
            bucket_name=settings.s3_bucket, credentials=credentials,
            bucket_folder=results_folder(settings))
    from paperflow.llm.settings import LLMSettings

    llm_key = LLMSettings().api_key
    if llm_key:
        blocks[LLM_KEY_BLOCK] = Secret(value=llm_key)
    if settings.webhook_secret:
        blocks[WEBHOOK_SECRET_BLOCK] = Secret(value=settings.webhook_secret)
    return blocks


def _comparable(value: Any) -> Any:
    """A block's value as plain data, secrets revealed, nested blocks expanded."""
    if isinstance(value, Block):
        return {"__type__": value.get_block_type_slug(),
                **{name: _comparable(getattr(value, name)) for name in type(value).model_fields}}
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    if hasattr(value, "model_dump"):
        return _comparable(value.model_dump())
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return value


def _saved(block_type: type[Block], name: str) -> Block | None:
    try:
        return block_type.load(name, _sync=True)  # type: ignore[call-arg]
    except ValueError:
        return None


def register_blocks(settings: Settings | None = None) -> dict[str, str]:
    """Save the blocks to the current Prefect API; says per name: created, updated or unchanged."""
    settings = settings or get_settings()
    outcome: dict[str, str] = {}
    credentials: Block | None = None
    for name, block in build_blocks(settings).items():
        if isinstance(block, S3Bucket) and credentials is not None:
            block.credentials = credentials  # reference the named block, not an anonymous copy
        existing = _saved(type(block), name)
        if existing is not None and _comparable(existing) == _comparable(block):
            outcome[name] = "unchanged"
            saved = existing
        else:
            block.save(name, overwrite=True, _sync=True)  # type: ignore[call-arg]
            outcome[name] = "created" if existing is None else "updated"
            saved = block
        if name == CREDENTIALS_BLOCK:
            credentials = saved
    return outcome

"""Where a paper's assets live: one interface (`Storage`), two stores behind it.

- `paperflow.storage.local`: a local folder, the default;
- `paperflow.storage.s3`: an S3 bucket (AWS, R2, MinIO, SeaweedFS), chosen by
  `PAPERFLOW_S3_BUCKET`; every S3 client paperflow uses comes from its `s3_client`.

`get_storage` picks the configured one. The S3 module (and boto3) is imported only when a
bucket is configured, which keeps local runs' start-up light.
"""

from __future__ import annotations

from paperflow.settings import Settings, get_settings
from paperflow.storage.base import (
    CONTENT_TYPES,
    REQUESTED_MARKER,
    Storage,
    WriteStats,
    content_type_for,
    mark_requested,
    paper_key,
)
from paperflow.storage.local import LocalStorage, local_storage

__all__ = ["CONTENT_TYPES", "REQUESTED_MARKER", "LocalStorage", "Storage", "WriteStats",
           "content_type_for", "get_storage", "local_storage", "mark_requested", "paper_key"]


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured store: S3 when `PAPERFLOW_S3_BUCKET` is set, else the local folder."""
    settings = settings or get_settings()
    if settings.s3_bucket:
        from paperflow.storage.s3 import s3_storage

        return s3_storage(settings)
    return local_storage(settings.data_dir)

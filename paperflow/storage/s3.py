"""Assets in an S3 bucket (AWS, Cloudflare R2, MinIO, SeaweedFS) through boto3.

Same contract as `LocalStorage`: content-addressed keys under `PAPERFLOW_S3_PREFIX`, and a `put`
of an object already stored (same size, same sha256 kept in the object's metadata, same content
type) writes nothing. A single PUT is atomic in S3; bodies over the multipart threshold go up as
a multipart upload, which shows nothing under the key until it completes and is aborted on any
failure, so a crash never leaves a half object. Errors say which endpoint failed: `StorageError`
for what retrying may fix (the store is down or slow), `PermanentError` subclasses for wrong
credentials, a missing bucket or a rejected request.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from paperflow.errors import PermanentError, StorageError
from paperflow.models import Asset
from paperflow.settings import Settings
from paperflow.storage.base import WriteStats, content_type_for

MIB = 1024 * 1024
PART_SIZE = 8 * MIB
MAX_PARTS = 10_000
PRESIGN_WINDOW_MAX_SECONDS = 24 * 3600

_CREDENTIAL_CODES = {
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
    "ExpiredToken", "InvalidClientTokenId", "AuthorizationHeaderMalformed", "AllAccessDisabled",
    "AccountProblem", "UnrecognizedClientException", "403", "Forbidden",
}
_MISSING_KEY_CODES = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError",
                    "RequestTimeTooSkewed", "Throttling", "ThrottlingException"}

ErrorKind = Literal["missing_bucket", "missing_key", "denied", "transient", "rejected"]


class StorageConfigError(StorageError, PermanentError):
    """The store refuses the request as configured: retrying cannot help."""


class StorageCredentialsError(StorageConfigError):
    """Missing or wrong credentials, or no permission on the bucket."""


class BucketNotFoundError(StorageConfigError):
    """The configured bucket does not exist at the endpoint."""


class BlocksNotRegisteredError(StorageConfigError):
    """S3 is configured but the Prefect blocks the flows load are not saved on the server.

    Prefect resolves the results block (`paperflow-checked-s3-bucket/paperflow-results`) by
    name when a task runs; without it every task fails with Prefect's "Unable to find block
    document named ...".
    """

    COMMAND = "paperflow blocks register"

    @classmethod
    def naming(cls, names: Sequence[str], server: str,
               cause: str = "") -> BlocksNotRegisteredError:
        """The error naming the missing blocks, the Prefect server and the command to run."""
        because = f" ({cause})" if cause else ""
        return cls(
            f"PAPERFLOW_S3_BUCKET is set but the Prefect block(s) {', '.join(names)} are not "
            f"registered on {server}{because}. Run `{cls.COMMAND}` with the same PAPERFLOW_S3_* "
            "/ AWS_* variables and PREFECT_API_URL as the flows, then retry.")


_MISSING_BLOCK = re.compile(r"Unable to find block document named ([\w.-]+)")


def missing_block_error(message: str, server: str) -> BlocksNotRegisteredError | None:
    """The actionable error for Prefect's missing-block `ValueError` message, else None."""
    found = _MISSING_BLOCK.search(message)
    return BlocksNotRegisteredError.naming([found.group(1)], server) if found else None


class ObjectNotFoundError(StorageError):
    """No object is stored under the key."""


def classify_error(exc: BaseException) -> ErrorKind:
    """What a boto3 failure means: a missing bucket or key, refused access, transient, rejected."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "denied"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code == "NoSuchBucket":
            return "missing_bucket"
        if code in _MISSING_KEY_CODES:
            return "missing_key"
        if code in _CREDENTIAL_CODES or status in (401, 403):
            return "denied"
        if code in _TRANSIENT_CODES or status >= 500 or status in (408, 429):
            return "transient"
        return "rejected"
    return "transient"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); refuses URIs without both."""
    parts = urlsplit(uri.strip())
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if parts.scheme != "s3" or not bucket or not key:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI.")
    return bucket, key


def endpoint_label(settings: Settings) -> str:
    """The endpoint as shown in messages: its URL, or AWS S3 with the region."""
    return settings.s3_endpoint_url or f"AWS S3 ({settings.aws_region or 'default region'})"


def s3_session(settings: Settings) -> boto3.session.Session:
    """A boto3 session with the configured credentials (else boto3's usual lookup chain)."""
    secret = settings.aws_secret_access_key
    token = settings.aws_session_token
    return boto3.session.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        aws_session_token=token.get_secret_value() if token else None,
        region_name=settings.aws_region or ("us-east-1" if settings.s3_endpoint_url else None),
    )


def s3_client(settings: Settings, session: boto3.session.Session | None = None) -> Any:
    """A boto3 S3 client from the settings; path-style addressing for S3-compatible endpoints."""
    session = session or s3_session(settings)
    options: dict[str, Any] = {
        "signature_version": "s3v4",
        "connect_timeout": settings.s3_connect_timeout_seconds,
        "read_timeout": settings.s3_read_timeout_seconds,
        "retries": {"max_attempts": settings.s3_max_attempts, "mode": "standard"},
    }
    if settings.s3_endpoint_url:
        # Third-party stores want path-style URLs and no default CRC trailers (we send MD5).
        options.update(s3={"addressing_style": "path"},
                       request_checksum_calculation="when_required",
                       response_checksum_validation="when_required")
    return session.client("s3", endpoint_url=settings.s3_endpoint_url, config=Config(**options))


@dataclass(frozen=True)
class _Head:
    size: int
    content_type: str
    sha256: str | None
    etag: str


class S3Storage:
    """Assets in one bucket under a prefix; URIs are `s3://bucket/key`, URLs presigned or public."""

    def __init__(self, settings: Settings) -> None:
        if not settings.s3_bucket:
            raise StorageConfigError("S3 storage needs a bucket: set PAPERFLOW_S3_BUCKET.")
        self.bucket = settings.s3_bucket
        self.prefix = "/".join(p for p in settings.s3_prefix.split("/") if p)
        if any(p in {".", ".."} for p in self.prefix.split("/")):
            raise StorageConfigError(f"PAPERFLOW_S3_PREFIX {settings.s3_prefix!r} has '.' or '..'.")
        self.endpoint = endpoint_label(settings)
        self.public_base_url = (settings.s3_public_base_url or "").rstrip("/") or None
        self.presign_seconds = settings.s3_presign_seconds
        self.multipart_threshold = settings.s3_multipart_threshold_bytes
        self._session = s3_session(settings)
        self.client = s3_client(settings, self._session)
        self.name = f"s3:{settings.s3_endpoint_url or 'aws'}/{self.bucket}/{self.prefix}"
        self.stats = WriteStats()
        self._lock = threading.Lock()
        self._bucket_checked = False

    def fingerprint(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:16]

    def object_key(self, key: str) -> str:
        """The bucket key of a storage key: under the prefix, never outside it."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts) \
                or "\\" in key:
            raise StorageConfigError(f"Unsafe storage key {key!r}: it could leave the prefix.")
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def _fail(self, exc: BaseException, action: str, key: str | None = None) -> StorageError:
        """The paperflow error for a boto3 failure, naming the endpoint and the object."""
        target = f"s3://{self.bucket}/{key}" if key else f"bucket {self.bucket!r}"
        kind = classify_error(exc)
        if kind == "missing_bucket":
            return BucketNotFoundError(
                f"Bucket {self.bucket!r} does not exist at {self.endpoint}: create it, or check "
                "PAPERFLOW_S3_BUCKET and PAPERFLOW_S3_ENDPOINT_URL.")
        if kind == "denied":
            return StorageCredentialsError(
                f"{self.endpoint} refused {action} {target}: {_describe(exc)}. Check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's permissions.")
        if kind == "missing_key":
            return ObjectNotFoundError(f"No stored object {target} at {self.endpoint}.")
        if kind == "rejected":
            return StorageConfigError(f"{self.endpoint} rejected {action} {target}: "
                                      f"{_describe(exc)}.")
        return StorageError(f"S3 endpoint {self.endpoint} failed {action} {target}: "
                            f"{_describe(exc)}. Is the store up? Retrying may help.")

    def check_bucket(self) -> None:
        """Fail fast and clearly on wrong credentials or a missing bucket (once per instance)."""
        if self._bucket_checked:
            return
        try:
            self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1,
                                        Prefix=f"{self.prefix}/" if self.prefix else "")
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "listing") from exc
        self._bucket_checked = True

    def _head(self, full_key: str) -> _Head | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full_key)
        except (BotoCoreError, ClientError) as exc:
            if classify_error(exc) == "missing_key":
                return None
            raise self._fail(exc, "checking", full_key) from exc
        return _Head(size=int(head["ContentLength"]),
                     content_type=head.get("ContentType") or "",
                     sha256=(head.get("Metadata") or {}).get("sha256"),
                     etag=str(head.get("ETag", "")).strip('"'))

    def exists(self, key: str) -> bool:
        self.check_bucket()
        return self._head(self.object_key(key)) is not None

    def describe(self, key: str) -> Asset | None:
        self.check_bucket()
        head = self._head(self.object_key(key))
        if head is None:
            return None
        return self._asset(key, head.size, head.content_type or content_type_for(key))

    def get(self, key: str) -> bytes:
        self.check_bucket()
        full_key = self.object_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full_key)
            return bytes(response["Body"].read())
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "reading", full_key) from exc

    def put(self, key: str, data: bytes, content_type: str | None = None) -> Asset:
        content_type = content_type or content_type_for(key)
        full_key = self.object_key(key)
        self.check_bucket()
        digest = hashlib.sha256(data).hexdigest()
        head = self._head(full_key)
        if head is not None and _same_object(head, data, digest, content_type):
            with self._lock:
                self.stats.skipped += 1
            return self._asset(key, len(data), content_type)
        extra = {"ContentType": content_type, "Metadata": {"sha256": digest}}
        try:
            if len(data) >= self.multipart_threshold:
                self._put_multipart(full_key, data, extra)
            else:
                self.client.put_object(Bucket=self.bucket, Key=full_key, Body=data,
                                       ContentMD5=_md5_b64(data), **extra)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail(exc, "writing", full_key) from exc
        with self._lock:
            self.stats.written += 1
        return self._asset(key, len(data), content_type)

    def _put_multipart(self, full_key: str, data: bytes, extra: dict[str, Any]) -> None:
        """Upload in parts; nothing appears under the key unless every part made it."""
        part_size = max(PART_SIZE, -(-len(data) // MAX_PARTS))
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full_key, **extra)["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, len(data), part_size), start=1):
                body = data[start:start + part_size]
                etag = self.client.upload_part(
                    Bucket=self.bucket, Key=full_key, UploadId=upload_id, PartNumber=number,
                    Body=body, ContentMD5=_md5_b64(body))["ETag"]
                parts.append({"ETag": etag, "PartNumber": number})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                MultipartUpload={"Parts": parts})
        except BaseException:
            # If the store is down, the parts stay invisible until its lifecycle rules reap them.
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key,
                                                   UploadId=upload_id)
            raise

    def _asset(self, key: str, size: int, content_type: str) -> Asset:
        full_key = self.object_key(key)
        return Asset(key=key, uri=f"s3://{self.bucket}/{full_key}", url=self.url(full_key),
                     content_type=content_type, size=size)

    def url(self, full_key: str, now: float | None = None) -> str:
        """The public URL under the base URL when set, else a presigned GET URL."""
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(full_key, safe='/~')}"
        return self.presign(full_key, now)

    def presign(self, full_key: str, now: float | None = None) -> str:
        """A SigV4 presigned GET URL, signed at the start of the current window.

        The same object gets the same URL throughout a window (a quarter of the expiry, a day at
        most), so stored metadata does not change on every run; each URL handed out stays valid
        for at least three quarters of `PAPERFLOW_S3_PRESIGN_SECONDS`.
        """
        window = max(1, min(PRESIGN_WINDOW_MAX_SECONDS, self.presign_seconds // 4))
        moment = time.time() if now is None else now
        signed_at = datetime.fromtimestamp(moment - moment % window, tz=UTC)
        base = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": full_key}, ExpiresIn=60)
        credentials = self._session.get_credentials()
        if credentials is None:
            raise StorageCredentialsError(
                f"No S3 credentials to presign URLs for {self.endpoint}: set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY, or PAPERFLOW_S3_PUBLIC_BASE_URL.")
        return presign_v4(base, credentials.get_frozen_credentials(),
                          self.client.meta.region_name, signed_at, self.presign_seconds)


def presign_v4(url: str, credentials: Any, region: str, signed_at: datetime,
               expires: int) -> str:
    """Sign a GET of `url` (scheme, host and encoded path are kept) as an S3 query-string URL."""
    parts = urlsplit(url)
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    day = signed_at.strftime("%Y%m%d")
    scope = f"{day}/{region}/s3/aws4_request"
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{credentials.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    if credentials.token:
        params["X-Amz-Security-Token"] = credentials.token
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                     for k, v in sorted(params.items()))
    canonical = "\n".join(["GET", parts.path or "/", query, f"host:{parts.netloc}", "", "host",
                           "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{credentials.secret_key}".encode()
    for step in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, step.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{query}&X-Amz-Signature={signature}"


def _same_object(head: _Head, data: bytes, digest: str, content_type: str) -> bool:
    """Already stored: same size and content type, and same sha256 (or single-part MD5 ETag)."""
    if head.size != len(data) or head.content_type != content_type:
        return False
    if head.sha256:
        return head.sha256 == digest
    return "-" not in head.etag and head.etag == hashlib.md5(data).hexdigest()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or ""
        return f"HTTP {status} {error.get('Code', '')} {message}".strip()
    return f"{type(exc).__name__}: {exc}"


_INSTANCES: dict[tuple[str, ...], S3Storage] = {}
_INSTANCES_LOCK = threading.Lock()


def s3_storage(settings: Settings) -> S3Storage:
    """One `S3Storage` per configuration, so clients and the bucket check are reused."""
    fields = ("s3_bucket", "s3_endpoint_url", "s3_prefix", "s3_public_base_url",
              "s3_presign_seconds", "s3_multipart_threshold_bytes", "s3_connect_timeout_seconds",
              "s3_read_timeout_seconds", "s3_max_attempts", "aws_access_key_id", "aws_region")
    secrets = (settings.aws_secret_access_key, settings.aws_session_token)
    key = tuple(str(getattr(settings, name)) for name in fields) + tuple(
        hashlib.sha256(s.get_secret_value().encode()).hexdigest() if s else "" for s in secrets)
    with _INSTANCES_LOCK:
        storage = _INSTANCES.get(key)
        if storage is None:
            storage = _INSTANCES[key] = S3Storage(settings)
        return storage


def clear_s3_storages() -> None:
    """Forget cached instances (tests restart stores and change credentials)."""
    with _INSTANCES_LOCK:
        _INSTANCES.clear()

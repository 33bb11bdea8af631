"""`S3Storage` and s3:// sources against a real S3 server (SeaweedFS on loopback)."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from botocore.exceptions import EndpointConnectionError

from paperflow.errors import (
    InvalidPdfError,
    InvalidSourceError,
    PermanentError,
    SourceError,
    SourceNotFoundError,
    StorageError,
)
from paperflow.settings import Settings, reload_settings
from paperflow.sources import resolve_source
from paperflow.storage import LocalStorage, get_storage, paper_key
from paperflow.storage.s3 import (
    BucketNotFoundError,
    S3Storage,
    StorageCredentialsError,
    parse_s3_uri,
    s3_storage,
)
from tests.pdfs import make_paper
from tests.s3 import BUCKET, SeaweedFS, apply_env, free_ports, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures
pytestmark = pytest.mark.slow
SHA = hashlib.sha256(b"paper").hexdigest()


def _storage(**overrides: Any) -> S3Storage:
    return S3Storage(reload_settings().model_copy(update=overrides))


def test_put_get_describe_and_content_types(s3_env: dict[str, str],
                                            seaweedfs: SeaweedFS) -> None:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    names = {("original.pdf",): "application/pdf", ("preview.webp",): "image/webp",
             ("thumbs", "sm.webp"): "image/webp", ("text", "pages.json"): "application/json",
             ("images", "1.png"): "image/png", ("metadata.json",): "application/json"}
    for parts, content_type in names.items():
        key = paper_key(SHA, *parts)
        asset = storage.put(key, f"body of {key}".encode())
        assert asset.key == key and asset.content_type == content_type
        assert asset.uri == f"s3://{BUCKET}/{prefix}/{key}"
        assert asset.size == len(f"body of {key}")
        assert storage.get(key) == f"body of {key}".encode()
        assert storage.exists(key)
        described = storage.describe(key)
        assert described is not None and described.content_type == content_type
        assert httpx.get(asset.url or "").content == f"body of {key}".encode()
    stored = seaweedfs.objects(prefix=f"{prefix}/")
    assert {k: v["content_type"] for k, v in stored.items()} == {
        f"{prefix}/{paper_key(SHA, *parts)}": ct for parts, ct in names.items()}
    assert all(v["sha256"] == hashlib.sha256(f"body of {k[len(prefix) + 1:]}".encode())
               .hexdigest() for k, v in stored.items())
    assert not storage.exists(paper_key(SHA, "missing.json"))
    assert storage.describe(paper_key(SHA, "missing.json")) is None
    with pytest.raises(StorageError, match="No stored object"):
        storage.get(paper_key(SHA, "missing.json"))


def test_same_object_twice_writes_nothing(s3_env: dict[str, str], seaweedfs: SeaweedFS) -> None:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    key = paper_key(SHA, "original.pdf")
    first = storage.put(key, b"%PDF-1.7 same bytes")
    before = seaweedfs.objects(prefix=s3_env["PAPERFLOW_S3_PREFIX"])
    time.sleep(1.1)  # LastModified has one-second resolution
    again = storage.put(key, b"%PDF-1.7 same bytes")
    assert (storage.stats.written, storage.stats.skipped) == (1, 1)
    assert again == first
    assert seaweedfs.objects(prefix=s3_env["PAPERFLOW_S3_PREFIX"]) == before
    storage.put(key, b"%PDF-1.7 other bytes")
    assert storage.stats.written == 2 and storage.get(key) == b"%PDF-1.7 other bytes"


def test_an_object_without_our_checksum_is_compared_by_etag(
        s3_env: dict[str, str], seaweedfs: SeaweedFS) -> None:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    key = paper_key(SHA, "text", "pages.json")
    seaweedfs.client().put_object(Bucket=BUCKET, Key=storage.object_key(key), Body=b"{}",
                                  ContentType="application/json")
    storage.put(key, b"{}")
    assert (storage.stats.written, storage.stats.skipped) == (0, 1)


def test_multipart_upload_and_no_half_object_on_failure(
        s3_env: dict[str, str], seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = _storage(s3_multipart_threshold_bytes=5 * 1024 * 1024)
    data = bytes(range(256)) * (12 * 4096)  # 12 MiB: two parts
    key = paper_key(SHA, "original.pdf")
    asset = storage.put(key, data)
    assert asset.size == len(data) and storage.get(key) == data
    head = seaweedfs.client().head_object(Bucket=BUCKET, Key=storage.object_key(key))
    assert "-" in head["ETag"] and head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    storage.put(key, data)
    assert storage.stats.skipped == 1

    other = paper_key(SHA, "images", "1.png")
    real_upload_part = storage.client.upload_part

    def failing_upload_part(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 2:
            raise EndpointConnectionError(endpoint_url=seaweedfs.endpoint_url)
        return real_upload_part(**kwargs)

    monkeypatch.setattr(storage.client, "upload_part", failing_upload_part)
    with pytest.raises(StorageError, match=seaweedfs.endpoint_url) as error:
        storage.put(other, data)
    assert not isinstance(error.value, PermanentError)
    assert not storage.exists(other)
    assert seaweedfs.pending_uploads() == []


def test_presigned_urls_are_stable_within_a_window_and_valid(
        s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.auth

    storage = get_storage()
    assert isinstance(storage, S3Storage)
    key = paper_key(SHA, "preview.webp")
    asset = storage.put(key, b"RIFF....WEBP")
    full = storage.object_key(key)
    assert storage.url(full) == asset.url, "the same object must get the same URL"
    assert httpx.get(asset.url or "").content == b"RIFF....WEBP"
    tampered = (asset.url or "")[:-4] + "0000"
    assert httpx.get(tampered).status_code == 403
    # Byte for byte what botocore signs at the same moment.
    now = time.time()
    window = min(24 * 3600, storage.presign_seconds // 4)
    signed_at = datetime.fromtimestamp(now - now % window, tz=UTC)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    expected = storage.client.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": full},
        ExpiresIn=storage.presign_seconds)
    assert storage.url(full, now=now) == expected
    assert "X-Amz-Expires=604800" in expected


def test_public_base_url(s3_env: dict[str, str]) -> None:
    storage = _storage(s3_public_base_url="https://cdn.example.org/assets/")
    asset = storage.put(paper_key(SHA, "metadata.json"), b"{}")
    assert asset.url == f"https://cdn.example.org/assets/{storage.object_key(asset.key)}"


@pytest.mark.parametrize("key", ["../etc/passwd", "/papers/x", "papers//x", "papers/./x",
                                 "papers/../../x", "a\\b", ""])
def test_keys_cannot_escape_the_prefix(s3_env: dict[str, str], key: str) -> None:
    with pytest.raises(PermanentError):
        get_storage().put(key, b"x")


def test_wrong_credentials_fail_fast_and_clearly(s3_env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 seaweedfs: SeaweedFS) -> None:
    apply_env(monkeypatch, {**s3_env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    started = time.monotonic()
    with pytest.raises(StorageCredentialsError, match="AWS_SECRET_ACCESS_KEY") as error:
        get_storage().put(paper_key(SHA, "original.pdf"), b"%PDF")
    assert isinstance(error.value, PermanentError)
    assert seaweedfs.endpoint_url in str(error.value)
    assert time.monotonic() - started < 5


def test_missing_bucket_fails_fast_and_clearly(s3_env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    apply_env(monkeypatch, {**s3_env, "PAPERFLOW_S3_BUCKET": "no-such-bucket"})
    with pytest.raises(BucketNotFoundError, match="'no-such-bucket' does not exist at http"):
        get_storage().put(paper_key(SHA, "original.pdf"), b"%PDF")


def test_store_down_is_transient_and_names_the_endpoint(s3_env: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_ports(1)[0]}"
    apply_env(monkeypatch, {**s3_env, "PAPERFLOW_S3_ENDPOINT_URL": endpoint})
    with pytest.raises(StorageError, match=endpoint) as error:
        get_storage().put(paper_key(SHA, "original.pdf"), b"%PDF")
    assert not isinstance(error.value, PermanentError)
    assert "Is the store up?" in str(error.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: a store that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_slow_store_times_out_as_transient(s3_env: dict[str, str], silent_server: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    apply_env(monkeypatch, {**s3_env, "PAPERFLOW_S3_ENDPOINT_URL": silent_server,
                            "PAPERFLOW_S3_READ_TIMEOUT_SECONDS": "1",
                            "PAPERFLOW_S3_MAX_ATTEMPTS": "1"})
    started = time.monotonic()
    with pytest.raises(StorageError, match=silent_server) as error:
        get_storage().put(paper_key(SHA, "original.pdf"), b"%PDF")
    assert not isinstance(error.value, PermanentError)
    assert time.monotonic() - started < 10


def test_get_storage_picks_s3_only_with_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(get_storage(reload_settings()), LocalStorage)
    monkeypatch.setenv("PAPERFLOW_S3_BUCKET", "")
    assert isinstance(get_storage(reload_settings()), LocalStorage)
    monkeypatch.delenv("PAPERFLOW_S3_BUCKET")
    monkeypatch.setenv("CLOUDFLARE_BUCKET_NAME", "from-r2")
    monkeypatch.setenv("PAPERFLOW_S3_ENDPOINT_URL", "https://acct.r2.cloudflarestorage.com")
    assert reload_settings().s3_bucket == "from-r2"
    monkeypatch.setenv("S3_BUCKET_NAME", "from-the-old-service")
    settings = reload_settings()
    assert settings.s3_bucket == "from-the-old-service"
    storage = get_storage(settings)
    assert isinstance(storage, S3Storage) and storage is s3_storage(settings)
    monkeypatch.undo()
    reload_settings()


def test_parse_s3_uri() -> None:
    assert parse_s3_uri("s3://bucket/a/b.pdf") == ("bucket", "a/b.pdf")
    for bad in ("s3://bucket", "s3:///key", "https://bucket/key"):
        with pytest.raises(ValueError, match="s3://bucket/key"):
            parse_s3_uri(bad)


def test_s3_sources(s3_env: dict[str, str], seaweedfs: SeaweedFS,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = make_paper(nonce="s3-source")
    prefix = s3_env["PAPERFLOW_S3_PREFIX"]
    client = seaweedfs.client()
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/in/paper one.pdf", Body=pdf)
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/in/page.pdf", Body=b"<html></html>")
    settings = reload_settings()
    resolved = resolve_source(f"s3://{BUCKET}/{prefix}/in/paper one.pdf", settings)
    assert resolved.data == pdf and resolved.kind == "s3" and resolved.name == "paper-one"
    with pytest.raises(SourceNotFoundError, match="not found"):
        resolve_source(f"s3://{BUCKET}/{prefix}/in/missing.pdf", settings)
    with pytest.raises(SourceNotFoundError, match="no such bucket"):
        resolve_source("s3://no-such-bucket/a.pdf", settings)
    with pytest.raises(InvalidPdfError):
        resolve_source(f"s3://{BUCKET}/{prefix}/in/page.pdf", settings)
    with pytest.raises(InvalidSourceError, match="limit"):
        resolve_source(f"s3://{BUCKET}/{prefix}/in/paper one.pdf",
                       settings.model_copy(update={"max_pdf_bytes": 100}))
    wrong = apply_env(monkeypatch, {**s3_env, "AWS_SECRET_ACCESS_KEY": "wrong"})
    with pytest.raises(InvalidSourceError, match="refused"):
        resolve_source(f"s3://{BUCKET}/{prefix}/in/paper one.pdf", wrong)
    down = apply_env(monkeypatch, {**s3_env, "PAPERFLOW_S3_ENDPOINT_URL":
                                   f"http://127.0.0.1:{free_ports(1)[0]}"})
    with pytest.raises(SourceError) as error:
        resolve_source(f"s3://{BUCKET}/{prefix}/in/paper one.pdf", down)
    assert not isinstance(error.value, PermanentError)


def test_s3_source_needs_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME",
                 "PAPERFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ACCESS_KEY_ID", "PAPERFLOW_AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidSourceError, match="PAPERFLOW_S3_BUCKET"):
        resolve_source("s3://bucket/key.pdf", Settings())

"""Turn a source (bytes, local path, http(s) URL, s3:// URI, arXiv id) into PDF bytes.

Permanent problems (a missing file, HTTP 404, an HTML page instead of a PDF) raise
`PermanentError` subclasses so the orchestration layer does not retry them; transient ones
(HTTP 5xx, 429, timeouts, connection errors) raise plain `SourceError`.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

import httpx

from paperflow.errors import InvalidSourceError, SourceError, SourceNotFoundError
from paperflow.identifiers import ARXIV_ID, ARXIV_URL
from paperflow.pdf import validate_pdf_bytes
from paperflow.settings import Settings, get_settings
from paperflow.urls import (
    NonPublicAddressError,
    NonPublicSchemeError,
    non_public_address,
    public_client,
)

SourceKind = Literal["bytes", "path", "url", "arxiv", "s3"]



@dataclass
class ResolvedSource:
    """PDF bytes and where they came from."""

    data: bytes
    source: str
    kind: SourceKind
    name: str
    arxiv_id: str | None = None


def classify(source: str) -> SourceKind:
    """What kind of source a string names (no I/O)."""
    text = source.strip()
    if not text:
        raise InvalidSourceError("The source is empty: give a path, URL, s3:// URI or arXiv id.")
    if text.startswith("s3://"):
        return "s3"
    if ARXIV_URL.match(text) or ARXIV_ID.match(text):
        return "arxiv"
    scheme = urlparse(text).scheme.lower()
    if scheme in {"http", "https"}:
        return "url"
    if scheme == "file":
        return "path"
    if scheme and len(scheme) > 1:
        raise InvalidSourceError(
            f"Unsupported source scheme {scheme!r} in {text!r}: use a local path, http(s)://, "
            "s3:// or an arXiv id such as 2304.02623."
        )
    return "path"


def arxiv_id_of(source: str) -> str | None:
    text = source.strip()
    match = ARXIV_URL.match(text) or ARXIV_ID.match(text)
    return match.group("id") if match else None


def arxiv_pdf_url(arxiv_id: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/pdf/{arxiv_id}"


def resolve_source(source: str | bytes | Path, settings: Settings | None = None) -> ResolvedSource:
    """Fetch the PDF bytes a source names, and check they are a PDF."""
    settings = settings or get_settings()
    if isinstance(source, bytes | bytearray):
        resolved = ResolvedSource(bytes(source), "<bytes>", "bytes", "paper")
    else:
        text = str(source)
        kind = classify(text)
        if kind == "path":
            resolved = _read_path(text, settings)
        elif kind == "url":
            resolved = ResolvedSource(_download(text, settings, public_only=True), text, "url",
                                      _url_name(text))
        elif kind == "arxiv":
            arxiv_id = arxiv_id_of(text)
            assert arxiv_id is not None
            url = arxiv_pdf_url(arxiv_id, settings.arxiv_base_url)
            data = _download(url, settings, what=f"arXiv paper {arxiv_id}")
            resolved = ResolvedSource(data, text, "arxiv", arxiv_id.replace("/", "_"), arxiv_id)
        else:
            resolved = ResolvedSource(_read_s3(text, settings), text, "s3", _url_name(text))
    validate_pdf_bytes(resolved.data)
    return resolved


def _read_path(text: str, settings: Settings) -> ResolvedSource:
    path = Path(urlparse(text).path if text.startswith("file://") else text).expanduser()
    if not path.exists():
        raise SourceNotFoundError(f"No such file: {path}.")
    if not path.is_file():
        raise InvalidSourceError(f"{path} is not a file (a folder? use bulk processing).")
    size = path.stat().st_size
    if size > settings.max_pdf_bytes:
        raise InvalidSourceError(
            f"{path} is {size} bytes, over the {settings.max_pdf_bytes}-byte limit "
            "(PAPERFLOW_MAX_PDF_BYTES)."
        )
    return ResolvedSource(path.read_bytes(), str(path), "path", path.stem)


def _read_s3(uri: str, settings: Settings) -> bytes:
    """GET an `s3://bucket/key` object with the configured credentials and endpoint."""
    from botocore.exceptions import BotoCoreError, ClientError

    from paperflow.storage.s3 import classify_error, endpoint_label, parse_s3_uri, s3_client

    try:
        bucket, key = parse_s3_uri(uri)
    except ValueError as exc:
        raise InvalidSourceError(str(exc)) from exc
    if not (settings.s3_bucket or settings.s3_endpoint_url or settings.aws_access_key_id):
        raise InvalidSourceError(
            f"{uri!r} is an S3 URI, but no S3 storage is configured: set PAPERFLOW_S3_BUCKET "
            "(and credentials) or download the file first."
        )
    where = endpoint_label(settings)
    try:
        response = s3_client(settings).get_object(Bucket=bucket, Key=key)
        size = int(response.get("ContentLength") or 0)
        if size > settings.max_pdf_bytes:
            response["Body"].close()
            raise InvalidSourceError(
                f"{uri} is {size} bytes, over the {settings.max_pdf_bytes}-byte limit "
                "(PAPERFLOW_MAX_PDF_BYTES)."
            )
        return bytes(response["Body"].read())
    except (BotoCoreError, ClientError) as exc:
        kind = classify_error(exc)
        if kind in ("missing_key", "missing_bucket"):
            missing = "bucket" if kind == "missing_bucket" else "object"
            raise SourceNotFoundError(f"{uri} was not found at {where} (no such {missing}).") \
                from exc
        if kind == "denied":
            raise InvalidSourceError(
                f"{where} refused reading {uri}: {exc}. Check AWS_ACCESS_KEY_ID / "
                "AWS_SECRET_ACCESS_KEY and the object's permissions."
            ) from exc
        if kind == "rejected":
            raise InvalidSourceError(f"{where} rejected reading {uri}: {exc}.") from exc
        raise SourceError(f"Could not read {uri} from {where}: {exc}. Try again later.") from exc


def _url_name(url: str) -> str:
    stem = Path(urlparse(url).path).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "paper"


MAX_REDIRECTS = 10


def _refuse_private(url: str, address: str) -> InvalidSourceError:
    return InvalidSourceError(
        f"{url} resolves to the non-public address {address}: paper URLs must be public. "
        "Set PAPERFLOW_ALLOW_PRIVATE_URLS=true to fetch from private or loopback hosts."
    )


def _open_following_redirects(client: httpx.Client, url: str) -> httpx.Response:
    """GET `url` as a stream, following redirects one by one without reading their bodies.

    Each hop goes through the client's transport, so with `PublicOnlyTransport` every
    redirect target is resolved, checked and connected to by the checked address.
    """
    request = client.build_request("GET", url)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except (httpx.UnsupportedProtocol, NonPublicSchemeError) as exc:
            raise InvalidSourceError(
                f"{url} redirects to a URL that is not http(s) ({exc}): only http(s) is fetched."
            ) from exc
        except NonPublicAddressError as exc:
            raise _refuse_private(str(request.url), exc.address) from exc
        if response.next_request is None:
            return response
        response.close()
        request = response.next_request
    raise InvalidSourceError(f"{url} redirects more than {MAX_REDIRECTS} times: giving up.")


def _download(url: str, settings: Settings, what: str | None = None,
              public_only: bool = False) -> bytes:
    """GET a URL with a size cap; map HTTP failures to permanent or transient errors.

    With `public_only` (user-given URLs) and private URLs not allowed, every connection,
    redirects included, goes only to public addresses that were checked (no DNS rebinding).
    """
    label = what or url
    headers = {"User-Agent": "paperflow/0.1 (+https://github.com/paperflow)",
               "Accept": "application/pdf"}
    guarded = public_only and not settings.allow_private_urls
    if guarded:
        # Fail fast with a clear message; the transport checks again at every connection.
        try:
            address = non_public_address(url)
        except socket.gaierror as exc:
            raise SourceError(f"The host of {url} does not resolve: {exc}.") from exc
        if address is not None:
            raise _refuse_private(url, address)
    try:
        with public_client(allow_private=not guarded, timeout=settings.http_timeout_seconds,
                           headers=headers) as client:
            response = _open_following_redirects(client, url)
            try:
                return _read_capped(response, url, label, settings.max_pdf_bytes)
            finally:
                response.close()
    except httpx.TimeoutException as exc:
        raise SourceError(f"Timed out fetching {url} after {settings.http_timeout_seconds} s.") \
            from exc
    except httpx.HTTPError as exc:
        raise SourceError(f"Could not fetch {url}: {exc}.") from exc


def _read_capped(response: httpx.Response, url: str, label: str, cap: int) -> bytes:
    """The body of a streamed response; stops reading (and fails) once it passes `cap` bytes."""
    status = response.status_code
    if status in (404, 410):
        raise SourceNotFoundError(f"{label} was not found (HTTP {status} from {url}).")
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        hint = f"; server asks to retry after {retry_after} s" if retry_after else ""
        raise SourceError(f"{url} answered HTTP {status}{hint}: try again later.")
    if status >= 300:
        raise InvalidSourceError(f"{url} answered HTTP {status}: check the URL and access.")
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > cap:
        raise InvalidSourceError(f"{url} is {declared} bytes, over the {cap}-byte limit "
                                 "(PAPERFLOW_MAX_PDF_BYTES).")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > cap:
            raise InvalidSourceError(
                f"{url} sent more than {cap} bytes (PAPERFLOW_MAX_PDF_BYTES); stopped reading."
            )
        chunks.append(chunk)
    return b"".join(chunks)

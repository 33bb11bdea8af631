"""Webhooks: a signed JSON POST when a paper finishes or fails, and the receiver's check.

Signature: `X-Paperflow-Signature: sha256=<hex>` where hex is HMAC-SHA256 with the shared
secret over `<X-Paperflow-Timestamp> + "." + <raw body>`. Receivers recompute it with
`verify_signature` and reject old timestamps, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import httpx

from paperflow.errors import PaperflowError, PermanentError
from paperflow.models import PaperMetadataExtraction
from paperflow.urls import NonPublicAddressError, non_public_address, public_client

SIGNATURE_HEADER = "X-Paperflow-Signature"
TIMESTAMP_HEADER = "X-Paperflow-Timestamp"
EVENT_HEADER = "X-Paperflow-Event"
DELIVERY_HEADER = "X-Paperflow-Delivery"

Status = Literal["completed", "failed"]


class WebhookError(PaperflowError):
    """A delivery failed in a way that may pass on a retry (network, HTTP 5xx, 429)."""


class WebhookRefused(PermanentError):
    """The URL is not allowed, or the receiver rejected the request (HTTP 4xx)."""


def build_payload(
    status: Status,
    *,
    source: str | None,
    result: PaperMetadataExtraction | None = None,
    error: str | None = None,
    duration_seconds: float | None = None,
    flow_run_id: str | None = None,
    sha256: str | None = None,
    rerun_flow_run_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body: status, sha256, metadata, asset URIs/URLs, error, duration, re-run."""
    assets = {}
    if result is not None:
        assets = {name: {"key": a.key, "uri": a.uri, "url": a.url}
                  for name, a in result.assets.items()}
    return {
        "event": f"paper.{status}",
        "status": status,
        "source": source,
        "sha256": result.sha256 if result is not None else sha256,
        "flow_run_id": flow_run_id,
        "metadata": result.model_dump(mode="json", exclude={"timings"}) if result else None,
        "assets": assets,
        "error": error,
        "duration_seconds": round(duration_seconds, 3) if duration_seconds is not None else None,
        # Set on the `paper.failed` of a crashed run that is being re-run: not final, the re-run
        # (this flow run id) sends its own `paper.completed` or `paper.failed`.
        "rerun_flow_run_id": rerun_flow_run_id,
        "sent_at": time.time(),
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The timestamp and signature headers for `body`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest}"}


def verify_signature(body: bytes, headers: Mapping[str, str], secret: str,
                     tolerance_s: float = 300.0, now: float | None = None) -> bool:
    """True if `headers` carry a valid signature of `body` made within `tolerance_s` of now.

    By default a timestamp more than 5 minutes old (a captured request replayed later) or more
    than 5 minutes in the future is rejected, whatever the signature.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    # Plain ASCII digits of a sane length: int() of thousands of digits raises, not refuses.
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return False
    if not signature.startswith("sha256="):
        return False
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_s:  # too old (a replay) or too far in the future
        return False
    expected = sign(body, secret, int(stamp))[SIGNATURE_HEADER]
    return hmac.compare_digest(expected, signature)


def check_webhook_url(url: str, allow_private: bool = False) -> None:
    """Refuse non-http(s) URLs and, unless allowed, hosts resolving to non-public addresses."""
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise WebhookRefused(f"Webhook URL {url!r} must be an absolute http(s) URL.")
    if allow_private:
        return
    try:
        address = non_public_address(url)
    except socket.gaierror as exc:
        raise WebhookRefused(f"Webhook host {parsed.hostname!r} does not resolve: {exc}.") \
            from exc
    if address is not None:
        raise _refuse_private(url, address)


def _refuse_private(url: str, address: str) -> WebhookRefused:
    return WebhookRefused(
        f"Webhook URL {url!r} resolves to the non-public address {address}; set "
        "PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS=true to allow private and loopback receivers."
    )


@dataclass
class Delivery:
    """What one delivery attempt did."""

    delivery_id: str
    status_code: int
    seconds: float
    signed: bool


def deliver(url: str, payload: Mapping[str, Any], secret: str | None, *,
            timeout: float = 10.0, allow_private: bool = False,
            delivery_id: str | None = None) -> Delivery:
    """POST the payload once; 2xx succeeds, 4xx is permanent, anything else may be retried."""
    check_webhook_url(url, allow_private)
    body = encode_payload(payload)
    delivery_id = delivery_id or str(uuid.uuid4())
    headers = {"Content-Type": "application/json", "User-Agent": "paperflow-webhook/1",
               EVENT_HEADER: str(payload.get("event", "paper")), DELIVERY_HEADER: delivery_id}
    if secret:
        headers.update(sign(body, secret))
    start = time.perf_counter()
    try:
        # Redirects are not followed: they could lead to an address check_webhook_url refuses.
        # Unless private receivers are allowed, the connection goes only to the public address
        # the transport has just checked (a second DNS answer cannot point it elsewhere).
        with public_client(allow_private=allow_private, timeout=timeout,
                           follow_redirects=False) as client, \
                client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code
            excerpt = _read_excerpt(response) if status >= 300 else b""
    except NonPublicAddressError as exc:
        raise _refuse_private(url, exc.address) from exc
    except httpx.HTTPError as exc:
        raise WebhookError(f"Webhook POST to {url} failed: {exc}.") from exc
    if status in (408, 429) or status >= 500:
        raise WebhookError(f"Webhook receiver {url} answered HTTP {status}; will retry.")
    if status >= 300:
        text = excerpt.decode("utf-8", "replace")[:200]
        raise WebhookRefused(f"Webhook receiver {url} answered HTTP {status}: {text!r}.")
    return Delivery(delivery_id, status, time.perf_counter() - start, bool(secret))


def _read_excerpt(response: httpx.Response, limit: int = 4096) -> bytes:
    """At most `limit` bytes of a response body (a receiver cannot make us read gigabytes)."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit]

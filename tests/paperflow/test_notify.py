"""Webhook signing, verification, URL checks and one delivery to a real local receiver."""

from __future__ import annotations

import time

import pytest

from paperflow import urls
from paperflow.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookError,
    WebhookRefused,
    build_payload,
    check_webhook_url,
    deliver,
    encode_payload,
    sign,
    verify_signature,
)
from tests.webhooks import receive_webhooks

SECRET = "s3cret"


def test_signature_round_trip_and_rejections() -> None:
    body = encode_payload({"status": "completed", "sha256": "ab"})
    headers = sign(body, SECRET)
    assert headers[SIGNATURE_HEADER].startswith("sha256=")
    assert verify_signature(body, headers, SECRET)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_signature(body, lowered, SECRET), "header names are case-insensitive"
    assert not verify_signature(body + b" ", headers, SECRET), "tampered body"
    assert not verify_signature(body, headers, "other"), "wrong secret"
    assert not verify_signature(body, {}, SECRET), "unsigned"
    old = sign(body, SECRET, int(time.time()) - 3600)
    assert not verify_signature(body, old, SECRET, tolerance_s=300), "replayed an hour later"
    assert verify_signature(body, old, SECRET, tolerance_s=7200)
    moved = {**headers, TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) + 1)}
    assert not verify_signature(body, moved, SECRET), "the timestamp is signed too"


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.1.2.3/x",
                                 "http://169.254.169.254/latest", "http://[::1]/x",
                                 "http://localhost:8080/x"])
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(WebhookRefused, match="PAPERFLOW_ALLOW_PRIVATE_WEBHOOKS"):
        check_webhook_url(url)
    check_webhook_url(url, allow_private=True)


def test_bad_schemes_are_refused() -> None:
    for url in ("ftp://example.org/x", "file:///etc/passwd", "not a url"):
        with pytest.raises(WebhookRefused, match="http"):
            check_webhook_url(url, allow_private=True)


def test_delivery_to_a_verifying_receiver() -> None:
    payload = build_payload("failed", source="x.pdf", error="InvalidPdfError: empty",
                            duration_seconds=1.23456, sha256=None)
    with receive_webhooks(SECRET) as receiver:
        with pytest.raises(WebhookRefused):
            deliver(receiver.url, payload, SECRET)
        done = deliver(receiver.url, payload, SECRET, allow_private=True)
        assert done.status_code == 200 and done.signed
        assert receiver.received[0].body["status"] == "failed"
        assert receiver.received[0].body["duration_seconds"] == 1.235
        with pytest.raises(WebhookRefused, match="401"):
            deliver(receiver.url, payload, "wrong-secret", allow_private=True)
        receiver.statuses = [503]
        with pytest.raises(WebhookError, match="503"):
            deliver(receiver.url, payload, SECRET, allow_private=True)


def test_replayed_or_future_timestamps_are_rejected_by_default() -> None:
    body = encode_payload({"status": "completed"})
    now = 1_800_000_000
    assert verify_signature(body, sign(body, SECRET, now - 299), SECRET, now=now)
    assert not verify_signature(body, sign(body, SECRET, now - 301), SECRET, now=now), \
        "a request captured more than 5 minutes ago is a replay"
    assert verify_signature(body, sign(body, SECRET, now + 299), SECRET, now=now)
    assert not verify_signature(body, sign(body, SECRET, now + 301), SECRET, now=now), \
        "a timestamp far in the future would stay valid for too long"
    signed = sign(body, SECRET, now)
    for stamp in ("9" * 5000, "١٧٠٠٠٠٠٠٠٠", "-1", "", "1.5e9"):
        headers = {**signed, TIMESTAMP_HEADER: stamp}
        assert not verify_signature(body, headers, SECRET, now=now), stamp


def test_webhook_dns_rebinding_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL check sees a public address; the connection would see loopback: refused."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr(urls, "_resolver", resolver)
    payload = build_payload("completed", source="x.pdf")
    with receive_webhooks(SECRET) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        with pytest.raises(WebhookRefused, match=r"non-public address 127\.0\.0\.1"):
            deliver(f"http://hooks.example:{port}/hooks/paper", payload, SECRET)
        assert receiver.attempts == 0
    assert calls == ["hooks.example", "hooks.example"]


def test_redirects_are_not_followed() -> None:
    payload = build_payload("completed", source="x.pdf")
    with receive_webhooks(SECRET) as receiver:
        receiver.statuses = [302]
        with pytest.raises(WebhookRefused, match="HTTP 302"):
            deliver(receiver.url, payload, SECRET, allow_private=True)
        assert receiver.attempts == 1

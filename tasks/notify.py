"""The webhook task: retried with backoff; a delivery that never succeeds is recorded, not lost."""

from __future__ import annotations

import uuid
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger
from prefect.tasks import exponential_backoff

from paperflow.notify import deliver
from paperflow.report import artifact_key
from paperflow.settings import get_settings
from tasks.policy import retry_unless_permanent
from tasks.secrets import read_secret

SECRET_BLOCK = "paperflow-webhook-secret"
FAILED_WEBHOOK_RUN_NAME = "webhook paper.failed"
"""The name of every `paper.failed` delivery's task run (`flows.hooks` looks for it)."""
REPORTS_TAG_PREFIX = "webhook-for:"
"""Tag of a delivery's task run naming the flow run the payload reports on: the crash follow-up
sends a crashed run's webhook from its own run, and `flows.hooks` must still find it."""


def reports_tag(flow_run_id: str) -> str:
    """The tag of deliveries that report on `flow_run_id`."""
    return f"{REPORTS_TAG_PREFIX}{flow_run_id}"


def webhook_secret() -> str | None:
    """`PAPERFLOW_WEBHOOK_SECRET`, else the `paperflow-webhook-secret` Secret block, else None."""
    configured = get_settings().webhook_secret
    if configured:
        return configured
    return read_secret(SECRET_BLOCK)


# No `timeout_seconds` here: this task runs inline in the flow's own thread, and a task time
# limit there (a nested cancel scope) would catch the flow's time-limit signal as its own timeout
# and retry it. The flow's limit (process-paper) or the paper's limit (bulk/ingest runs) bounds it.
@task(retry_condition_fn=retry_unless_permanent, task_run_name="webhook {payload[event]}")
def send_webhook(url: str, payload: dict[str, Any], delivery_id: str) -> int:
    """POST the signed payload; the HTTP status on success."""
    settings = get_settings()
    secret = webhook_secret()
    if not secret:
        get_run_logger().warning("No webhook secret configured (PAPERFLOW_WEBHOOK_SECRET or the "
                                 "%r Secret block): sending the webhook unsigned.", SECRET_BLOCK)
    delivery = deliver(url, payload, secret, timeout=settings.webhook_timeout_seconds,
                       allow_private=settings.allow_private_webhooks, delivery_id=delivery_id)
    return delivery.status_code


def notify(url: str, payload: dict[str, Any]) -> bool:
    """Deliver with retries; on final failure log it and leave an artifact with the payload."""
    settings = get_settings()
    delivery_id = str(uuid.uuid4())
    reported = payload.get("flow_run_id")
    retried = send_webhook.with_options(
        retries=settings.webhook_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.webhook_backoff_seconds),
        retry_jitter_factor=0.2, tags={reports_tag(str(reported))} if reported else None)
    state = retried(url, payload, delivery_id, return_state=True)
    if state.is_completed():
        return True
    try:
        state.result()
        reason = state.message or "unknown"
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    _logger().error("Webhook to %s failed for good (%s); the result is kept on this run.",
                    url, reason)
    stem = (payload.get("sha256") or delivery_id)[:12]
    create_markdown_artifact(
        f"# Webhook not delivered\n\n- URL: `{url}`\n- event: `{payload.get('event')}`\n"
        f"- delivery: `{delivery_id}`\n- reason: {reason}\n\nThe run's result and stored assets "
        "are unaffected; re-send by re-running the deployment or reading the stored metadata.",
        key=artifact_key("webhook-failed", stem), description="Webhook delivery failed")
    return False


def _logger() -> Any:
    """The run's logger; a plain one when called outside a run (a crash hook in the worker)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("paperflow.notify")

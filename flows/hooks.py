"""Flow state hooks: a `process-paper` run that crashes, is cancelled or times out still reports.

The flow body (`process_one`) sends the signed `paper.failed` webhook itself when extraction
raises. It cannot when the run never gets back to its `except` clause: the process is killed
(Crashed), the run is cancelled (Cancelling), or the flow's time limit interrupts it
(TimedOut, a `BaseException` inside the body). `report_failure` covers those cases, reading
`webhook_url` and `source` from the run's parameters.

No double sending: every delivery is a task run named `webhook paper.failed` on the flow run
(`tasks.notify.send_webhook`), so the hook first asks the Prefect server whether the current
attempt of this run already has one (sent by the body, or by an earlier call of the hook) and
sends only if not.

`permanent_errors_not_retried` keeps flow-level `retries` for what may pass on a second try:
Prefect retries a flow run on any exception, so on a `PermanentError` (a bad PDF, a 404) the
run's retry budget is spent first and the run fails at once, with one webhook.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.context import FlowRunContext
from prefect.logging import get_logger
from prefect.states import State

from paperflow.errors import PermanentError
from paperflow.notify import build_payload
from tasks.notify import FAILED_WEBHOOK_RUN_NAME, notify

P = ParamSpec("P")
R = TypeVar("R")

logger = get_logger("paperflow.hooks")


def failure_reason(flow: Any, state: State[Any]) -> str:
    """What went wrong, for the webhook's `error`: the state's name and message."""
    message = state.message or "no message"
    if state.name == "TimedOut" and getattr(flow, "timeout_seconds", None):
        return f"timed out after {flow.timeout_seconds:g} s ({state.name}: {message})"
    return f"{state.name}: {message}"


def attempt_started(flow_run: FlowRun) -> datetime | None:
    """When the current attempt of the run entered Running (None if it never did)."""
    with get_client(sync_client=True) as client:
        states = client.read_flow_run_states(flow_run.id)
    running = [s.timestamp for s in states if s.type == StateType.RUNNING and s.timestamp]
    return max(running) if running else None


def failure_already_sent(flow_run: FlowRun) -> bool:
    """Whether this attempt of the run has a `webhook paper.failed` task run already."""
    since = attempt_started(flow_run)
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[FAILED_WEBHOOK_RUN_NAME])))
    return any(since is None or (run.created or run.expected_start_time or since) >= since
               for run in runs)


def report_failure(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Send the run's signed `paper.failed` webhook unless this attempt already sent one."""
    parameters = flow_run.parameters or {}
    webhook_url = parameters.get("webhook_url")
    if not webhook_url:
        return
    if failure_already_sent(flow_run):
        logger.info("Flow run %s ended %s; its failure webhook was already sent.", flow_run.id,
                    state.name)
        return
    source = parameters.get("source")
    started = flow_run.start_time.timestamp() if flow_run.start_time else None
    payload = build_payload(
        "failed", source=source if isinstance(source, str) else "<bytes>",
        error=failure_reason(flow, state),
        duration_seconds=time.time() - started if started else None,
        flow_run_id=str(flow_run.id))
    logger.info("Flow run %s ended %s: sending its failure webhook.", flow_run.id, state.name)
    notify(str(webhook_url), payload)


def permanent_errors_not_retried(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a flow function so a `PermanentError` fails the run without flow-level retries."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except PermanentError:
            spend_retries()
            raise

    # Annotations resolved here, in the flow's module: Prefect validates parameters against
    # the signature, and would otherwise look the names up in this module.
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return run


def spend_retries() -> None:
    """Set the current flow run's retries to none left, so its Failed state is final."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(context.flow_run.id)
        policy = current.empirical_policy.model_copy(update={"retries": 0})
        client.update_flow_run(current.id, empirical_policy=policy)

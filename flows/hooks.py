"""Flow state hooks: a `process-paper` run that crashes, is cancelled or times out still reports.

The flow body (`process_one`) sends the signed `paper.failed` webhook itself when extraction
raises. It cannot when the run never gets back to its `except` clause: the process is killed
(Crashed), the run is cancelled (Cancelling), or the flow's time limit interrupts it
(TimedOut, a `BaseException` inside the body). `report_failure` covers those cases, reading
`webhook_url` and `source` from the run's parameters.

No double sending: every delivery is a task run named `webhook paper.failed` tagged with the
flow run it reports on (`tasks.notify.send_webhook`), so the hook first asks the Prefect server
whether the current attempt of this run already has one (sent by the body, by an earlier call of
the hook, or by the crash follow-up from its own run) and sends only if not.

A crashed `process-paper` deployment run on a stack with the crash follow-up automation
(`paperflow up` creates it) is left to that follow-up (`flows/crash_followup.py`): it sends the
one webhook, saying whether the paper is being re-run. The hook cannot know that, and it does
not run at all when the worker died with the run.

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
    TaskRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.context import FlowRunContext
from prefect.logging import get_logger
from prefect.states import State

from deployments.stack import CRASH_AUTOMATION, PROCESS_PAPER
from paperflow.errors import PermanentError
from paperflow.notify import build_payload
from paperflow.settings import Settings
from tasks.notify import FAILED_WEBHOOK_RUN_NAME, notify, reports_tag

P = ParamSpec("P")
R = TypeVar("R")

logger = get_logger("paperflow.hooks")


def flow_retries(settings: Settings) -> dict[str, Any]:
    """A flow's retries as the settings give them."""
    return {"retries": settings.flow_retries,
            "retry_delay_seconds": settings.flow_retry_delay_seconds}


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
    """Whether this attempt of the run has a `webhook paper.failed` delivery already: a task run
    of the run itself, or one elsewhere (the crash follow-up's) tagged as reporting on it."""
    since = attempt_started(flow_run)
    named = TaskRunFilterName(any_=[FAILED_WEBHOOK_RUN_NAME])
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])),
            task_run_filter=TaskRunFilter(name=named))
        runs += client.read_task_runs(task_run_filter=TaskRunFilter(
            name=named, tags=TaskRunFilterTags(all_=[reports_tag(str(flow_run.id))])))
    return any(since is None or (run.created or run.expected_start_time or since) >= since
               for run in runs)


def crash_followup_covers(flow_run: FlowRun) -> bool:
    """Whether the crash follow-up reports this run if it crashes: a run of the process-paper
    deployment on a server where the crash automation is enabled."""
    if flow_run.deployment_id is None:
        return False
    try:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment(flow_run.deployment_id)
            automations = client.read_automations_by_name(CRASH_AUTOMATION)
    except Exception as exc:  # unsure: report here, the follow-up will not send it twice
        logger.warning("Could not tell whether the crash follow-up covers flow run %s (%s); "
                       "reporting the crash from the hook.", flow_run.id, exc)
        return False
    return deployment.name == PROCESS_PAPER and any(
        automation.enabled for automation in automations)


def failure_payload(flow_run: FlowRun, error: str,
                    rerun_flow_run_id: str | None = None) -> dict[str, Any]:
    """The `paper.failed` body for a run, from its parameters and start time."""
    source = (flow_run.parameters or {}).get("source")
    started = flow_run.start_time.timestamp() if flow_run.start_time else None
    ended = flow_run.end_time.timestamp() if flow_run.end_time else time.time()
    return build_payload(
        "failed", source=source if isinstance(source, str) else "<bytes>", error=error,
        duration_seconds=ended - started if started else None, flow_run_id=str(flow_run.id),
        rerun_flow_run_id=rerun_flow_run_id)


def send_failure(flow_run: FlowRun, error: str, rerun_flow_run_id: str | None = None) -> bool:
    """Send the run's signed `paper.failed` webhook unless it has no `webhook_url` or this
    attempt already sent one; whether it was sent now."""
    webhook_url = (flow_run.parameters or {}).get("webhook_url")
    if not webhook_url:
        return False
    if failure_already_sent(flow_run):
        logger.info("Flow run %s: its failure webhook was already sent.", flow_run.id)
        return False
    notify(str(webhook_url), failure_payload(flow_run, error, rerun_flow_run_id))
    return True


def report_failure(flow: Any, flow_run: FlowRun, state: State[Any]) -> None:
    """Send the run's signed `paper.failed` webhook unless this attempt already sent one (or a
    crash is the crash follow-up's to report)."""
    if not (flow_run.parameters or {}).get("webhook_url"):
        return
    if state.is_crashed() and crash_followup_covers(flow_run):
        logger.info("Flow run %s crashed; the crash follow-up reports it (and re-runs it).",
                    flow_run.id)
        return
    logger.info("Flow run %s ended %s: sending its failure webhook unless already sent.",
                flow_run.id, state.name)
    send_failure(flow_run, failure_reason(flow, state))


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

"""Crashed `process-paper` runs: their `paper.failed` webhook, and a bounded re-run.

A run whose process was killed (SIGKILL, the OOM killer, a worker or machine that died) ends
Crashed: the worker marks it so when the process exits, the zombie automation when its
heartbeats stop. Its own `on_crashed` hook may not run at all (the worker died too), and Prefect
never retries a Crashed run. The automation `paperflow up` creates
(`deployments.stack.CRASH_AUTOMATION`) runs this flow's deployment for every Crashed run of the
`process-paper` deployment, with the crashed run's id. This flow then:

- re-runs it: a new run of the same deployment with the same parameters, tagged
  `rerun-of:<first run id>`, `replaces:<crashed run id>` and `attempt:<n>` (the first run is
  attempt 1), at most `PAPERFLOW_CRASH_RERUNS` (2) times per submitted paper, so a paper that
  kills its worker every time stops after 1 + 2 runs. Finished groups are cache hits on the
  re-run (results are persisted and keyed on the paper's content);
- sends the crashed run's signed `paper.failed` webhook (`flows.hooks.send_failure`: same payload
  as the hook's, never twice), its `error` naming the crash and saying whether the paper is
  re-run, and `rerun_flow_run_id` set to the re-run's id (null when this failure is final).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect import flow, get_client, get_run_logger
from prefect.client.schemas.objects import FlowRun, StateType

from deployments.stack import PROCESS_PAPER_DEPLOYMENT
from flows import hooks
from paperflow import __version__
from paperflow.settings import get_settings

RERUN_OF = "rerun-of:"
REPLACES = "replaces:"
ATTEMPT = "attempt:"
LINEAGE_TAGS = (RERUN_OF, REPLACES, ATTEMPT)
RESOURCE_PREFIX = "prefect.flow-run."


@dataclass(frozen=True)
class Lineage:
    """Which submission a run belongs to (its first run) and which attempt at it the run is."""

    original: str
    attempt: int


@dataclass
class Outcome:
    """What the follow-up did about one crashed run."""

    action: str
    """"re-run", "final" (budget spent, or the re-run could not start) or "ignored"."""
    reason: str
    rerun_flow_run_id: str | None = None
    webhook_sent: bool = False
    tags: list[str] = field(default_factory=list)


def parse_run_id(value: str) -> UUID:
    """A flow run id, given bare or as its event resource id (`prefect.flow-run.<id>`)."""
    text = value.strip().removeprefix(RESOURCE_PREFIX)
    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"flow_run_id {value!r} is not a flow run id: pass the crashed run's "
                         "UUID (the automation passes the event's resource id).") from None


def lineage(run_id: str, tags: Iterable[str]) -> Lineage:
    """The run's lineage from its tags; a run without them is the first attempt."""
    original, attempt = run_id, 1
    for tag in tags:
        if tag.startswith(RERUN_OF):
            original = tag.removeprefix(RERUN_OF)
        elif tag.startswith(ATTEMPT) and tag.removeprefix(ATTEMPT).isdigit():
            attempt = max(attempt, int(tag.removeprefix(ATTEMPT)))
    return Lineage(original, attempt)


def reruns_left(line: Lineage, budget: int) -> int:
    """Re-runs still allowed for the submission (the first run is not a re-run)."""
    return max(0, budget - (line.attempt - 1))


def rerun_tags(run_id: str, tags: Iterable[str], line: Lineage) -> list[str]:
    """The re-run's tags: the crashed run's own (its lineage tags replaced) plus the new lineage."""
    kept = [tag for tag in tags if not tag.startswith(LINEAGE_TAGS)]
    return [*kept, f"{RERUN_OF}{line.original}", f"{REPLACES}{run_id}",
            f"{ATTEMPT}{line.attempt + 1}"]


def crash_message(run: FlowRun) -> str:
    """The crash as the hook would name it: "Crashed: <state message>"."""
    state = run.state
    name = state.name if state is not None else "Crashed"
    message = (state.message if state is not None else None) or "no message"
    return f"{name}: {message}"


def rerun_reason(run: FlowRun, rerun_id: str, line: Lineage, budget: int) -> str:
    """The webhook's `error` when the crashed run is re-run."""
    return (f"{crash_message(run)}; re-running it as flow run {rerun_id} (re-run "
            f"{line.attempt} of at most {budget})")


def final_reason(run: FlowRun, line: Lineage, budget: int) -> str:
    """The webhook's `error` when the re-run budget is spent: this failure is final."""
    if budget == 0:
        why = "crashed runs are not re-run (PAPERFLOW_CRASH_RERUNS=0)"
    else:
        why = (f"{line.attempt} runs of this paper crashed (the first, {line.original}, and "
               f"{line.attempt - 1} re-run(s); PAPERFLOW_CRASH_RERUNS={budget})")
    return f"{crash_message(run)}; not re-run: {why}. This failure is final."


def follow_up(run: FlowRun, process_paper_id: UUID | None, budget: int,
              start_rerun: Callable[[FlowRun, list[str]], str],
              send: Callable[[FlowRun, str, str | None], bool]) -> Outcome:
    """Decide about one crashed run and act: `start_rerun(run, tags)` returns the new run's id,
    `send(run, error, rerun_id)` the failure webhook (whether it was sent now)."""
    state_type = run.state.type if run.state is not None else None
    if state_type != StateType.CRASHED:
        return Outcome("ignored", f"flow run {run.id} is {state_type}, not Crashed")
    if process_paper_id is None or run.deployment_id != process_paper_id:
        return Outcome("ignored", f"flow run {run.id} is not a run of the "
                                  f"{PROCESS_PAPER_DEPLOYMENT} deployment")
    line = lineage(str(run.id), run.tags or [])
    if not reruns_left(line, budget):
        reason = final_reason(run, line, budget)
        return Outcome("final", reason, webhook_sent=send(run, reason, None))
    tags = rerun_tags(str(run.id), run.tags or [], line)
    try:
        rerun_id = start_rerun(run, tags)
    except Exception as exc:  # still report the crash, as final: nothing else will
        reason = (f"{crash_message(run)}; a re-run could not be started "
                  f"({type(exc).__name__}: {exc}). This failure is final: submit the paper "
                  "again.")
        return Outcome("final", reason, webhook_sent=send(run, reason, None))
    reason = rerun_reason(run, rerun_id, line, budget)
    return Outcome("re-run", reason, rerun_id, send(run, reason, rerun_id), tags)


def start_rerun(run: FlowRun, tags: list[str]) -> str:
    """A new run of the crashed run's deployment with its parameters and `tags`; its id.

    Keyed on the crashed run, so a second follow-up of the same crash gets the same re-run back.
    """
    assert run.deployment_id is not None
    with get_client(sync_client=True) as client:
        rerun = client.create_flow_run_from_deployment(
            run.deployment_id, parameters=dict(run.parameters or {}), tags=tags,
            idempotency_key=f"crash-rerun:{run.id}", job_variables=run.job_variables or None)
    return str(rerun.id)


def process_paper_deployment_id() -> UUID | None:
    """The id of the process-paper deployment (None if the server has none)."""
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(PROCESS_PAPER_DEPLOYMENT).id
        except ObjectNotFound:
            return None


@flow(name="crash-followup", version=__version__, persist_result=False,
      flow_run_name="crash follow-up of {flow_run_id}")
def crash_followup(flow_run_id: str) -> dict[str, Any]:
    """Send a crashed process-paper run's failure webhook and re-run it, within the budget."""
    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(parse_run_id(flow_run_id))
    outcome = follow_up(run, process_paper_deployment_id(), get_settings().crash_reruns,
                        start_rerun, hooks.send_failure)
    logger.info("Flow run %s (%s): %s; %s; webhook %s.", run.id, run.name, outcome.action,
                outcome.reason, "sent" if outcome.webhook_sent else "not sent (none asked for, "
                "or already sent)")
    return {"flow_run_id": str(run.id), "action": outcome.action, "reason": outcome.reason,
            "rerun_flow_run_id": outcome.rerun_flow_run_id,
            "webhook_sent": outcome.webhook_sent}

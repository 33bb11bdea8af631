"""Job management over the Prefect API: what the old Celery jobs service answered.

`paperflow status | runs | cancel | stats | health | submit` (`cli/main.py`) call these
functions; each returns a plain, JSON-ready document with stable keys, and `*_text` renders it
for a person. Prefect is imported inside the functions; they talk to the API URL in force in
Prefect's settings context, where the CLI puts the one `use_api` finds (never `os.environ`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx

from deployments.stack import POOL

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun, TaskRun

DEFAULT_DEPLOYMENT = "process-paper/process-paper"
FINAL_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
FAILED_TYPES = ("FAILED", "CRASHED")
STATE_TYPES = ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED",
               "CRASHED", "PAUSED", "CANCELLING")
PAGE = 200
MAX_RUNS = 5000
MAX_TASK_RUNS = 20000
WORKER_FRESH_SECONDS = 90.0
"""A worker whose last heartbeat is older than this (or 3 of its intervals) is not polling."""
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class JobsError(Exception):
    """A job command could not do its work; the message says what happened and what to do."""


class RunNotFound(JobsError):
    """No flow run has that id."""


class ServerUnavailable(JobsError):
    """No Prefect server answers at the API URL."""


# --- the server ----------------------------------------------------------------------------


def _stack_api_url() -> str | None:
    """The API URL `paperflow up` recorded in the default stack's stack.json, if any."""
    with contextlib.suppress(Exception):
        from deployments.stack import default_stack

        state = json.loads((default_stack().root / "stack.json").read_text())
        return str(state["api_url"])
    return None


def use_api() -> str:
    """The API URL the job commands talk to (the caller puts it in Prefect's settings context).

    PREFECT_API_URL when set; else the server `paperflow up` started, when it answers. Raises
    `ServerUnavailable` when there is neither (the embedded server has no worker to run jobs).
    """
    url = os.environ.get("PREFECT_API_URL", "").strip()
    if not url:
        stack_url = _stack_api_url()
        if stack_url and server_version(stack_url, timeout=3.0, quiet=True):
            return stack_url
        raise ServerUnavailable(
            "PREFECT_API_URL is not set and no stack started by `paperflow up` answers: start "
            "one with `paperflow up`, or set PREFECT_API_URL (e.g. "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api).")
    return url.rstrip("/")


def api_in_force() -> str:
    """The API URL Prefect's settings hold in this context (the CLI puts `use_api`'s there)."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


def _auth_headers() -> dict[str, str]:
    """The headers a protected server wants (PREFECT_API_KEY or PREFECT_API_AUTH_STRING)."""
    import base64

    if key := os.environ.get("PREFECT_API_KEY"):
        return {"Authorization": f"Bearer {key}"}
    if auth := os.environ.get("PREFECT_API_AUTH_STRING"):
        return {"Authorization": f"Basic {base64.b64encode(auth.encode()).decode()}"}
    return {}


def server_version(api_url: str, timeout: float = 5.0, quiet: bool = False) -> str | None:
    """The Prefect server's version after checking /health; raises `ServerUnavailable`.

    With `quiet`, returns None instead of raising.
    """
    try:
        with httpx.Client(base_url=api_url, timeout=timeout, headers=_auth_headers()) as http:
            health = http.get("/health")
            health.raise_for_status()
            version = http.get("/admin/version")
            version.raise_for_status()
            return str(version.json())
    except (httpx.HTTPError, ValueError) as exc:
        if quiet:
            return None
        cause = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise ServerUnavailable(
            f"no Prefect server at {api_url} ({cause}): start one with `paperflow up` or set "
            "PREFECT_API_URL to a running server.") from exc


def _client() -> SyncPrefectClient:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def ui_url(api_url: str | None = None) -> str:
    """The UI's base URL: PREFECT_UI_URL, else the API URL without its /api."""
    explicit = os.environ.get("PREFECT_UI_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    api = (api_url or api_in_force()).rstrip("/")
    return api[:-4] if api.endswith("/api") else api


def run_link(run_id: uuid.UUID | str, api_url: str | None = None) -> str:
    """The UI page of a flow run."""
    return f"{ui_url(api_url)}/runs/flow-run/{run_id}"


# --- small helpers -------------------------------------------------------------------------


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`7d`, `12h`, `30m`, `2w`, `90s` ago, or an ISO date/time (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    match = _SINCE.match(text)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (7d, 12h, 30m, 2w) or an ISO date "
                         "(2025-01-31, 2025-01-31T08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _seconds(start: datetime | None, end: datetime | None, total: timedelta | None) -> float | None:
    """Wall time from start to end when both are known, else the run time Prefect counted."""
    if start and end:
        return round((end - start).total_seconds(), 3)
    return round(total.total_seconds(), 3) if total is not None else None


def _state_type(run: FlowRun | TaskRun) -> str:
    return run.state.type.value if run.state else "UNKNOWN"


def _state_name(run: FlowRun | TaskRun) -> str:
    return run.state.name if run.state else "Unknown"


def _run_uuid(run_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(run_id.strip())
    except ValueError:
        raise RunNotFound(f"{run_id!r} is not a flow run id (a UUID, as `paperflow runs` "
                          "lists them).") from None


def shorten_cause(message: str | None, width: int = 120) -> str:
    """The first line of a state message with ids and hashes masked, for grouping failures."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    text = re.sub(r"^(Flow run|Task run) encountered an exception:?\s*", "", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    text = re.sub(r"\b[0-9a-f]{16,64}\b", "<hash>", text)
    return text if len(text) <= width else text[:width - 1] + "…"


def task_name(run: TaskRun) -> str:
    """A task run's task: its key without the code hash (`parse_pdf-1a2b3c4d` -> parse_pdf).

    Run names vary per run (`parse_pdf-7a1`, `fetch <source>`); the key names the function.
    """
    if run.task_key:
        return re.sub(r"-[0-9a-f]{6,}$", "", run.task_key)
    return re.sub(r"-[0-9a-z]{1,3}$", "", run.name) if run.name else "(unnamed)"


def p95(values: list[float]) -> float | None:
    """The 95th percentile (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 3)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


# --- names of flows and deployments ---------------------------------------------------------


def _names(client: SyncPrefectClient, runs: Iterable[FlowRun]) -> tuple[dict[Any, str],
                                                                        dict[Any, str]]:
    """Flow names by flow id and `flow/deployment` names by deployment id of the runs."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowFilter,
        FlowFilterId,
    )

    runs = list(runs)
    flow_ids = list({r.flow_id for r in runs})
    deployment_ids = list({r.deployment_id for r in runs if r.deployment_id})
    flows: dict[Any, str] = {}
    for start in range(0, len(flow_ids), PAGE):
        for flow in client.read_flows(flow_filter=FlowFilter(
                id=FlowFilterId(any_=flow_ids[start:start + PAGE])), limit=PAGE):
            flows[flow.id] = flow.name
    deployments: dict[Any, str] = {}
    for start in range(0, len(deployment_ids), PAGE):
        for deployment in client.read_deployments(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=deployment_ids[start:start + PAGE])), limit=PAGE):
            deployments[deployment.id] = f"{flows.get(deployment.flow_id, '?')}/{deployment.name}"
    return flows, deployments


def _run_row(run: FlowRun, flows: dict[Any, str], deployments: dict[Any, str]) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "name": run.name,
        "flow": flows.get(run.flow_id),
        "deployment": deployments.get(run.deployment_id) if run.deployment_id else None,
        "state": _state_name(run),
        "state_type": _state_type(run),
        "message": run.state.message if run.state else None,
        "created": _iso(run.created),
        "expected_start_time": _iso(run.expected_start_time),
        "start_time": _iso(run.start_time),
        "end_time": _iso(run.end_time),
        "duration_seconds": _seconds(run.start_time, run.end_time, run.total_run_time)
        if run.start_time else None,
        "tags": list(run.tags or []),
    }


# --- status --------------------------------------------------------------------------------


def _read_run(client: SyncPrefectClient, run_id: uuid.UUID) -> FlowRun:
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_flow_run(run_id)
    except ObjectNotFound:
        raise RunNotFound(f"no flow run {run_id} on {api_in_force()}: check "
                          "the id (`paperflow runs` lists recent ones) and PREFECT_API_URL."
                          ) from None


def _task_runs(client: SyncPrefectClient, run_ids: list[Any],
               since: datetime | None = None, cap: int = MAX_TASK_RUNS) -> list[TaskRun]:
    """The task runs of these flow runs (or of every run since a time), oldest first."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )
    from prefect.client.schemas.sorting import TaskRunSort

    found: list[TaskRun] = []
    chunks: list[list[Any] | None] = [run_ids[i:i + 100] for i in range(0, len(run_ids), 100)] \
        if run_ids else [None]
    for chunk in chunks:
        offset = 0
        while len(found) < cap:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)) if chunk else None,
                task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since))
                if since else None,
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=PAGE, offset=offset)
            found += page
            offset += len(page)
            if len(page) < PAGE:
                break
    return found[:cap]


def _artifacts(client: SyncPrefectClient, run_id: uuid.UUID) -> list[Any]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    return client.read_artifacts(artifact_filter=ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])), limit=PAGE)


def _progress(artifacts: list[Any]) -> dict[str, Any] | None:
    """The run's most recently updated progress artifact: percent and what it counts."""
    progress = [a for a in artifacts if a.type == "progress"]
    if not progress:
        return None
    latest = max(progress, key=lambda a: a.updated or a.created or datetime.min.replace(tzinfo=UTC))
    try:
        percent = round(float(latest.data), 1)
    except (TypeError, ValueError):
        percent = None
    return {"percent": percent, "description": latest.description, "key": latest.key}


def summarize_result(value: Any) -> dict[str, Any] | None:
    """Title, sha256, counts of a flow's return value (a paper's metadata or a bulk summary)."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json")
    elif isinstance(value, dict):
        data = value
    else:
        return None
    counts = {k: v for k, v in data.items()
              if k in ("page_count", "total", "completed", "cached", "failed")
              and isinstance(v, int)}
    counts.update({k: len(v) for k, v in data.items()
                   if isinstance(v, list) and k not in ("timings", "summary_citations")})
    metadata = (data.get("assets") or {}).get("metadata") or {}
    return {"from": "result", "type": type(value).__name__, "title": data.get("title"),
            "sha256": data.get("sha256"), "counts": counts,
            "metadata_uri": metadata.get("uri") if isinstance(metadata, dict) else None}


def _result_from_artifacts(artifacts: list[Any]) -> dict[str, Any] | None:
    """What the run's artifacts say it extracted, when its stored result cannot be read."""
    title, counts, uri = None, {}, None
    for artifact in artifacts:
        key, description = artifact.key or "", artifact.description or ""
        if key.startswith("paper-") and description.startswith("Extraction report: "):
            title = description.removeprefix("Extraction report: ")
        elif key.startswith("references-") and (m := re.match(r"(\d+) references", description)):
            counts["references"] = int(m.group(1))
        elif key.startswith("metadata-"):
            found = re.search(r"\((\S+)\)", str(artifact.data))
            uri = found.group(1) if found else str(artifact.data)
    if title is None and not counts and uri is None:
        return None
    return {"from": "artifacts", "type": None, "title": title, "sha256": None, "counts": counts,
            "metadata_uri": uri}


def _result(run: FlowRun, artifacts: list[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The completed run's result summary, and why the stored result could not be read."""
    why = None
    if run.state is not None:
        try:
            summary = summarize_result(run.state.result(raise_on_failure=False))
            if summary is not None:
                return summary, None
        except Exception as exc:
            why = f"{type(exc).__name__}: {shorten_cause(str(exc), 200)}"
    return _result_from_artifacts(artifacts), why


def status(run_id: str) -> dict[str, Any]:
    """One flow run: state, progress, its task runs, and the result summary or the failure."""
    ident = _run_uuid(run_id)
    with contextlib.suppress(ImportError):  # the flows' result serializer, before reading states
        import tasks.results
    with _client() as client:
        run = _read_run(client, ident)
        flows, deployments = _names(client, [run])
        tasks = _task_runs(client, [run.id], cap=2000)
        artifacts = _artifacts(client, run.id)
    doc = _run_row(run, flows, deployments)
    state_type = doc["state_type"]
    doc["final"] = state_type in FINAL_TYPES
    doc["parameters"] = {k: v for k, v in (run.parameters or {}).items()
                         if isinstance(v, str | int | float | bool | None)}
    doc["progress"] = _progress(artifacts)
    doc["tasks"] = [{"name": t.name, "task": task_name(t), "state": _state_name(t),
                     "state_type": _state_type(t),
                     "duration_seconds": _seconds(t.start_time, t.end_time, t.total_run_time),
                     "start_time": _iso(t.start_time)} for t in tasks]
    doc["task_counts"] = dict(Counter(t["state"] for t in doc["tasks"]))
    doc["result"], doc["result_note"] = (_result(run, artifacts) if state_type == "COMPLETED"
                                         else (None, None))
    doc["error"] = (run.state.message or run.state.name) \
        if run.state and state_type in (*FAILED_TYPES, "CANCELLED") else None
    doc["ui_url"] = run_link(run.id)
    return doc


def status_text(doc: dict[str, Any]) -> str:
    """`status` for a person."""
    lines = [f"Run:        {doc['name']} ({doc['id']})",
             f"Deployment: {doc['deployment'] or '(none: ' + str(doc['flow']) + ')'}",
             f"State:      {doc['state']}" + (f" — {doc['message']}" if doc["message"]
                                              and doc["state_type"] != "COMPLETED" else "")]
    if doc["parameters"].get("source"):
        lines.append(f"Source:     {doc['parameters']['source']}")
    if doc["start_time"]:
        took = f", {doc['duration_seconds']:.1f} s" if doc["duration_seconds"] is not None else ""
        lines.append(f"Started:    {doc['start_time']}{took}")
    if doc["progress"]:
        lines.append(f"Progress:   {doc['progress']['percent']}% "
                     f"({doc['progress']['description'] or doc['progress']['key']})")
    if doc["result"]:
        result = doc["result"]
        lines.append(f"Title:      {result['title'] or '(none found)'}")
        counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items() if v)
        if counts:
            lines.append(f"Counts:     {counts}")
        if result["metadata_uri"]:
            lines.append(f"Metadata:   {result['metadata_uri']}")
    elif doc["result_note"]:
        lines.append(f"Result:     not readable here ({doc['result_note']})")
    if doc["error"]:
        lines.append(f"Error:      {doc['error']}")
    if doc["tasks"]:
        counts = ", ".join(f"{n} {s}" for s, n in doc["task_counts"].items())
        lines.append(f"Tasks:      {len(doc['tasks'])} ({counts})")
        for task in doc["tasks"]:
            took = f"{task['duration_seconds']:8.2f} s" if task["duration_seconds"] is not None \
                else "       – "
            lines.append(f"  {task['state']:<10} {took}  {task['name']}")
    lines.append(f"UI:         {doc['ui_url']}")
    return "\n".join(lines)


# --- runs ----------------------------------------------------------------------------------


def _state_filter(states: list[str]) -> Any:
    """Prefect's filter for state types (`failed`) and/or state names (`TimedOut`, `Cached`)."""
    from prefect.client.schemas.filters import (
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    types = [StateType(s.upper()) for s in states if s.upper() in STATE_TYPES]
    names = [s for s in states if s.upper() not in STATE_TYPES]
    if types and names:
        raise JobsError("--state takes either state types (completed, failed, ...) or state "
                        "names (TimedOut, Late, ...), not both at once.")
    if types:
        return FlowRunFilterState(type=FlowRunFilterStateType(any_=types))
    return FlowRunFilterState(name=FlowRunFilterStateName(any_=names))


def _deployment_filter(client: SyncPrefectClient, names: list[str]) -> Any:
    """Prefect's filter for deployments given as `flow/deployment` or a deployment name."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.exceptions import ObjectNotFound

    ids = []
    for name in names:
        full = name if "/" in name else f"{name}/{name}"
        try:
            ids.append(client.read_deployment_by_name(full).id)
        except ObjectNotFound:
            raise JobsError(f"no deployment {full!r}: {_known_deployments(client)}") from None
    return DeploymentFilter(id=DeploymentFilterId(any_=ids))


def _known_deployments(client: SyncPrefectClient) -> str:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterId

    found = client.read_deployments(limit=PAGE)
    flows = {f.id: f.name for f in client.read_flows(flow_filter=FlowFilter(
        id=FlowFilterId(any_=list({d.flow_id for d in found}))))} if found else {}
    names = sorted(f"{flows.get(d.flow_id, '?')}/{d.name}" for d in found)
    return ("the server has " + ", ".join(names)) if names else \
        "the server has no deployments (run `paperflow up`, which deploys prefect.yaml)"


def _flow_runs(client: SyncPrefectClient, *, states: list[str] | None = None,
               deployments: list[str] | None = None, since: datetime | None = None,
               limit: int = 20) -> list[FlowRun]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterExpectedStartTime
    from prefect.client.schemas.sorting import FlowRunSort

    run_filter = FlowRunFilter(
        state=_state_filter(states) if states else None,
        expected_start_time=FlowRunFilterExpectedStartTime(after_=since) if since else None)
    deployment_filter = _deployment_filter(client, deployments) if deployments else None
    found: list[FlowRun] = []
    while len(found) < limit:
        page = client.read_flow_runs(flow_run_filter=run_filter,
                                     deployment_filter=deployment_filter,
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                                     limit=min(PAGE, limit - len(found)), offset=len(found))
        found += page
        if len(page) < PAGE:
            break
    return found


def runs(*, states: list[str] | None = None, deployments: list[str] | None = None,
         since: datetime | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Recent flow runs, newest (by expected start) first."""
    with _client() as client:
        found = _flow_runs(client, states=states, deployments=deployments, since=since,
                           limit=limit)
        flows, names = _names(client, found)
    return [_run_row(run, flows, names) for run in found]


def runs_text(rows: list[dict[str, Any]]) -> str:
    """`runs` for a person: one line per run."""
    if not rows:
        return "No flow runs match."
    lines = [f"{'id':<36}  {'state':<10}  {'started (UTC)':<19}  {'secs':>7}  "
             f"{'deployment':<28}  name"]
    for row in rows:
        started = (row["start_time"] or row["expected_start_time"] or "")[:19].replace("T", " ")
        secs = f"{row['duration_seconds']:7.1f}" if row["duration_seconds"] is not None else \
            "      –"
        lines.append(f"{row['id']}  {row['state']:<10}  {started:<19}  {secs}  "
                     f"{(row['deployment'] or '(' + str(row['flow']) + ')'):<28}  {row['name']}")
    return "\n".join(lines)


# --- cancel --------------------------------------------------------------------------------


def cancel(run_id: str) -> dict[str, Any]:
    """Ask for the run to stop (state Cancelling; a run not started yet goes to Cancelled).

    What `prefect flow-run cancel` does; the worker running it then kills its process and
    marks it Cancelled. A run already in a final state is left alone (`JobsError`).
    """
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Cancelling

    ident = _run_uuid(run_id)
    with _client() as client:
        run = _read_run(client, ident)
        before = _state_name(run)
        if run.state and run.state.type.value in FINAL_TYPES:
            raise JobsError(f"flow run {ident} is already {before}: nothing to cancel.")
        outcome = client.set_flow_run_state(ident, Cancelling(
            message="Cancelled with `paperflow cancel`."))
        if outcome.status == SetStateStatus.ABORT:
            raise JobsError(f"the server refused to cancel flow run {ident} ({before}): "
                            f"{outcome.details.reason if outcome.details else 'no reason'}")
        run = client.read_flow_run(ident)
    after = _state_name(run)
    return {"id": str(ident), "name": run.name, "previous_state": before, "state": after,
            "state_type": _state_type(run),
            "accepted": outcome.status.value, "final": run.state is not None
            and run.state.type in (StateType.CANCELLED,), "ui_url": run_link(ident)}


def cancel_text(doc: dict[str, Any]) -> str:
    """`cancel` for a person."""
    then = ("cancelled before it started." if doc["final"] else
            "the worker running it stops its process and marks it Cancelled.")
    return (f"Flow run {doc['name']} ({doc['id']}): {doc['previous_state']} -> {doc['state']}; "
            f"{then}\n{doc['ui_url']}")


# --- stats ---------------------------------------------------------------------------------


def _group(durations: list[float], states: Counter[str], causes: Counter[str]) -> dict[str, Any]:
    finished = sum(states[t] for t in FINAL_TYPES)
    return {
        "runs": sum(states.values()),
        "finished": finished,
        "completed": states["COMPLETED"],
        "failed": states["FAILED"] + states["CRASHED"],
        "cancelled": states["CANCELLED"],
        "success_rate": round(states["COMPLETED"] / finished, 4) if finished else None,
        "mean_seconds": _mean(durations),
        "p95_seconds": p95(durations),
        "states": dict(states),
        "failures": [{"cause": cause, "count": n} for cause, n in causes.most_common()],
    }


def stats(since: datetime) -> dict[str, Any]:
    """Per deployment and per task: runs, success rate, mean and p95 duration, failure causes.

    Failures are Failed (TimedOut included) and Crashed runs, grouped by their state message's
    first line (`shorten_cause`); cancelled runs are counted apart.

    The success rate counts runs in a final state: Completed / (Completed + Failed + Crashed +
    Cancelled); durations are those of finished runs. Runs of no deployment (`paperflow
    process`) are grouped under their flow's name in parentheses.
    """
    with _client() as client:
        found = _flow_runs(client, since=since, limit=MAX_RUNS)
        flows, names = _names(client, found)
        tasks = _task_runs(client, [r.id for r in found]) if found else []
    groups: dict[str, tuple[list[float], Counter[str], Counter[str]]] = defaultdict(
        lambda: ([], Counter(), Counter()))
    for run in found:
        name = names.get(run.deployment_id) if run.deployment_id else None
        durations, states, causes = groups[name or f"({flows.get(run.flow_id, '?')})"]
        kind = _state_type(run)
        states[kind] += 1
        if kind in FINAL_TYPES and run.start_time:
            seconds = _seconds(run.start_time, run.end_time, run.total_run_time)
            if seconds is not None:
                durations.append(seconds)
        if kind in FAILED_TYPES:
            causes[f"{_state_name(run)}: {shorten_cause(run.state.message if run.state else '')}"
                   ] += 1
    by_task: dict[str, tuple[list[float], Counter[str], Counter[str]]] = defaultdict(
        lambda: ([], Counter(), Counter()))
    cached: Counter[str] = Counter()
    for task in tasks:
        durations, states, causes = by_task[task_name(task)]
        kind = _state_type(task)
        states[kind] += 1
        if _state_name(task) == "Cached":
            cached[task_name(task)] += 1
        if kind in FINAL_TYPES:
            seconds = _seconds(task.start_time, task.end_time, task.total_run_time)
            if seconds is not None:
                durations.append(seconds)
        if kind in FAILED_TYPES:
            causes[shorten_cause(task.state.message if task.state else "")] += 1
    return {
        "since": _iso(since),
        "until": _iso(datetime.now(UTC)),
        "flow_runs": len(found),
        "task_runs": len(tasks),
        "truncated": len(found) >= MAX_RUNS or len(tasks) >= MAX_TASK_RUNS,
        "deployments": [{"deployment": name, **_group(*group)}
                        for name, group in sorted(groups.items())],
        "tasks": [{"task": name, **_group(*group), "cached": cached[name]}
                  for name, group in sorted(by_task.items())],
    }


def _stat_line(label: str, group: dict[str, Any], width: int) -> str:
    rate = f"{100 * group['success_rate']:5.1f}%" if group["success_rate"] is not None else \
        "    –"
    mean = f"{group['mean_seconds']:8.2f}" if group["mean_seconds"] is not None else "       –"
    high = f"{group['p95_seconds']:8.2f}" if group["p95_seconds"] is not None else "       –"
    return (f"{label:<{width}}  {group['runs']:>5}  {group['completed']:>5}  "
            f"{group['failed']:>5}  {rate:>6}  {mean}  {high}")


def stats_text(doc: dict[str, Any]) -> str:
    """`stats` for a person: two tables and the failure causes."""
    lines = [f"Since {doc['since']}: {doc['flow_runs']} flow runs, {doc['task_runs']} task runs"
             + (" (truncated)" if doc["truncated"] else "")]
    for title, key, rows in (("deployment", "deployment", doc["deployments"]),
                             ("task", "task", doc["tasks"])):
        if not rows:
            continue
        width = max(len(title), *(len(r[key]) for r in rows))
        lines += ["", f"{title:<{width}}   runs     ok  fail.    rate   mean s    p95 s"]
        lines += [_stat_line(r[key], r, width) for r in rows]
    failures = [(r["deployment"], f) for r in doc["deployments"] for f in r["failures"]] + \
        [(r["task"], f) for r in doc["tasks"] for f in r["failures"]]
    if failures:
        lines += ["", "Failures by cause:"]
        lines += [f"  {f['count']:>4} × {name}: {f['cause']}" for name, f in failures]
    return "\n".join(lines)


# --- health --------------------------------------------------------------------------------


@dataclass
class Check:
    """One component's health."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    required: bool = True


def _timed(name: str, probe: Callable[[], tuple[bool, str]], required: bool = True) -> Check:
    start = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {shorten_cause(str(exc), 300)}"
    return Check(name, ok, detail, round(time.perf_counter() - start, 3), required)


def _check_database() -> tuple[bool, str]:
    with _client() as client:
        count = client.request("POST", "/flow_runs/count", json={}).json()
    return True, f"answered a read through the API ({count} flow runs)"


def _check_storage() -> tuple[bool, str]:
    from paperflow import retention
    from paperflow.settings import reload_settings
    from paperflow.storage import LocalStorage, get_storage
    from paperflow.storage.s3 import S3Storage

    storage = get_storage(reload_settings())
    key = f"health/{uuid.uuid4().hex}.txt"
    data = f"paperflow health {datetime.now(UTC).isoformat()}".encode()
    storage.put(key, data, "text/plain; charset=utf-8")
    try:
        if storage.get(key) != data:
            return False, f"{storage.name}: read back other bytes than were written"
    finally:
        if isinstance(storage, LocalStorage):
            retention.LocalFolder(storage.root).delete(key)
        elif isinstance(storage, S3Storage):
            retention.S3Folder(storage.client, storage.bucket, storage.prefix).delete(key)
    if storage.exists(key):
        return False, f"{storage.name}: wrote and read {key}, but could not delete it"
    return True, f"{storage.name}: wrote, read and deleted {key}"


def _check_blocks() -> tuple[bool, str]:
    from prefect.exceptions import ObjectNotFound

    from deployments.blocks import build_blocks
    from paperflow.settings import reload_settings

    missing = []
    with _client() as client:
        for name, block in build_blocks(reload_settings()).items():
            try:
                client.read_block_document_by_name(name, block_type_slug=block
                                                   .get_block_type_slug())
            except ObjectNotFound:
                missing.append(name)
    if missing:
        return False, (f"S3 is configured but block(s) {', '.join(missing)} are not saved on the "
                       "server: run `paperflow blocks register`.")
    return True, "the S3 blocks the flows load are registered"


def _check_llm() -> tuple[bool, str]:
    from paperflow.llm.settings import reload_llm_settings

    llm = reload_llm_settings()
    base = (llm.base_url or "https://api.openai.com/v1").rstrip("/")
    response = httpx.get(f"{base}/models", timeout=10.0,
                         headers={"Authorization": f"Bearer {llm.effective_api_key}"})
    if response.status_code != 200:
        return False, f"GET {base}/models answered HTTP {response.status_code}"
    models = [m.get("id") for m in response.json().get("data", []) if isinstance(m, dict)]
    return True, f"{base}: {len(models)} model(s); configured model {llm.model!r}"


def _check_worker() -> tuple[bool, str]:
    from prefect.exceptions import ObjectNotFound

    with _client() as client:
        try:
            pool = client.read_work_pool(POOL)
        except ObjectNotFound:
            return False, (f"no work pool {POOL!r} on the server: run `paperflow up` (it creates "
                           "the pool, deploys and starts a worker).")
        workers = client.read_workers_for_work_pool(POOL)
    now = datetime.now(UTC)
    polling = []
    for worker in workers:
        if worker.last_heartbeat_time is None:
            continue
        age = (now - worker.last_heartbeat_time).total_seconds()
        fresh = max(WORKER_FRESH_SECONDS, 3 * (worker.heartbeat_interval_seconds or 30))
        if age <= fresh:
            polling.append(f"{worker.name} ({age:.0f} s ago)")
    if pool.is_paused:
        return False, f"work pool {POOL!r} is paused: resume it in the UI or with " \
                      f"`prefect work-pool resume {POOL}`."
    if not polling:
        return False, (f"no worker has polled pool {POOL!r} lately ({len(workers)} known): start "
                        "one with `paperflow up`, or `paperflow worker` on another machine.")
    return True, f"{len(polling)} worker(s) polling pool {POOL!r}: {', '.join(polling)}"


def health() -> dict[str, Any]:
    """Every component a job needs: API, database, storage, blocks, LLM, a polling worker."""
    from paperflow.llm.settings import reload_llm_settings
    from paperflow.settings import reload_settings

    api = api_in_force().rstrip("/")
    checks = [_timed("api", lambda: (True, f"{api}: Prefect server {server_version(api)}"))
              if api else Check("api", False, "PREFECT_API_URL is not set and no stack started "
                                "by `paperflow up` answers: run `paperflow up` or set "
                                "PREFECT_API_URL.")]
    api_up = checks[0].ok
    down = (False, "skipped: the API is down")
    checks.append(_timed("database", _check_database if api_up else lambda: down))
    checks.append(_timed("storage", _check_storage))
    if reload_settings().s3_bucket:
        checks.append(_timed("blocks", _check_blocks if api_up else lambda: down))
    if reload_llm_settings().enabled:
        checks.append(_timed("llm", _check_llm))
    else:
        checks.append(Check("llm", True, "not configured (PAPERFLOW_LLM_BASE_URL / "
                                         "PAPERFLOW_LLM_API_KEY unset): heuristics only",
                            required=False))
    checks.append(_timed("worker", _check_worker if api_up else lambda: down))
    ok = all(c.ok for c in checks if c.required)
    return {"ok": ok, "api_url": api, "failed": [c.name for c in checks if c.required
                                                  and not c.ok],
            "checks": [asdict(c) for c in checks]}


def health_text(doc: dict[str, Any]) -> str:
    """`health` for a person: one line per check."""
    lines = [f"{'ok' if c['ok'] else 'DOWN':<4}  {c['name']:<8}  {c['seconds']:6.2f} s  "
             f"{c['detail']}" for c in doc["checks"]]
    lines.append("healthy" if doc["ok"] else f"unhealthy: {', '.join(doc['failed'])}")
    return "\n".join(lines)


# --- submit --------------------------------------------------------------------------------


def _loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def upload(path: Path) -> dict[str, Any]:
    """Store a local PDF content-addressed (`uploads/<sha256>.pdf`); where a worker reads it.

    With S3 configured that is its `s3://` URI. Without, the file goes into the local store and
    its absolute path is the source: only a worker on this machine (as `paperflow up` starts)
    can read it, so a server elsewhere is refused.
    """
    from paperflow.pdf import validate_pdf_bytes
    from paperflow.settings import reload_settings
    from paperflow.storage import LocalStorage, get_storage

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JobsError(f"cannot read {path}: {exc.strerror or exc}.") from exc
    try:
        validate_pdf_bytes(data)
    except Exception as exc:
        raise JobsError(f"{path} is not a PDF that can be processed: {exc}") from exc
    settings = reload_settings()
    api = api_in_force()
    if not settings.s3_bucket and not _loopback(api):
        raise JobsError(
            f"{path} is a local file and no S3 bucket is configured, so a worker of {api} "
            "cannot read it: set PAPERFLOW_S3_BUCKET (and its endpoint/keys) to upload it "
            "there, or pass an http(s) URL, an s3:// URI or an arXiv id.")
    sha = hashlib.sha256(data).hexdigest()
    storage = get_storage(settings)
    asset = storage.put(f"uploads/{sha}.pdf", data, "application/pdf")
    source = str(storage.root / asset.key) if isinstance(storage, LocalStorage) else asset.uri
    return {"path": str(path), "sha256": sha, "size": len(data), "key": asset.key,
            "uri": asset.uri, "source": source, "store": storage.name}


def submit(source: str, deployment: str = DEFAULT_DEPLOYMENT,
           webhook_url: str | None = None) -> dict[str, Any]:
    """Upload a local PDF (see `upload`) or pass a URL/arXiv id/s3 URI on; start a run."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    from paperflow.sources import classify

    try:
        kind = classify(source)
    except Exception as exc:
        raise JobsError(str(exc)) from exc
    uploaded = None
    if kind == "path":
        path = Path(source.removeprefix("file://")).expanduser()
        if not path.is_file():
            raise JobsError(f"no such file: {path} (give a PDF path, an http(s) URL, an s3:// "
                            "URI or an arXiv id).")
        uploaded = upload(path.resolve())
        source = uploaded["source"]
    full = deployment if "/" in deployment else f"{deployment}/{deployment}"
    with _client() as client:
        try:
            found = client.read_deployment_by_name(full)
        except ObjectNotFound:
            raise JobsError(f"no deployment {full!r}: {_known_deployments(client)}") from None
    properties = (found.parameter_openapi_schema or {}).get("properties", {})
    parameters: dict[str, Any] = {"sources": [source]} if "sources" in properties \
        and "source" not in properties else {"source": source}
    if webhook_url:
        parameters["webhook_url"] = webhook_url
    run = run_deployment(full, parameters=parameters, timeout=0, as_subflow=False)
    return {"id": str(run.id), "name": run.name, "deployment": full, "source": source,
            "uploaded": uploaded, "state": _state_name(run), "state_type": _state_type(run),
            "ui_url": run_link(run.id)}


def follow(run_id: str, on_change: Callable[[str, str | None, float | None], None],
           timeout: float | None = None, poll: float = 1.0) -> str:
    """Poll a run until a final state, calling `on_change(state, message, percent)` on each
    change of state or progress; returns the final state type (or raises on timeout)."""
    ident = _run_uuid(run_id)
    deadline = time.monotonic() + timeout if timeout else None
    seen: tuple[str, float | None] | None = None
    with _client() as client:
        while True:
            run = _read_run(client, ident)
            kind = _state_type(run)
            percent = None
            if kind == "RUNNING":
                progress = _progress(_artifacts(client, ident))
                percent = progress["percent"] if progress else None
            now = (_state_name(run), percent)
            if now != seen:
                on_change(now[0], run.state.message if run.state else None, percent)
                seen = now
            if kind in FINAL_TYPES:
                return kind
            if deadline and time.monotonic() > deadline:
                raise JobsError(f"flow run {ident} is still {now[0]} after {timeout:.0f} s; it "
                                f"goes on: `paperflow status {ident}`.")
            time.sleep(poll)

"""Fault injection against a real stack: submit papers, break something, then account for them.

Everything here talks to the stack the way production does: runs are created through the REST
API of the Prefect server, papers are read from and written to the stack's SeaweedFS, the LLM is
a scripted OpenAI-compatible server on loopback. `account` is the check every case ends with:

- every submitted flow run is in a final state: COMPLETED, or FAILED/CRASHED with a reason;
- every paper is accounted for once (a bulk run's outcome table lists each source once);
- each paper's objects are complete (metadata.json present and every asset it lists present)
  when its run completed, and there is never a metadata.json without its assets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from deployments.seaweedfs import list_objects, s3_client
from deployments.stack import Stack

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
S3_PREFIX = "reliability"
WEBHOOK_SECRET = "reliability-secret"


def api(stack: Stack, path: str, body: dict[str, Any] | None = None,
        timeout: float = 30) -> Any:
    response = (httpx.get(f"{stack.api_url}{path}", timeout=timeout) if body is None
                else httpx.post(f"{stack.api_url}{path}", json=body, timeout=timeout))
    response.raise_for_status()
    return response.json()


def s3(stack: Stack) -> Any:
    env = stack.s3_env
    return s3_client(env["PAPERFLOW_S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"],
                     env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"])


def bucket(stack: Stack) -> str:
    return stack.s3_env["PAPERFLOW_S3_BUCKET"]


@dataclass
class Paper:
    """One uploaded paper: its s3:// source, its content address and its (unique) title."""

    source: str
    sha256: str
    title: str


def upload(stack: Stack, name: str, data: bytes, title: str) -> Paper:
    key = f"{S3_PREFIX}/inbox/{name}.pdf"
    s3(stack).put_object(Bucket=bucket(stack), Key=key, Body=data)
    return Paper(f"s3://{bucket(stack)}/{key}", hashlib.sha256(data).hexdigest(), title)


def deployment_id(stack: Stack, name: str) -> str:
    return api(stack, f"/deployments/name/{name}/{name}")["id"]


def submit(stack: Stack, source: str, **parameters: Any) -> str:
    """A process-paper run of `source` through the REST API; returns its id."""
    run = api(stack, f"/deployments/{deployment_id(stack, 'process-paper')}/create_flow_run",
              {"parameters": {"source": source, **parameters}})
    return run["id"]


def submit_bulk(stack: Stack, sources: list[str], batch_size: int) -> str:
    run = api(stack, f"/deployments/{deployment_id(stack, 'bulk-process')}/create_flow_run",
              {"parameters": {"sources": sources, "batch_size": batch_size}})
    return run["id"]


def runs_tagged(stack: Stack, tag: str) -> list[dict[str, Any]]:
    """The flow runs carrying `tag` (e.g. the crash follow-up's `replaces:<run id>`)."""
    return api(stack, "/flow_runs/filter", {"flow_runs": {"tags": {"all_": [tag]}},
                                            "limit": 50})


def runs_of_deployment(stack: Stack, name: str) -> list[dict[str, Any]]:
    """Every flow run of the deployment `name/name`."""
    return api(stack, "/flow_runs/filter", {
        "deployments": {"id": {"any_": [deployment_id(stack, name)]}}, "limit": 200})


def read_runs(stack: Stack, ids: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), 100):
        found += api(stack, "/flow_runs/filter",
                     {"flow_runs": {"id": {"any_": ids[start:start + 100]}}, "limit": 200})
    return found


def wait_final(stack: Stack, ids: list[str], timeout: float,
               poll: float = 2.0) -> dict[str, dict[str, Any]]:
    """The runs once all are final, or as they are when `timeout` passes (the caller checks).

    API errors (a server restarting) only mean "ask again".
    """
    deadline = time.monotonic() + timeout
    runs: dict[str, dict[str, Any]] = {}
    while True:
        with contextlib.suppress(httpx.HTTPError):
            runs = {r["id"]: r for r in read_runs(stack, ids)}
            if len(runs) == len(ids) and all(
                    r["state"] and r["state"]["type"] in FINAL for r in runs.values()):
                return runs
        if time.monotonic() >= deadline:
            return runs
        time.sleep(poll)


def wait_for(condition: Any, timeout: float, what: str, poll: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def paper_objects(stack: Stack, sha256: str) -> dict[str, dict[str, Any]]:
    """The paper's objects, by key relative to `papers/<sha>/`."""
    base = f"{S3_PREFIX}/papers/{sha256}/"
    return {key[len(base):]: info
            for key, info in list_objects(s3(stack), bucket(stack), base).items()}


def listed_assets(value: Any) -> set[str]:
    """Every storage key an asset in metadata.json points at (assets, preview, figures...)."""
    keys: set[str] = set()
    if isinstance(value, dict):
        key, uri = value.get("key"), value.get("uri")
        if isinstance(key, str) and isinstance(uri, str) and key.startswith("papers/"):
            keys.add(key)
        for item in value.values():
            keys |= listed_assets(item)
    elif isinstance(value, list):
        for item in value:
            keys |= listed_assets(item)
    return keys


def stored_metadata(stack: Stack, sha256: str) -> dict[str, Any] | None:
    key = f"{S3_PREFIX}/papers/{sha256}/metadata.json"
    try:
        body = s3(stack).get_object(Bucket=bucket(stack), Key=key)["Body"].read()
    except Exception as exc:
        if "NoSuchKey" in str(exc) or "404" in str(exc):
            return None
        raise
    return json.loads(body)


@dataclass
class Ledger:
    """The outcome of one case, as the accounting check found it."""

    submitted: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        return (f"submitted {self.submitted}, completed {self.completed}, failed "
                f"{self.failed}, lost {self.lost}; states {dict(self.states)}")


def check_objects(stack: Stack, paper: Paper, completed: bool, ledger: Ledger) -> None:
    """Complete (metadata.json and all it lists) when completed; never metadata without assets."""
    objects = paper_objects(stack, paper.sha256)
    metadata = stored_metadata(stack, paper.sha256) if "metadata.json" in objects else None
    if metadata is not None:
        if metadata.get("sha256") != paper.sha256:
            ledger.problems.append(f"{paper.source}: metadata.json names sha256 "
                                   f"{metadata.get('sha256')}")
        listed = {key.removeprefix(f"papers/{paper.sha256}/")
                  for key in listed_assets(metadata)}
        missing = sorted(key for key in listed if key not in objects)
        if missing:
            ledger.problems.append(f"{paper.source}: metadata.json lists missing assets "
                                   f"{missing}")
        if "original.pdf" not in objects:
            ledger.problems.append(f"{paper.source}: metadata.json without original.pdf")
    elif completed:
        ledger.problems.append(f"{paper.source}: completed but no metadata.json in S3 "
                               f"(objects: {sorted(objects)})")
    elif objects:
        ledger.notes.append(f"{paper.source}: failed; leftover content-addressed objects "
                            f"without metadata.json: {sorted(objects)}")


def account(stack: Stack, runs: dict[str, dict[str, Any]], papers: dict[str, Paper],
            run_papers: dict[str, str]) -> Ledger:
    """Check process-paper runs (`run_papers`: run id -> source) and their papers' objects."""
    ledger = Ledger(submitted=len(run_papers))
    done: dict[str, bool] = {}
    for run_id, source in run_papers.items():
        run = runs.get(run_id)
        state = (run or {}).get("state") or {}
        kind = state.get("type", "MISSING")
        ledger.states[state.get("name", kind)] += 1
        if kind == "COMPLETED":
            ledger.completed += 1
            done[source] = True
        elif kind in {"FAILED", "CRASHED"}:
            ledger.failed += 1
            done.setdefault(source, False)
            message = (state.get("message") or "").strip()
            ledger.reasons.append(f"{state.get('name')}: {message[:300]}")
            if not message:
                ledger.problems.append(f"run {run_id} ({source}) ended {kind} without a reason")
        else:
            ledger.lost += 1
            ledger.problems.append(f"run {run_id} ({source}) not final: {state.get('name')} "
                                   f"({state.get('message')})")
    for source, completed in done.items():
        check_objects(stack, papers[source], completed, ledger)
    return ledger


def account_bulk(stack: Stack, parent: dict[str, Any], papers: dict[str, Paper]) -> Ledger:
    """Check a bulk run: final, each source in its outcome table exactly once, objects whole."""
    ledger = Ledger(submitted=len(papers))
    state = parent.get("state") or {}
    ledger.states[state.get("name", "?")] += 1
    if state.get("type") not in FINAL - {"CANCELLED"}:
        ledger.problems.append(f"bulk run {parent['id']} not final: {state.get('name')}")
    artifacts = {a["key"]: a for a in api(stack, "/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [parent["id"]]}}}) if a["key"]}
    if "bulk-outcomes" not in artifacts:
        if state.get("type") == "COMPLETED":
            ledger.problems.append("completed bulk run without its bulk-outcomes table")
        ledger.lost = len(papers)
        if state.get("type") in {"FAILED", "CRASHED"} and (state.get("message") or "").strip():
            ledger.failed, ledger.lost = len(papers), 0
            ledger.reasons.append(f"bulk run {state.get('name')}: {state.get('message')}")
        return ledger
    rows = json.loads(artifacts["bulk-outcomes"]["data"])
    seen = Counter(row["source"] for row in rows)
    twice = sorted(s for s, n in seen.items() if n > 1)
    if twice:
        ledger.problems.append(f"sources listed more than once: {twice}")
    unknown = sorted(set(seen) - set(papers))
    if unknown:
        ledger.problems.append(f"outcomes for sources never submitted: {unknown}")
    for source, paper in papers.items():
        row = next((r for r in rows if r["source"] == source), None)
        if row is None:
            ledger.lost += 1
            ledger.problems.append(f"{source}: no outcome in the bulk run")
            continue
        if row["status"] in {"completed", "cached"}:
            ledger.completed += 1
            check_objects(stack, paper, True, ledger)
        else:
            ledger.failed += 1
            ledger.reasons.append(f"{source}: {row.get('error')}")
            if not (row.get("error") or "").strip():
                ledger.problems.append(f"{source}: failed without a reason")
            check_objects(stack, paper, False, ledger)
    return ledger


def task_runs(stack: Stack, run_ids: list[str]) -> list[dict[str, Any]]:
    """Every task run of the flow runs, asked run by run (offset paging over an unsorted filter
    can repeat or skip rows), each task run once."""
    found: dict[str, dict[str, Any]] = {}
    for run_id in run_ids:
        for run in api(stack, "/task_runs/filter", {
                "flow_runs": {"id": {"any_": [run_id]}}, "limit": 200, "sort": "ID_DESC"}):
            found[run["id"]] = run
    return list(found.values())


def computed_and_cached(task_runs: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Per task name: how many of its runs COMPLETED computing, how many were cache hits."""
    table: dict[str, Counter[str]] = {}
    for run in task_runs:
        state = run.get("state") or {}
        name = run["name"].rsplit("-", 1)[0] if "-" in run["name"] else run["name"]
        counter = table.setdefault(name, Counter())
        if state.get("type") == "COMPLETED":
            counter["cached" if state.get("name") == "Cached" else "computed"] += 1
        else:
            counter[state.get("name") or "?"] += 1
    return table


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).children(recursive=True)
    return []


def flow_run_process(stack: Stack, run_id: str) -> int | None:
    """The pid of the process the stack's worker runs `run_id` in (the topmost of its
    descendants whose environment names that flow run), or None."""
    worker = stack.running("worker")
    if worker is None:
        return None
    parents: dict[int, int] = {}
    for process in descendants(worker):
        with contextlib.suppress(psutil.Error):
            if process.environ().get("PREFECT__FLOW_RUN_ID") == run_id:
                parents[process.pid] = process.ppid()
    top = [pid for pid, parent in parents.items() if parent not in parents]
    return top[0] if top else None


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a process, its process group and every descendant, as if its machine died."""
    tree = [pid] + [p.pid for p in descendants(pid)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)
    for member in tree:
        with contextlib.suppress(psutil.Error):
            psutil.Process(member).wait(10)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return tree


class RssSampler:
    """Peak resident memory of the worker and of its flow-run processes, sampled twice a second."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.peak_worker = 0
        self.peak_run = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            pid = self.stack.running("worker")
            if pid is None:
                continue
            with contextlib.suppress(psutil.Error):
                worker = psutil.Process(pid).memory_info().rss
                runs = []
                for child in descendants(pid):
                    with contextlib.suppress(psutil.Error):
                        runs.append(child.memory_info().rss)
                self.peak_worker = max(self.peak_worker, worker)
                self.peak_run = max(self.peak_run, *runs, 0)
                self.peak_tree = max(self.peak_tree, worker + sum(runs))

    def line(self) -> str:
        mib = 1024 * 1024
        return (f"peak RSS: worker {self.peak_worker / mib:.0f} MiB, largest flow-run process "
                f"{self.peak_run / mib:.0f} MiB, worker and runs together "
                f"{self.peak_tree / mib:.0f} MiB")

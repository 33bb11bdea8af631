"""One bulk run spread over two workers (two "machines": own PREFECT_HOME and data folder,
sharing the server and S3; the second told only the server's URL): both take chunks, every
paper is done once, nothing is lost, and nothing lands on the second machine's disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.seaweedfs import list_objects
from deployments.stack import POOL, PROJECT_DIR, Stack
from paperflow.arxiv import state_key
from tests.deployments.conftest import S3_PREFIX, stack_s3
from tests.fake_arxiv import FakeArxiv, make_papers
from tests.pdfs import make_paper

pytestmark = pytest.mark.slow
PAPERS = 6


def _api(stack: Stack, path: str, body: dict[str, Any] | None = None) -> Any:
    response = (httpx.get(f"{stack.api_url}{path}", timeout=30) if body is None
                else httpx.post(f"{stack.api_url}{path}", json=body, timeout=30))
    response.raise_for_status()
    return response.json()


def _start_second_worker(stack: Stack, home: Path) -> subprocess.Popen[bytes]:
    """A worker as a second machine would run it: the code and the server's URL, nothing else;
    where to store comes from the server's blocks (`flows/worker_settings.py`)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PAPERFLOW_", "PREFECT_", "AWS_"))}
    env.update(PREFECT_API_URL=stack.api_url, PREFECT_HOME=str(home / "prefect"),
               PAPERFLOW_DATA_DIR=str(home / "data"), PAPERFLOW_PROJECT_DIR=str(PROJECT_DIR),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS="1")
    log = (home / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type",
         "process", "--limit", "2", "--name", "second-machine"],
        cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)


def _wait_for_workers(stack: Stack, count: int, process: subprocess.Popen[bytes],
                      log: Path) -> list[str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        online = [w["name"] for w in _api(stack, f"/work_pools/{POOL}/workers/filter", {})
                  if w["status"] == "ONLINE"]
        if len(online) >= count:
            return online
        time.sleep(1)
    raise AssertionError(f"workers online: {online}; {log.read_text()[-3000:]}")


def test_two_workers_share_the_chunks_of_one_bulk_run(stack: Stack, tmp_path: Path) -> None:
    client, bucket = stack_s3(stack), stack.s3_env["PAPERFLOW_S3_BUCKET"]
    sources = []
    for index in range(PAPERS):
        key = f"{S3_PREFIX}/inbox/chunked-{index}.pdf"
        client.put_object(Bucket=bucket, Key=key, Body=make_paper(
            title=f"Chunked Paper Number {index}", nonce=f"chunked-{index}", figure=False,
            pages=2))
        sources.append(f"s3://{bucket}/{key}")
    home = tmp_path / "second-machine"
    home.mkdir()
    second = _start_second_worker(stack, home)
    try:
        workers = _wait_for_workers(stack, 2, second, home / "worker.log")
        assert "second-machine" in workers
        deployment = _api(stack, "/deployments/name/bulk-process/bulk-process")
        run = _api(stack, f"/deployments/{deployment['id']}/create_flow_run",
                   {"parameters": {"sources": sources, "batch_size": 1}})
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            parent = _api(stack, f"/flow_runs/{run['id']}")
            if parent["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
                break
            time.sleep(2)
        assert parent["state"]["type"] == "COMPLETED", parent["state"]["message"]
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(60)

    # Every chunk ran as its own flow run, a subflow of the bulk run, on one of the workers.
    base = f"{S3_PREFIX}/runs/{run['id']}/chunks/"
    chunk_files = [json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
                   for key in list_objects(client, bucket, base)]
    assert len(chunk_files) == PAPERS
    ran_on = Counter(chunk["worker"].split(" on ")[0] for chunk in chunk_files)
    assert len(ran_on) == 2 and ran_on["second-machine"] >= 1, ran_on
    children = _api(stack, "/flow_runs/filter",
                    {"flow_runs": {"id": {"any_": [c["flow_run_id"] for c in chunk_files]}}})
    assert {c["state"]["type"] for c in children} == {"COMPLETED"}
    assert all(c["parent_task_run_id"] for c in children)
    # The second machine stored to the shared bucket, as the server's blocks say; its own data
    # folder holds no papers (at most the lock files of its local lock manager, none here).
    assert not list((home / "data").glob("**/papers/*")), list((home / "data").rglob("*"))
    # Nothing lost, nothing done twice: each paper once, computed (not a cache hit) once.
    outcomes = [o for chunk in chunk_files for o in chunk["outcomes"]]
    assert sorted(o["source"] for o in outcomes) == sorted(sources)
    assert {o["status"] for o in outcomes} == {"completed"}
    assert sorted(o["title"] for o in outcomes) == sorted(
        f"Chunked Paper Number {i}" for i in range(PAPERS))
    # The bulk run's own summary and tables gather the chunks' outcomes.
    artifacts = {a["key"]: a for a in _api(stack, "/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [run["id"]]}}}) if a["key"]}
    rows = json.loads(artifacts["bulk-outcomes"]["data"])
    assert sorted(r["source"] for r in rows) == sorted(sources)
    assert len(json.loads(artifacts["bulk-chunks"]["data"])) == PAPERS
    assert any(a["type"] == "progress" and a["data"] == 100.0 for a in artifacts.values())
    summary = list_objects(client, bucket, f"{S3_PREFIX}/runs/{run['id']}/summary.")
    assert {key.rsplit(".", 1)[1] for key in summary} == {"csv", "parquet"}


def _finish(stack: Stack, run_id: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _api(stack, f"/flow_runs/{run_id}")
        if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return run
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} not finished after {timeout} s")


def test_arxiv_ingestion_spreads_new_papers_over_chunk_runs(
        stack: Stack, stack_arxiv: FakeArxiv) -> None:
    """An ingestion run as a deployment run: its new papers go out in `bulk-chunk` runs, each
    paper with arXiv's metadata (the overrides travel with the chunk), and the parent run
    remembers every paper a chunk finished, so the next run finds nothing new."""
    client, bucket = stack_s3(stack), stack.s3_env["PAPERFLOW_S3_BUCKET"]
    papers = make_papers(5, prefix="2407")
    stack_arxiv.papers[:] = papers
    deployment = _api(stack, "/deployments/name/arxiv-ingest/arxiv-ingest")
    parameters = {"categories": ["cs.DL"], "max_results": 10, "since": "all", "batch_size": 2}
    run = _api(stack, f"/deployments/{deployment['id']}/create_flow_run",
               {"parameters": parameters})
    parent = _finish(stack, run["id"])
    assert parent["state"]["type"] == "COMPLETED", parent["state"]["message"]

    base = f"{S3_PREFIX}/runs/{run['id']}/chunks/"
    chunk_files = [json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
                   for key in list_objects(client, bucket, base)]
    assert sorted(len(c["outcomes"]) for c in chunk_files) == [1, 2, 2]
    outcomes = [o for chunk in chunk_files for o in chunk["outcomes"]]
    assert sorted(o["source"] for o in outcomes) == sorted(p.versioned for p in papers)
    assert {o["status"] for o in outcomes} == {"completed"}
    # arXiv's title, not the printed one: the per-paper overrides reached the chunk runs.
    assert sorted(o["title"] for o in outcomes) == sorted(p.title for p in papers)
    artifacts = {a["key"]: a for a in _api(stack, "/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [run["id"]]}}}) if a["key"]}
    assert len(json.loads(artifacts["arxiv-chunks"]["data"])) == 3
    state_object = client.get_object(Bucket=bucket, Key=f"{S3_PREFIX}/{state_key('(cat:cs.DL)')}")
    state = json.loads(state_object["Body"].read())
    assert len(state["seen"]) == 5 and state["last_success"]

    again = _api(stack, f"/deployments/{deployment['id']}/create_flow_run",
                 {"parameters": {**parameters, "since": "last-success"}})
    assert _finish(stack, again["id"])["state"]["type"] == "COMPLETED"
    assert not list_objects(client, bucket, f"{S3_PREFIX}/runs/{again['id']}/chunks/")

"""`paperflow status | runs | cancel | stats | health | submit` against the real session stack."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from deployments.jobs import p95, parse_since, shorten_cause
from deployments.stack import PROJECT_DIR, Stack, free_port
from tests.conftest import SAMPLE_PDF
from tests.deployments.conftest import S3_PREFIX, stack_s3

SAMPLE_TITLE = "VESPA: Very large-scale Evolutionary and Selective Pressure Analyses"
SHA = hashlib.sha256(SAMPLE_PDF.read_bytes()).hexdigest()


def _cli(stack: Stack, *args: str, env: dict[str, str] | None = None,
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The paperflow CLI as a user runs it, with the stack's environment."""
    return subprocess.run([sys.executable, "-m", "paperflow", *args],
                          env={**stack.env(), **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, cwd=PROJECT_DIR)


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"not JSON (exit {done.returncode}):\n{done.stdout[-3000:]}\n"
                    f"{done.stderr[-3000:]}")


# --- no server needed ------------------------------------------------------------------------


def test_parse_since() -> None:
    now = datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("1.5w", now) == now - timedelta(weeks=1.5)
    assert parse_since("2025-01-01") == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("last tuesday")


def test_shorten_cause_and_p95() -> None:
    message = ("Flow run encountered an exception: SourceNotFoundError: no object "
               "3fa85f64-5717-4562-b3fc-2c963f66afa6 sha " + "ab" * 32 + "\nTraceback ...")
    assert shorten_cause(message) == "SourceNotFoundError: no object <id> sha <hash>"
    assert len(shorten_cause("x" * 500)) == 120
    assert p95([]) is None
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([2.0]) == 2.0


# --- against the stack -----------------------------------------------------------------------


@pytest.mark.slow
def test_submit_wait_then_status_runs_stats(stack: Stack) -> None:
    done = _cli(stack, "submit", str(SAMPLE_PDF), "--wait", "--json", "--timeout", "240")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = _json(done)
    run_id = doc["id"]
    assert doc["deployment"] == "process-paper/process-paper"
    uploaded = doc["uploaded"]
    key = f"{S3_PREFIX}/uploads/{SHA}.pdf"
    assert uploaded["sha256"] == SHA and uploaded["key"] == f"uploads/{SHA}.pdf"
    assert doc["source"] == uploaded["uri"] == f"s3://paperflow/{key}"
    assert stack_s3(stack).get_object(Bucket="paperflow", Key=key)["Body"].read() == \
        SAMPLE_PDF.read_bytes()
    assert doc["ui_url"] == f"{stack.ui_url}/runs/flow-run/{run_id}"
    assert [s["state"] for s in doc["states"]][-1] == "Completed"
    assert "Running" in [s["state"] for s in doc["states"]]

    status = _json(_cli(stack, "status", run_id, "--json"))
    assert status["id"] == run_id and status["state"] == "Completed" and status["final"]
    assert status["result"]["title"] == SAMPLE_TITLE
    assert status["result"]["from"] == "result", status["result_note"]
    assert status["result"]["sha256"] == SHA
    assert status["result"]["counts"]["references"] > 10
    assert status["result"]["counts"]["page_count"] > 1
    assert status["result"]["metadata_uri"] == \
        f"s3://paperflow/{S3_PREFIX}/papers/{SHA}/metadata.json"
    assert status["progress"]["percent"] == 100.0
    tasks = {t["task"]: t for t in status["tasks"]}
    assert {"fetch_source", "parse_pdf", "store_metadata"} <= set(tasks)
    assert all(t["state_type"] == "COMPLETED" for t in status["tasks"])
    assert tasks["parse_pdf"]["duration_seconds"] is not None
    assert status["error"] is None
    text = _cli(stack, "status", run_id)
    assert text.returncode == 0 and f"Title:      {SAMPLE_TITLE}" in text.stdout
    assert "State:      Completed" in text.stdout and "parse_pdf" in text.stdout

    listed = _json(_cli(stack, "runs", "--json", "--deployment", "process-paper",
                        "--state", "completed", "--since", "1h"))
    row = next((r for r in listed if r["id"] == run_id), None)
    assert row is not None, listed
    assert row["state"] == "Completed" and row["deployment"] == "process-paper/process-paper"
    assert all(r["state_type"] == "COMPLETED" for r in listed)
    assert run_id not in {r["id"] for r in _json(_cli(stack, "runs", "--json", "--state",
                                                      "failed"))}
    assert run_id in _cli(stack, "runs").stdout

    stats = _json(_cli(stack, "stats", "--json", "--since", "1h"))
    group = {d["deployment"]: d for d in stats["deployments"]}["process-paper/process-paper"]
    assert group["completed"] >= 1 and group["runs"] >= group["completed"]
    assert group["mean_seconds"] > 0 and group["p95_seconds"] >= group["mean_seconds"] * 0.5
    by_task = {t["task"]: t for t in stats["tasks"]}
    assert by_task["parse_pdf"]["runs"] >= 1 and by_task["parse_pdf"]["completed"] >= 1
    assert "process-paper/process-paper" in _cli(stack, "stats").stdout


@pytest.mark.slow
def test_failed_run_is_reported_with_its_cause(stack: Stack) -> None:
    missing = f"s3://paperflow/{S3_PREFIX}/uploads/no-such-paper.pdf"
    done = _cli(stack, "submit", missing, "--wait", "--timeout", "240")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Failed" in done.stdout and "SourceNotFoundError" in done.stdout
    run_id = done.stdout.split("(", 1)[1].split(")", 1)[0]
    status = _json(_cli(stack, "status", run_id, "--json"))
    assert status["state_type"] == "FAILED" and status["result"] is None
    assert "SourceNotFoundError" in status["error"]
    assert [t["state"] for t in status["tasks"]] == ["Failed"]
    failed = _json(_cli(stack, "runs", "--json", "--state", "failed,crashed"))
    assert run_id in {r["id"] for r in failed}
    stats = _json(_cli(stack, "stats", "--json", "--since", "1h"))
    group = {d["deployment"]: d for d in stats["deployments"]}["process-paper/process-paper"]
    causes = {f["cause"]: f["count"] for f in group["failures"]}
    assert any(c.startswith("Failed: SourceNotFoundError") and "no-such-paper.pdf" in c
               for c in causes), causes
    assert group["failed"] >= 1 and group["success_rate"] < 1
    fetch = {t["task"]: t for t in stats["tasks"]}["fetch_source"]
    assert fetch["failed"] >= 1 and any("SourceNotFoundError" in f["cause"]
                                        for f in fetch["failures"])


def _scheduled_run(stack: Stack, hours: float = 1.0) -> str:
    """A process-paper run scheduled `hours` ahead (no worker takes it before then)."""
    deployment = httpx.get(f"{stack.api_url}/deployments/name/process-paper/process-paper",
                           timeout=30).json()
    when = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
    response = httpx.post(f"{stack.api_url}/deployments/{deployment['id']}/create_flow_run",
                          json={"parameters": {"source": "2304.02623"},
                                "state": {"type": "SCHEDULED",
                                          "state_details": {"scheduled_time": when}}},
                          timeout=30)
    response.raise_for_status()
    return str(response.json()["id"])


@pytest.mark.slow
def test_cancel_a_scheduled_run(stack: Stack) -> None:
    run_id = _scheduled_run(stack)
    assert _json(_cli(stack, "status", run_id, "--json"))["state"] == "Scheduled"
    done = _cli(stack, "cancel", run_id, "--json")
    assert done.returncode == 0, done.stderr
    doc = _json(done)
    assert doc["previous_state"] == "Scheduled" and doc["state"] == "Cancelled" and doc["final"]
    assert _json(_cli(stack, "status", run_id, "--json"))["state_type"] == "CANCELLED"
    again = _cli(stack, "cancel", run_id)
    assert again.returncode == 1 and "already Cancelled: nothing to cancel" in again.stderr
    unknown = _cli(stack, "cancel", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "no flow run 00000000" in unknown.stderr
    assert _cli(stack, "status", "not-a-uuid").returncode == 1


@pytest.mark.slow
def test_cancel_a_just_started_run(stack: Stack, tmp_path: Any) -> None:
    from tests.pdfs import make_paper

    pdf = tmp_path / "to-cancel.pdf"
    pdf.write_bytes(make_paper(title="A Paper Cancelled Midway", nonce="cancel-me"))
    started = _json(_cli(stack, "submit", str(pdf), "--json"))
    run_id = started["id"]
    done = _cli(stack, "cancel", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert _json(done)["state"] in ("Cancelling", "Cancelled")
    deadline, state = time.monotonic() + 120, ""
    while time.monotonic() < deadline:
        state = _json(_cli(stack, "status", run_id, "--json"))["state"]
        if state in ("Cancelled", "Completed", "Failed", "Crashed"):
            break
        time.sleep(2)
    assert state == "Cancelled"


@pytest.mark.slow
def test_health_all_ok(stack: Stack) -> None:
    done = _cli(stack, "health", "--json")
    doc = _json(done)
    assert done.returncode == 0, doc
    checks = {c["name"]: c for c in doc["checks"]}
    assert set(checks) == {"api", "database", "storage", "blocks", "llm", "worker"}
    assert doc["ok"] and doc["failed"] == [] and all(c["ok"] for c in checks.values())
    assert "3.8.8" in checks["api"]["detail"]
    assert "s3:" in checks["storage"]["detail"] and "deleted" in checks["storage"]["detail"]
    assert "papers" in checks["worker"]["detail"] and not checks["llm"]["required"]
    assert all(c["seconds"] >= 0 for c in checks.values())
    client = stack_s3(stack)
    health = client.list_objects_v2(Bucket="paperflow", Prefix=f"{S3_PREFIX}/health/")
    assert health.get("KeyCount", 0) == 0, "the storage round trip left its object behind"
    assert "healthy" in _cli(stack, "health").stdout


@pytest.mark.slow
def test_health_and_commands_on_a_dead_api(stack: Stack) -> None:
    dead = f"http://127.0.0.1:{free_port()}/api"
    done = _cli(stack, "health", "--json", env={"PREFECT_API_URL": dead}, timeout=120)
    assert done.returncode == 1
    doc = _json(done)
    checks = {c["name"]: c for c in doc["checks"]}
    assert not doc["ok"] and "api" in doc["failed"] and "worker" in doc["failed"]
    assert not checks["api"]["ok"] and dead in checks["api"]["detail"]
    assert checks["storage"]["ok"]  # the bucket is still there
    text = _cli(stack, "health", env={"PREFECT_API_URL": dead}, timeout=120)
    assert text.returncode == 1 and "DOWN  api" in text.stdout
    runs = _cli(stack, "runs", env={"PREFECT_API_URL": dead}, timeout=120)
    assert runs.returncode == 1
    assert f"no Prefect server at {dead}" in runs.stderr and "paperflow up" in runs.stderr

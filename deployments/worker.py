"""`paperflow worker`: a process worker on the `papers` pool of a Prefect server, in the foreground.

What another machine runs to join a server that `paperflow up` set up. Before anything starts it
checks that the API answers and has the pool (and the queues asked for), and says where the flow
runs will store papers: this machine's S3 settings when it has some, else the server's blocks,
which every flow run reads first (`flows/worker_settings.py`), else the local disk. Then it
replaces itself with `prefect worker start` (exec): Ctrl-C and SIGTERM reach the worker itself,
which stops polling, and the command's exit code is the worker's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

from deployments.stack import (
    BUCKET_VARIABLES,
    ENDPOINT_VARIABLES,
    HEARTBEAT_SECONDS,
    POOL,
    PROJECT_DIR,
    QUEUES,
)
from flows.worker_settings import ASSETS_BLOCK

POOL_TYPE = "process"


class WorkerCheckFailed(RuntimeError):
    """A check before starting the worker failed; the message says what to do."""


@dataclass(frozen=True)
class PoolInfo:
    """The `papers` pool as the server describes it."""

    type: str
    paused: bool
    queues: list[str]


def worker_env(api_url: str, base: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment: `base` with the API, the heartbeats and the code's folder."""
    env = dict(base)
    env["PREFECT_API_URL"] = api_url
    # As `paperflow up` gives its own worker: a flow run whose heartbeats stop is marked Crashed
    # by the server's zombie automation, so a dead machine's runs are re-run, not left Running.
    env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_SECONDS))
    # The deployments' pull step changes into this folder on the worker (prefect.yaml).
    env.setdefault("PAPERFLOW_PROJECT_DIR", str(PROJECT_DIR))
    return env


def worker_command(limit: int, queues: Sequence[str] = (), name: str | None = None) -> list[str]:
    """`prefect worker start` on the `papers` pool, never creating the pool itself."""
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL,
               "--type", POOL_TYPE, "--limit", str(limit), "--no-create-pool-if-not-found"]
    for queue in queues:
        command += ["--work-queue", queue]
    if name:
        command += ["--name", name]
    return command


def _loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def check_api(api_url: str, timeout: float = 5.0) -> str:
    """The server's Prefect version; `WorkerCheckFailed` naming the URL when it does not answer."""
    from deployments.jobs import ServerUnavailable, server_version

    try:
        return str(server_version(api_url, timeout=timeout))
    except ServerUnavailable as exc:
        cause = exc.__cause__ or exc
        reach = ("" if _loopback(api_url) else
                 " The stack of `paperflow up` listens on 127.0.0.1 only: from another machine "
                 "reach it through an SSH tunnel (ssh -N -L 4200:127.0.0.1:4200 SERVER, then "
                 "--api-url http://127.0.0.1:4200/api).")
        raise WorkerCheckFailed(
            f"no Prefect API answers at {api_url} ({type(cause).__name__}: {cause}). Start the "
            "server (`paperflow up` on the server machine) or give this worker its API URL, "
            "which ends in /api: --api-url http://SERVER:4200/api or PREFECT_API_URL." + reach
        ) from exc


@contextmanager
def _client(api_url: str) -> Iterator[Any]:
    """Prefect's client on `api_url` (its auth and TLS settings apply), whatever the profile."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as client:
        yield client


def check_pool(api_url: str, queues: Sequence[str] = ()) -> PoolInfo:
    """The `papers` pool, which must exist, be a process pool and hold every queue in `queues`."""
    try:
        return _read_pool(api_url, queues)
    except WorkerCheckFailed:
        raise
    except Exception as exc:  # refused (auth), a server error, a server of another version
        raise WorkerCheckFailed(
            f"the server at {api_url} answered, but reading its work pool {POOL!r} failed "
            f"({type(exc).__name__}: {exc}). A protected server needs PREFECT_API_KEY or "
            "PREFECT_API_AUTH_STRING on this machine too; otherwise see the server's log.") \
            from exc


def _read_pool(api_url: str, queues: Sequence[str]) -> PoolInfo:
    from prefect.exceptions import ObjectNotFound

    with _client(api_url) as client:
        try:
            pool = client.read_work_pool(POOL)
        except ObjectNotFound:
            raise WorkerCheckFailed(
                f"the server at {api_url} has no work pool {POOL!r}. Run `paperflow up` on the "
                "server machine (it creates the pool, its queues and the deployments), or create "
                f"it: prefect work-pool create {POOL} --type {POOL_TYPE}, then its queues "
                + ", ".join(f"prefect work-queue create {q} --pool {POOL} --priority {p}"
                            for q, p in QUEUES.items()) + ".") from None
        if pool.type != POOL_TYPE:
            raise WorkerCheckFailed(
                f"work pool {POOL!r} at {api_url} is of type {pool.type!r}, not {POOL_TYPE!r}: "
                "the deployments of prefect.yaml need a process pool. Recreate it (prefect "
                f"work-pool delete {POOL}, then `paperflow up` on the server machine).")
        names = [queue.name for queue in client.read_work_queues(work_pool_name=POOL)]
    unknown = [queue for queue in queues if queue not in names]
    if unknown:
        raise WorkerCheckFailed(
            f"work pool {POOL!r} at {api_url} has no queue {', '.join(map(repr, unknown))}; its "
            f"queues are {', '.join(names) or 'none'}. Pick from those (--queue), or leave "
            "--queue out to take every queue.")
    return PoolInfo(type=pool.type, paused=bool(pool.is_paused), queues=names)


def storage_source(api_url: str, env: Mapping[str, str], data_dir: Path) -> list[str]:
    """Where the worker's flow runs will store papers, as flows/worker_settings.py decides."""
    own = next((name for name in BUCKET_VARIABLES if env.get(name, "").strip()), None)
    if own:
        endpoint = next((env[n] for n in ENDPOINT_VARIABLES if env.get(n, "").strip()), "AWS")
        return [f"storage: this machine's S3 settings ({own}={env[own]}, endpoint {endpoint}); "
                "they win over the server's blocks"]
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.worker_settings import storage_env_from_blocks

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            blocks = storage_env_from_blocks()
    except Exception as exc:
        raise WorkerCheckFailed(
            f"could not read the server's {ASSETS_BLOCK!r} block ({type(exc).__name__}: {exc}), "
            "so every flow run of this worker would fail. Check that `paperflow blocks register` "
            "ran against this server, or set PAPERFLOW_S3_BUCKET and the keys on this "
            "machine.") from exc
    if not blocks:
        return [f"storage: this machine's disk ({data_dir / 'store'}): the server has no "
                f"{ASSETS_BLOCK!r} block (its stack runs without S3), so papers this worker "
                "processes stay here, out of reach of runs on other machines (S3: docs/s3.md)"]
    bucket = blocks["PAPERFLOW_S3_BUCKET"]
    prefix = blocks.get("PAPERFLOW_S3_PREFIX", "")
    endpoint = blocks.get("PAPERFLOW_S3_ENDPOINT_URL", "AWS")
    lines = [f"storage: the server's blocks ({ASSETS_BLOCK!r}): s3://{bucket}/{prefix}"
             f"{'/' if prefix else ''} at {endpoint}, read by every flow run before it stores "
             "anything (flows/worker_settings.py)"]
    if endpoint != "AWS" and _loopback(endpoint) and not _loopback(api_url):
        lines.append(
            f"warning: the blocks name S3 at {endpoint}, a loopback address: on this machine "
            "that is this machine. Tunnel that port to the server (ssh -L) or set "
            "PAPERFLOW_S3_ENDPOINT_URL, PAPERFLOW_S3_BUCKET and the keys on this machine.")
    return lines


def preflight(api_url: str, queues: Sequence[str], env: Mapping[str, str],
              data_dir: Path) -> list[str]:
    """Run every check; what was found, one line each (`WorkerCheckFailed` on a failure)."""
    version = check_api(api_url)
    pool = check_pool(api_url, queues)
    lines = [f"API: {api_url} (Prefect server {version})",
             f"work pool {POOL!r} ({pool.type}), queues "
             f"{', '.join(queues) if queues else ', '.join(pool.queues) + ' (all)'}"]
    if pool.paused:
        lines.append(f"warning: work pool {POOL!r} is paused: this worker takes no runs until "
                     f"it is resumed (UI, or prefect work-pool resume {POOL})")
    return lines + storage_source(api_url, env, data_dir)


def exec_worker(command: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Become the worker: same pid, so every signal reaches it (Ctrl-C stops it cleanly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], list(command), dict(env))

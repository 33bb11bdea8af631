"""The background Prefect server of `paperflow process`: started on first use, reused after.

Without PREFECT_API_URL and without a `paperflow up` stack, every `paperflow process` used to
start Prefect's embedded server (8-14 s) and stop it again. Instead the first call starts
`prefect server start` on a loopback port (PAPERFLOW_LOCAL_SERVER_PORT, default 4210; a free
one when that is taken) as a detached process in its own session, with the same PREFECT_HOME
the embedded server used (so the run history continues), and later calls find it alive and
reuse it. `paperflow down` stops it; `paperflow up` stops it too, as the stack's server takes
over. PAPERFLOW_BACKGROUND_SERVER=false (or `process --no-background-server`) keeps the
embedded server.

Its files live under `<data dir>/server/`: `server.pid`, `server.json` (pid, API URL,
PREFECT_HOME, database) and `server.log`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from deployments.seaweedfs import port_in_use, process_alive, stop_process_group

DEFAULT_PORT = 4210
START_TIMEOUT = 120.0
"""Seconds a new server gets to answer /api/health."""
STOP_GRACE = 20.0
"""Seconds between SIGTERM and SIGKILL when stopping it."""
FALSE_WORDS = {"0", "false", "no", "off"}


def background_server_enabled(env: dict[str, str] | None = None) -> bool:
    """Whether PAPERFLOW_BACKGROUND_SERVER allows a background server (default: yes)."""
    value = (env if env is not None else os.environ).get("PAPERFLOW_BACKGROUND_SERVER", "")
    return value.strip().lower() not in FALSE_WORDS


def prefect_home(env: dict[str, str] | None = None) -> Path:
    """The PREFECT_HOME the embedded server would use: the variable, else ~/.prefect."""
    value = (env if env is not None else os.environ).get("PREFECT_HOME", "").strip()
    return Path(value or "~/.prefect").expanduser().resolve()


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """Whether a Prefect API answers /health at `api_url`."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


HEARTBEAT_SECONDS = 30
"""Seconds between the heartbeats of a flow run on the stack (deployment runs and `paperflow
process` calls alike): the stack's zombie automation marks a run Crashed after three missed."""


def stack_api_url(data_dir: Path) -> str | None:
    """The API of the `paperflow up` stack under `data_dir`, when its stack.json says one and
    it answers."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        url = str(json.loads((data_dir / "stack" / "stack.json").read_text())["api_url"])
        if healthy(url, timeout=2.0):
            return url
    return None


@dataclass
class Started:
    """The background server a call uses, and whether this call started it."""

    api_url: str
    pid: int
    started: bool
    seconds: float = 0.0
    note: str = ""
    """What happened to a server found unusable (stale pid file, other PREFECT_HOME)."""


@dataclass
class LocalServer:
    """The background server whose files live under `root` (`<data dir>/server`)."""

    root: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"

    @classmethod
    def for_data_dir(cls, data_dir: Path, env: dict[str, str] | None = None) -> LocalServer:
        """The one under `<data_dir>/server`, preferring PAPERFLOW_LOCAL_SERVER_PORT (4210)."""
        port = (env if env is not None else os.environ).get("PAPERFLOW_LOCAL_SERVER_PORT", "")
        try:
            chosen = int(port.strip() or DEFAULT_PORT)
        except ValueError:
            raise ValueError(f"PAPERFLOW_LOCAL_SERVER_PORT={port!r} is not a port number: set "
                             f"it to one, e.g. {DEFAULT_PORT}, or unset it.") from None
        return cls(data_dir / "server", port=chosen)

    @property
    def pid_file(self) -> Path:
        return self.root / "server.pid"

    @property
    def state_file(self) -> Path:
        return self.root / "server.json"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def state(self) -> dict[str, object] | None:
        """What server.json says of the last server started, if anything."""
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(self.state_file.read_text())
            if isinstance(state, dict):
                return state
        return None

    def running(self) -> int | None:
        """The pid of our server if it is still alive (a reused pid does not count), else None."""
        try:
            pid = int(self.pid_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return None
        if pid <= 0 or not process_alive(pid):
            return None
        cmdline = Path(f"/proc/{pid}/cmdline")
        with contextlib.suppress(OSError):  # no /proc (macOS): trust the pid
            if b"prefect" not in cmdline.read_bytes():
                return None
        return pid

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold `start.lock`, so two cold `process` calls start one server, not two."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "start.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(self, env: dict[str, str] | None = None, home: Path | None = None,
               timeout: float = START_TIMEOUT) -> Started:
        """The running server when it serves this PREFECT_HOME and database, else a new one.

        `home` is the Prefect home to serve (default: `prefect_home(env)`). Raises
        RuntimeError (naming the log) when a new one does not come up.
        """
        env = dict(env if env is not None else os.environ)
        wanted = _identity(env, home)
        with self._lock():
            pid, state, note = self.running(), self.state() or {}, ""
            if pid is not None:
                url = str(state.get("api_url") or "")
                same = {k: state.get(k) for k in wanted} == wanted
                if same and url and _wait_healthy(url, lambda: self.running() is not None, 15.0):
                    return Started(url, pid, started=False)
                note = (f"stopped the background Prefect server (pid {pid}) "
                        + ("started for another PREFECT_HOME or database" if not same
                           else "that did not answer") + "; starting a new one")
                stop_process_group(pid, STOP_GRACE)
            elif self.pid_file.exists():
                note = "removed a stale background-server pid file (its process is gone)"
            self.pid_file.unlink(missing_ok=True)
            return self._start(env, wanted, timeout, note)

    def _start(self, env: dict[str, str], identity: dict[str, str], timeout: float,
               note: str) -> Started:
        port = self.port if not port_in_use(self.port, self.host) else _free_port(self.host)
        url = f"http://{self.host}:{port}/api"
        home = Path(identity["prefect_home"])
        home.mkdir(parents=True, exist_ok=True)
        server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        server_env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        server_env.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
        started_at = time.perf_counter()
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", self.host,
                 "--port", str(port)], cwd=self.root, env=server_env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid_file.write_text(str(process.pid))
        self.state_file.write_text(json.dumps(
            {"pid": process.pid, "api_url": url, **identity}, indent=2))

        def alive() -> bool:
            return process.poll() is None

        if not _wait_healthy(url, alive, timeout):
            code = process.poll()
            if code is None:
                stop_process_group(process.pid, 5.0)
            self.pid_file.unlink(missing_ok=True)
            why = f"exited with code {code}" if code is not None \
                else f"did not answer within {timeout:.0f} s"
            tail = _tail(self.log)
            raise RuntimeError(f"the background Prefect server on {url} {why}; see {self.log}"
                               + (f" (last lines: {tail})" if tail else ""))
        return Started(url, process.pid, started=True,
                       seconds=time.perf_counter() - started_at, note=note)

    def stop(self) -> str | None:
        """Stop our server if it runs; what was done, or None when nothing ran."""
        with self._lock():
            pid = self.running()
            url = (self.state() or {}).get("api_url", "")
            self.pid_file.unlink(missing_ok=True)
            if pid is None:
                return None
            killed = stop_process_group(pid, STOP_GRACE)
            return (f"stopped background server (pid {pid}{', killed' if killed else ''}, "
                    f"{url})")


def _identity(env: dict[str, str], home: Path | None = None) -> dict[str, str]:
    """What a reusable server must share with this call: its Prefect home and database."""
    return {"prefect_home": str((home or prefect_home(env)).expanduser().resolve()),
            "database": env.get("PREFECT_API_DATABASE_CONNECTION_URL", "")}


def _wait_healthy(url: str, alive: Callable[[], bool], timeout: float) -> bool:
    """Poll /health until it answers (True), the process dies or `timeout` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(url, timeout=2.0):
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 3) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
        return " | ".join(line.strip() for line in text if line.strip())[-600:]
    return ""

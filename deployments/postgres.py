"""A private PostgreSQL cluster for the local stack's Prefect server (`paperflow up --postgres`).

SQLite serialises every write: 100 concurrent flow runs made the server answer HTTP 503, while
PostgreSQL took them in 16 s. The cluster is Debian's PostgreSQL binaries (installed by
`scripts/ensure_postgres.sh`), its own data folder, listening on a loopback port only, trusted
local connections, one database `prefect`. Run as root, PostgreSQL refuses to start, so the
cluster then belongs to the `postgres` system user and lives where that user can reach it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "prefect"
USER = "prefect"


class PostgresError(RuntimeError):
    """The cluster could not be created, started or stopped; the message says why."""


def binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries (initdb, pg_ctl)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class LocalPostgres:
    """One cluster: `data_dir`, a loopback `port`, its log beside the data."""

    data_dir: Path
    port: int

    @classmethod
    def for_stack(cls, stack_root: Path, port: int) -> LocalPostgres:
        """The stack's cluster: inside its folder, or (as root) a folder `postgres` can own."""
        if os.geteuid() != 0:
            return cls(stack_root / "postgres", port)
        digest = hashlib.sha256(str(stack_root.resolve()).encode()).hexdigest()[:12]
        return cls(Path("/var/tmp") / f"paperflow-postgres-{digest}", port)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect's server takes (PREFECT_API_DATABASE_CONNECTION_URL)."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".log")

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        bin_dir = binaries()
        if bin_dir is None:
            raise PostgresError("PostgreSQL's server binaries are missing: run "
                                "scripts/ensure_postgres.sh (Debian package `postgresql`).")
        command = [str(bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def _prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").is_file():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
            shutil.chown(self.log, "postgres", "postgres")
        self.data_dir.chmod(0o700)
        done = self._run("initdb", "-D", str(self.data_dir), "-U", USER, "--auth=trust",
                         "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise PostgresError(f"initdb failed in {self.data_dir}:\n{done.stderr[-2000:]}")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def start(self) -> str:
        """Create the cluster on first use, start it, create the database; says what it did."""
        self._prepare()
        if not self.running():
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                       f"-c unix_socket_directories='' -c max_connections=200 "
                       "-c fsync=off -c synchronous_commit=off")
            done = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log),
                             "-o", options, "-w", "-t", "60", "start")
            if done.returncode:
                raise PostgresError(f"PostgreSQL did not start on port {self.port}: "
                                    f"{done.stderr.strip()[-500:]}\n{self._log_tail()}")
        self._create_database()
        return f"PostgreSQL at 127.0.0.1:{self.port} (data {self.data_dir})"

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            done = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER,
                             DATABASE)
            if done.returncode == 0 or "already exists" in done.stderr:
                return
            if time.monotonic() > deadline:
                raise PostgresError(f"createdb {DATABASE} failed: {done.stderr.strip()}")
            time.sleep(0.5)

    def stop(self) -> bool:
        """Stop the cluster (fast: open connections are closed); False if it was not running."""
        if not (self.data_dir / "PG_VERSION").is_file() or not self.running():
            return False
        done = self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        if done.returncode:
            raise PostgresError(f"PostgreSQL did not stop: {done.stderr.strip()}")
        return True

    def remove(self) -> None:
        """Stop and delete the cluster and its log."""
        self.stop()
        if os.geteuid() == 0:
            subprocess.run(["rm", "-rf", str(self.data_dir), str(self.log)], check=False)
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.log.unlink(missing_ok=True)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

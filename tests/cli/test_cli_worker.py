"""`paperflow worker`: arguments, the checks before starting, and a real worker joining a server."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import deployments.worker as worker_module
import flows.worker_settings as worker_settings
from cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from deployments.stack import HEARTBEAT_SECONDS, POOL, PROJECT_DIR, QUEUES, free_port
from deployments.worker import WorkerCheckFailed, storage_source
from tests.conftest import ROOT
from tests.httpserver import Route, serve

API = "http://prefect.example:4200/api"


class Execed(Exception):
    """Raised instead of exec: what the command would have become."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        super().__init__(command)
        self.command = list(command)
        self.env = env


@pytest.fixture
def no_exec(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> list[Sequence[str]]:
    """Checks that pass without a server; exec records the command and raises `Execed`."""
    checked: list[Sequence[str]] = []

    def preflight(api_url: str, queues: Sequence[str], env: Any, data: Path) -> list[str]:
        checked.append(queues)
        return [f"API: {api_url}"]

    def exec_worker(command: Sequence[str], env: dict[str, str]) -> None:
        raise Execed(command, env)

    monkeypatch.setattr(worker_module, "preflight", preflight)
    monkeypatch.setattr(worker_module, "exec_worker", exec_worker)
    for name in ("PAPERFLOW_WORKER_LIMIT", "PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
                 "PAPERFLOW_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return checked


def _option(command: list[str], name: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == name]


def test_worker_runs_prefect_worker_on_the_papers_pool(no_exec: list[Sequence[str]],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Execed) as execed:
        main(["worker", "--api-url", API + "/", "--limit", "3", "--queue", "on-demand",
              "--queue", "scheduled,bulk", "--name", "second-machine"])
    command, env = execed.value.command, execed.value.env
    assert command[:5] == [sys.executable, "-m", "prefect", "worker", "start"]
    assert _option(command, "--pool") == [POOL] and _option(command, "--type") == ["process"]
    assert _option(command, "--limit") == ["3"] and _option(command, "--name") == ["second-machine"]
    assert _option(command, "--work-queue") == ["on-demand", "scheduled", "bulk"]
    assert "--no-create-pool-if-not-found" in command
    assert env["PREFECT_API_URL"] == API
    assert env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == str(HEARTBEAT_SECONDS) == "30"
    assert env["PAPERFLOW_PROJECT_DIR"] == str(PROJECT_DIR)
    assert no_exec == [["on-demand", "scheduled", "bulk"]]
    out = capsys.readouterr().out
    assert f"paperflow worker: API: {API}" in out
    assert "running: prefect worker start --pool papers" in out and "Ctrl-C" in out


def test_worker_defaults(no_exec: list[Sequence[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", API)
    with pytest.raises(Execed) as execed:
        main(["worker"])
    command = execed.value.command
    assert _option(command, "--limit") == ["4"], "the default of `paperflow up`'s worker"
    assert _option(command, "--work-queue") == [] and _option(command, "--name") == []

    monkeypatch.setenv("PAPERFLOW_WORKER_LIMIT", "7")
    monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "10")
    with pytest.raises(Execed) as execed:
        main(["worker"])
    assert _option(execed.value.command, "--limit") == ["7"]
    assert execed.value.env["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "10", "explicit one wins"


def test_worker_usage_errors(no_exec: list[Sequence[str]], monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (["--limit", "0"], ["--limit", "many"]):
        with pytest.raises(SystemExit) as exited:
            main(["worker", "--api-url", API, *bad])
        assert exited.value.code == EXIT_USAGE
    assert "whole number of at least 1" in capsys.readouterr().err

    monkeypatch.setenv("PAPERFLOW_WORKER_LIMIT", "lots")
    assert main(["worker", "--api-url", API]) == EXIT_USAGE
    assert "PAPERFLOW_WORKER_LIMIT='lots' is not a whole number" in capsys.readouterr().err

    monkeypatch.delenv("PAPERFLOW_WORKER_LIMIT")
    assert main(["worker", "--api-url", "prefect.example:4200"]) == EXIT_USAGE
    assert "not an http(s) URL" in capsys.readouterr().err
    assert no_exec == []


def test_worker_without_any_api(no_exec: list[Sequence[str]], monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main(["worker"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "no Prefect API to join" in err and "--api-url" in err and "PREFECT_API_URL" in err
    assert no_exec == []


@pytest.fixture
def never_exec(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    def exec_worker(command: Sequence[str], env: dict[str, str]) -> None:
        raise AssertionError(f"started a worker although a check failed: {command}")

    monkeypatch.setattr(worker_module, "exec_worker", exec_worker)


@pytest.mark.usefixtures("never_exec")
def test_api_down_fails_naming_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    started = time.monotonic()
    assert main(["worker", "--api-url", url]) == EXIT_FAILED
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert f"no Prefect API answers at {url}" in err and "ConnectError" in err, err
    assert "paperflow up" in err and "--api-url" in err
    assert "SSH tunnel" not in err, "a loopback URL needs no tunnel"

    assert main(["worker", "--api-url", "http://prefect.invalid:4200/api"]) == EXIT_FAILED
    assert "SSH tunnel (ssh -N -L 4200:127.0.0.1:4200" in capsys.readouterr().err


@contextlib.contextmanager
def _fake_prefect(routes: dict[str, Route]) -> Iterator[str]:
    """A loopback server answering health and version like Prefect, plus `routes`; its API URL."""
    with serve({"/api/health": Route(200, b"true"), "/api/admin/version": Route(200, b'"3.8.8"'),
                **routes}) as served:
        yield served.base_url + "/api"


@pytest.mark.usefixtures("never_exec")
def test_missing_pool_says_to_run_paperflow_up(capsys: pytest.CaptureFixture[str]) -> None:
    with _fake_prefect({}) as url:
        assert main(["worker", "--api-url", url]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"the server at {url} has no work pool 'papers'" in err, err
    assert "Run `paperflow up` on the server machine" in err
    assert "prefect work-pool create papers --type process" in err


@pytest.mark.usefixtures("never_exec")
def test_a_pool_of_another_type_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    pool = (b'{"id": "8c3f5a66-4a8f-4d62-9a53-3f3d3c1c2b11", "name": "papers", '
            b'"type": "docker", "is_paused": false}')
    with _fake_prefect({"/api/work_pools/papers": Route(200, pool)}) as url:
        assert main(["worker", "--api-url", url]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "work pool 'papers' at" in err and "is of type 'docker', not 'process'" in err, err


@pytest.mark.usefixtures("never_exec")
def test_a_refusing_server_is_a_message_not_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    refused = Route(401, b'{"detail": "Unauthorized"}', {"Content-Type": "application/json"})
    with _fake_prefect({"/api/work_pools/papers": refused}) as url:
        assert main(["worker", "--api-url", url]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"the server at {url} answered, but reading its work pool 'papers' failed" in err, err
    assert "401" in err and "PREFECT_API_AUTH_STRING" in err and "Traceback" not in err


def test_storage_comes_from_this_machine_the_blocks_or_the_disk(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    own = storage_source(API, {"PAPERFLOW_S3_BUCKET": "mine",
                               "PAPERFLOW_S3_ENDPOINT_URL": "http://s3.lan:9000"}, tmp_path)
    assert own == ["storage: this machine's S3 settings (PAPERFLOW_S3_BUCKET=mine, endpoint "
                   "http://s3.lan:9000); they win over the server's blocks"]

    monkeypatch.setattr(worker_settings, "storage_env_from_blocks", dict)
    (disk,) = storage_source(API, {}, tmp_path)
    assert f"this machine's disk ({tmp_path / 'store'})" in disk and "no 'paperflow-assets'" in disk

    blocks = {"PAPERFLOW_S3_BUCKET": "paperflow", "PAPERFLOW_S3_PREFIX": "team",
              "PAPERFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:8333"}
    monkeypatch.setattr(worker_settings, "storage_env_from_blocks", lambda: blocks)
    line, warning = storage_source(API, {}, tmp_path)
    assert "the server's blocks ('paperflow-assets'): s3://paperflow/team/ at " \
           "http://127.0.0.1:8333" in line and "flows/worker_settings.py" in line
    assert warning.startswith("warning: the blocks name S3 at http://127.0.0.1:8333")
    assert storage_source("http://127.0.0.1:4200/api", {}, tmp_path) == [line.replace(
        API, "http://127.0.0.1:4200/api")], "on the server machine loopback is right"

    def unreadable() -> dict[str, str]:
        raise PermissionError("denied")

    monkeypatch.setattr(worker_settings, "storage_env_from_blocks", unreadable)
    with pytest.raises(WorkerCheckFailed, match="could not read the server's 'paperflow-assets' "
                                                r"block \(PermissionError: denied\)"):
        storage_source(API, {}, tmp_path)


def _ensure_pool(api_url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as client:
        with contextlib.suppress(ObjectAlreadyExists):
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        for name, priority in QUEUES.items():
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_work_queue(name, work_pool_name=POOL, priority=priority)


def _worker_seen(api_url: str, name: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), \
            get_client(sync_client=True) as client:
        return any(w.name == name and w.last_heartbeat_time
                   for w in client.read_workers_for_work_pool(POOL))


@pytest.mark.slow
def test_against_a_real_server(prefect_server: str, tmp_path: Path, data_dir: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """The checks pass on a server with the pool; the worker registers; Ctrl-C stops it."""
    _ensure_pool(prefect_server)
    assert main(["worker", "--api-url", prefect_server, "--queue", "nope", "--check"]) \
        == EXIT_FAILED
    err = capsys.readouterr().err
    assert "has no queue 'nope'; its queues are" in err and "on-demand" in err, err
    assert main(["worker", "--api-url", prefect_server, "--queue", "on-demand", "--check"]) \
        == EXIT_OK
    out = capsys.readouterr().out
    assert "work pool 'papers' (process), queues on-demand" in out and "storage: " in out
    assert "would run: prefect worker start --pool papers --type process --limit 4" in out

    name = f"test-worker-{os.getpid()}"
    log = tmp_path / "worker.log"
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(data_dir), "PREFECT_LOGGING_LEVEL": "INFO"}
    env.pop("PREFECT_API_URL", None)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "paperflow", "worker", "--api-url", prefect_server,
             "--limit", "1", "--name", name], cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not _worker_seen(prefect_server, name):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker never registered\n" + log.read_text()
            time.sleep(1)
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "paperflow worker: running: prefect worker start --pool papers --type process " \
           f"--limit 1 --no-create-pool-if-not-found --name {name}" in text, text
    assert f"Worker '{name}' started" in text, text
    assert "Traceback" not in text, text
    assert code in (0, 130, -signal.SIGINT), (code, text)

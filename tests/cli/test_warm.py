"""A warm `paperflow process` (cli/warm.py): later calls run in a child of a process that has
the flow code imported, with the caller's streams, exit code and Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import warm
from tests.conftest import ROOT
from tests.pdfs import HTML_PAGE, make_paper


def test_the_fingerprint_follows_environment_settings_files_and_code(tmp_path: Path) -> None:
    code = tmp_path / "code"
    for package in warm.PACKAGES:
        (code / package).mkdir(parents=True)
        (code / package / "__init__.py").write_text("")
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {"PAPERFLOW_DATA_DIR": "/data", "PWD": str(cwd), "PATH": "/usr/bin"}
    first = warm.fingerprint(env, cwd, code)
    assert warm.fingerprint({**env, "PWD": "/elsewhere", "OLDPWD": "/x"}, cwd, code) == first
    assert warm.fingerprint({**env, "PAPERFLOW_DATA_DIR": "/other"}, cwd, code) != first
    assert warm.fingerprint({**env, "PREFECT_API_URL": "http://h/api"}, cwd, code) != first
    (cwd / ".env").write_text("PAPERFLOW_LLM_MODEL=x\n")
    with_dotenv = warm.fingerprint(env, cwd, code)
    assert with_dotenv != first
    (code / "flows" / "__init__.py").write_text("# changed\n")
    assert warm.fingerprint(env, cwd, code) != with_dotenv


def test_only_process_calls_and_only_a_private_folder(tmp_path: Path) -> None:
    assert warm.enabled(["process", "a.pdf"], {})
    assert not warm.enabled(["process", "a.pdf"], {"PAPERFLOW_WARM_PROCESS": "false"})
    assert not warm.enabled(["search", "x"], {})
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    folder = warm.runtime_dir(env)
    assert folder is not None and folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)  # readable by others: no socket there
    assert warm.runtime_dir(env) is None and warm.socket_path(env, tmp_path) is None


def test_down_stops_what_holds_a_lock_and_clears_what_was_left(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    folder = warm.runtime_dir(env)
    assert folder is not None
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    for suffix, text in ((".sock", ""), (".pid", gone.stdout), (".lock", ""), (".log", "x")):
        (folder / f"crashed{suffix}").write_text(text)  # a warm process that died
    holding = subprocess.Popen(  # a warm process still importing: it holds its lock
        [sys.executable, "-c", "import fcntl, os, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[2], 'w').write(str(os.getpid())); "
         "print('locked', flush=True); time.sleep(60)",
         str(folder / "starting.lock"), str(folder / "starting.pid")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holding.stdout is not None and holding.stdout.readline() == "locked\n"
        assert warm.stop_all(env) == [f"stopped warm process (pid {holding.pid})"]
        assert holding.wait(timeout=10) == -signal.SIGTERM
    finally:
        holding.kill()
    # A crashed process's log is kept for reading; nothing else is left.
    assert sorted(path.name for path in folder.iterdir()) == ["crashed.log"]
    assert warm.stop_all(env) == []


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A short private folder for the sockets (AF_UNIX paths are short); warm processes in it
    are stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="pfw-"))
    try:
        yield folder
    finally:
        warm.stop_all({"XDG_RUNTIME_DIR": str(folder)})
        shutil.rmtree(folder, ignore_errors=True)


def _env(prefect_server: str, data: Path, runtime: Path) -> dict[str, str]:
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(data), "PREFECT_API_URL": prefect_server,
           "XDG_RUNTIME_DIR": str(runtime), "PAPERFLOW_WARM_PROCESS": "true",
           "PAPERFLOW_WARM_IDLE_SECONDS": "300"}
    return env


def _paperflow(args: list[str], env: dict[str, str],
               cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "paperflow", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _wait_for(path: Path, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds:.0f} s"
        time.sleep(0.2)


def _state(runtime: Path) -> str:
    """The warm processes' folder and logs, for a failing assertion's message."""
    lines = []
    for path in sorted(runtime.rglob("*")):
        lines.append(str(path))
        if path.suffix in (".log", ".pid"):
            lines.append(path.read_text(errors="replace"))
    return "\n".join(lines)


def _served(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " child " in line]


def test_later_calls_run_warm_with_the_callers_streams_and_exit_code(
        prefect_server: str, tmp_path: Path, runtime: Path) -> None:
    env = _env(prefect_server, tmp_path / "data", runtime)
    first_pdf, second_pdf, html = (tmp_path / "first.pdf", tmp_path / "second.pdf",
                                   tmp_path / "page.pdf")
    first_pdf.write_bytes(make_paper(title="A Cold Call Paper", nonce="warm-1"))
    second_pdf.write_bytes(make_paper(title="A Warm Call Paper", nonce="warm-2"))
    html.write_bytes(HTML_PAGE)
    sock = warm.socket_path(env, ROOT)
    assert sock is not None and not sock.exists()

    cold = _paperflow(["process", str(first_pdf), "--json", "--no-figures"], env)
    assert cold.returncode == 0, cold.stderr
    assert json.loads(cold.stdout)["title"] == "A Cold Call Paper"
    _wait_for(sock)  # the cold call left a warm process behind
    log = sock.with_suffix(".log")
    assert "serving" in log.read_text() and _served(log) == []

    out = tmp_path / "out" / "second.json"
    warm_call = _paperflow(["process", str(second_pdf), "--out", str(out), "--no-figures"], env)
    assert warm_call.returncode == 0, warm_call.stderr
    assert _served(log) and _served(log)[-1].endswith(f"process {second_pdf} --out {out} "
                                                       "--no-figures")
    # The child wrote to the caller's own stdout and stderr, and the file where it was asked.
    assert "Title:      A Warm Call Paper" in warm_call.stdout
    assert f"[1/1] {second_pdf}: done" in warm_call.stderr
    assert json.loads(out.read_text())["title"] == "A Warm Call Paper"

    failed = _paperflow(["process", str(html)], env)
    assert failed.returncode == 1 and "HTML page" in failed.stderr, failed.stderr
    # Calls that end at once: the caller hangs up as the child exits, which once carried the
    # child into the warm process's clean-up (its socket and lock removed, later calls cold).
    for _ in range(10):
        usage = _paperflow(["process"], env)
        assert usage.returncode == 2 and "usage:" in usage.stderr
    assert len(_served(log)) == 12, _state(runtime)  # all of them ran warm
    assert sock.exists(), _state(runtime)

    # Another environment is another warm process: this call ran cold.
    other = _paperflow(["process", str(second_pdf), "--json", "--no-figures"],
                       {**env, "PAPERFLOW_TEST_MARK": "another"})
    assert other.returncode == 0 and len(_served(log)) == 12

    down = _paperflow(["down"], env)
    assert down.returncode == 0, down.stderr
    assert "stopped warm process" in down.stdout, _state(runtime)
    deadline = time.monotonic() + 30
    while sock.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not sock.exists(), _state(runtime)


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A URL whose server accepts the connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/paper.pdf"
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_ctrl_c_reaches_the_warm_child(prefect_server: str, tmp_path: Path, runtime: Path,
                                       hanging_url: str) -> None:
    env = _env(prefect_server, tmp_path / "data", runtime)
    sample = tmp_path / "sample.pdf"
    sample.write_bytes(make_paper(title="Leaves A Warm Process", nonce="warm-int"))
    assert _paperflow(["process", str(sample), "--json", "--no-figures"], env).returncode == 0
    sock = warm.socket_path(env, ROOT)
    assert sock is not None
    _wait_for(sock)
    call = subprocess.Popen([sys.executable, "-m", "paperflow", "process", hanging_url],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    log = sock.with_suffix(".log")
    deadline = time.monotonic() + 60
    while not _served(log):
        assert time.monotonic() < deadline and call.poll() is None, "the call was not served"
        time.sleep(0.2)
    time.sleep(3.0)  # the child is waiting for the URL by now
    call.send_signal(signal.SIGINT)
    _, stderr = call.communicate(timeout=120)
    assert call.returncode == 130, stderr
    assert "interrupted" in stderr

"""A warm `paperflow process`: a process that has imported the flow code forks one child per call.

On a warm background server a one-paper `paperflow process` spent most of its time before and
around the paper's own work: importing Prefect and the flow code (about 4 s of CPU), starting
the parse sandbox's fork server, first uses of the client. So a cold call leaves a warm process
behind (detached, its own session) that has imported all of it and waits on a Unix socket in a
private folder (`$XDG_RUNTIME_DIR` or the temp folder, `paperflow-warm-<uid>`, mode 0700; the
peer's user is checked too). A later `process` call connects, hands over its stdin, stdout and
stderr, its arguments and working folder; the warm process forks a child that runs the command
with them exactly as the cold call would (`cli.main.main`: same checks, logs, progress, output
files) and sends back its exit code. Ctrl-C in the calling terminal is forwarded to the child;
a caller that goes away interrupts it.

A warm process serves only calls that would behave as it does: the socket is named after a
digest of the environment (volatile shell variables aside), the working folder's settings files
(`.env`, `prefect.toml`, `pyproject.toml`, which Prefect and paperflow read), the source files
of the five packages and the interpreter. Any difference selects another socket, and that call
runs cold and leaves its own warm process. Idle for `PAPERFLOW_WARM_IDLE_SECONDS` (default
1800) a warm process exits; `paperflow down` stops them; `PAPERFLOW_WARM_PROCESS=false` turns
the whole thing off.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

CODE_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("paperflow", "flows", "tasks", "deployments", "cli")
SETTINGS_FILES = (".env", "prefect.toml", "pyproject.toml")
VOLATILE = frozenset({"_", "PWD", "OLDPWD", "SHLVL", "COLUMNS", "LINES", "TERM_SESSION_ID",
                      "WINDOWID", "PS1", "PROMPT_COMMAND", "SSH_CLIENT", "SSH_CONNECTION",
                      "SSH_TTY"})
"""Shell variables that change between calls without changing what a call does."""
FALSE_WORDS = {"0", "false", "no", "off"}
DEFAULT_IDLE_SECONDS = 1800.0
MAX_SOCKET_PATH = 100
"""AF_UNIX paths are limited to 107 bytes; a longer folder turns warm calls off."""
PRELOAD = ("cli.main", "flows.process_paper", "tasks.policy", "paperflow.report",
           "paperflow.storage", "paperflow.sandbox", "prefect.main")
FIRST_USE_IMPORTS = ("fastapi.encoders", "graphviz", "opentelemetry.trace", "PIL.Image",
                     "requests", "wordllama")
"""What a run imports on first use (measured: about 300 modules after the flow's own, among
them Prefect's parameter encoder from FastAPI, Pillow's plugins, the embedding model's)."""
_HEADER = struct.Struct("!I")
_INHERITED: list[object] = []
"""The listening socket and the lock file: closed in each child, which must not hold them."""


def enabled(argv: list[str], env: Mapping[str, str]) -> bool:
    """Whether this command line may be served warm: `process`, unless turned off, where the
    caller's user can be checked (Linux's SO_PEERCRED; elsewhere every call runs cold)."""
    if env.get("PAPERFLOW_WARM_PROCESS", "").strip().lower() in FALSE_WORDS:
        return False
    return bool(argv) and argv[0] == "process" and hasattr(socket, "SO_PEERCRED")


def fingerprint(env: Mapping[str, str], cwd: Path, code_root: Path = CODE_ROOT) -> str:
    """What a warm process must share with a call to serve it (see the module docstring)."""
    digest = hashlib.sha256(f"{sys.executable}\0{sys.version}\0{code_root}\0".encode())
    for key in sorted(env):
        if key not in VOLATILE:
            digest.update(f"{key}={env[key]}\0".encode("utf-8", "surrogateescape"))
    for name in SETTINGS_FILES:
        try:
            digest.update(name.encode() + b"=" + (cwd / name).read_bytes() + b"\0")
        except OSError:
            digest.update(name.encode() + b" absent\0")
    for package in PACKAGES:
        for path in sorted((code_root / package).rglob("*.py")):
            info = path.stat()
            digest.update(f"{path}:{info.st_mtime_ns}:{info.st_size}\0".encode())
    return digest.hexdigest()[:24]


def runtime_dir(env: Mapping[str, str]) -> Path | None:
    """The private folder of this user's warm processes, or None when it is not private."""
    base = Path(env.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = base / f"paperflow-warm-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    private = (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
               and not info.st_mode & 0o077)
    return folder if private else None


def socket_path(env: Mapping[str, str], cwd: Path) -> Path | None:
    """The socket a warm process for this call listens on, or None when there can be none."""
    folder = runtime_dir(env)
    if folder is None:
        return None
    path = folder / f"{fingerprint(env, cwd)}.sock"
    return path if len(str(path)) <= MAX_SOCKET_PATH else None


# --------------------------------------------------------------------------------------------
# The calling side
# --------------------------------------------------------------------------------------------


def call(argv: list[str], env: Mapping[str, str], cwd: Path) -> int | None:
    """Run `paperflow <argv>` in a child of a warm process; its exit code, or None when no
    warm process serves this call (the caller then runs it itself)."""
    path = socket_path(env, cwd)
    if path is None or not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
        request = json.dumps({"argv": argv, "cwd": str(cwd)}).encode()
        socket.send_fds(conn, [_HEADER.pack(len(request)) + request], [0, 1, 2])
        reply = _Lines(conn)
        started = reply.next()
    except OSError:
        conn.close()
        return None
    if not started.startswith("started "):  # refused before forking: run it here instead
        conn.close()
        return None
    with conn, _forward_signals(conn):
        while True:
            try:
                line = reply.next()
            except OSError:
                line = ""
            if line.startswith("exit "):
                return int(line.split()[1])
            if not line:
                print(f"paperflow: the warm process's child ({started.split()[1]}) ended "
                      "without an exit code; PAPERFLOW_WARM_PROCESS=false runs calls in their "
                      "own process.", file=sys.stderr)
                return 1


class _Lines:
    """Newline-terminated replies read from a socket; "" at its end."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn, self._buffer = conn, b""

    def next(self) -> str:
        while b"\n" not in self._buffer:
            try:
                chunk = self._conn.recv(4096)
            except InterruptedError:
                continue
            if not chunk:
                return ""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


@contextlib.contextmanager
def _forward_signals(conn: socket.socket) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP reach the child (as Ctrl-C) while the call waits for it."""
    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"INT\n")

    previous = {signum: signal.signal(signum, forward)
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def start_in_background(env: Mapping[str, str], cwd: Path) -> Path | None:
    """Leave a warm process for later calls like this one (none if one runs or can't);
    the socket it will listen on.

    The lock that marks a live warm process is taken here and handed to it, and its pid
    written, before this returns: a `paperflow down` right after this call stops it too."""
    import fcntl

    path = socket_path(env, cwd)
    if path is None:
        return None
    try:
        lock = path.with_suffix(".lock").open("a")
    except OSError:
        return None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a warm process lives (or is starting) for this socket
        pid_file = path.with_suffix(".pid")
        pid_file.unlink(missing_ok=True)
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from cli.warm import serve; "
                "sys.exit(serve(sys.argv[2], int(sys.argv[3])))")
        with path.with_suffix(".log").open("ab") as log:
            # -P: the working folder must not shadow the project's packages (`python -m`
            # adds it); the lock is inherited, so it stays held once this process closes it.
            child = subprocess.Popen(
                [sys.executable, "-P", "-c", code, str(CODE_ROOT), str(path), str(lock.fileno())],
                cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, pass_fds=(lock.fileno(),))
        pid_file.write_text(str(child.pid))
    return path


def stop_all(env: Mapping[str, str] | None = None, wait_seconds: float = 15.0) -> list[str]:
    """Stop this user's warm processes, those still importing too; a line for each one."""
    folder = runtime_dir(env if env is not None else os.environ)
    lines: list[str] = []
    stopping: list[Path] = []
    for lock_file in sorted(folder.glob("*.lock")) if folder else []:
        pid = _holder(lock_file)
        if pid is None:
            _remove_leftovers(lock_file)
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            lines.append(f"stopped warm process (pid {pid})")
            stopping.append(lock_file)
    deadline = time.monotonic() + wait_seconds
    for lock_file in stopping:
        while _holder(lock_file) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        _remove_leftovers(lock_file)
    return lines


def _holder(lock_file: Path) -> int | None:
    """The pid of the warm process holding `lock_file`, or None when none holds it.

    The lock, not the pid, tells whether a warm process lives: the kernel drops it when the
    process ends, however it ends, so a pid left behind is never signalled."""
    import fcntl

    try:
        with lock_file.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                return None  # free: its process has ended (the lock goes with the handle)
    except OSError:
        return None
    pid_file = lock_file.with_suffix(".pid")
    for _ in range(50):  # the holder writes its pid right after taking the lock
        with contextlib.suppress(OSError, ValueError):
            return int(pid_file.read_text().strip())
        time.sleep(0.02)
    return None


def _remove_leftovers(lock_file: Path) -> None:
    """Remove what an ended warm process left (a crashed one keeps its log), while holding
    its lock so that no new warm process is starting on the same files."""
    import fcntl

    with contextlib.suppress(OSError), lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for suffix in (".sock", ".new", ".pid"):
            lock_file.with_suffix(suffix).unlink(missing_ok=True)
        lock_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# The warm process
# --------------------------------------------------------------------------------------------


def serve(path_text: str, lock_fd: int) -> int:
    """Import the flow code, then fork a child per call on `path_text` until idle.

    `lock_fd` is the socket's lock, taken by the caller that started this process (see
    `start_in_background`): held while this process lives, whatever ends it."""
    path = Path(path_text)
    _INHERITED.append(os.fdopen(lock_fd, "a"))
    if socket_path(os.environ, Path.cwd()) != path:
        _log(f"not serving {path.name}: this process's environment, settings files or code "
             "differ from the caller's")
        return 1
    started = time.perf_counter()
    for module in PRELOAD:
        __import__(module)
    _warm_up()
    from paperflow.sandbox import start_fork_server

    start_fork_server()  # shared by every child (reuse_inherited_fork_server)
    if threading.active_count() != 1:  # a fork would copy a process whose threads vanish
        _log(f"not serving: importing the flow code started threads "
             f"({[thread.name for thread in threading.enumerate()]})")
        return 1
    # What exists now is never collected in a child: collecting it there ran the destructor
    # of an ONNX Runtime session (PyMuPDF's layout model) that waits on its thread pool's
    # threads, which a fork does not copy, and the child hung at exit.
    gc.collect()
    gc.freeze()
    idle = _idle_seconds(os.environ)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        server.close()

    signal.signal(signal.SIGTERM, stop)  # from here on, SIGTERM ends it through `finally`
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    staging = path.with_suffix(".new")
    staging.unlink(missing_ok=True)
    server.bind(str(staging))
    os.chmod(staging, 0o600)
    server.listen(16)
    _INHERITED.append(server)
    _log(f"serving {path.name} (imports {time.perf_counter() - started:.1f} s, "
         f"idle limit {idle:.0f} s)")
    os.replace(staging, path)  # callers connect only once the imports are done
    ours, warm_pid = path.stat().st_ino, os.getpid()
    server.settimeout(idle)
    clean = False
    try:
        while not stopping:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                _log(f"idle for {idle:.0f} s: exiting")
                break
            except OSError as exc:
                if stopping:
                    break  # closed by SIGTERM
                _log(f"accept failed ({exc}); going on")
                time.sleep(0.1)
                continue
            _fork_child(conn)
        clean = True
    finally:
        if os.getpid() != warm_pid:
            os._exit(1)  # a child that got here: the files are the warm process's
        with contextlib.suppress(OSError):
            if path.stat().st_ino == ours:  # not a newer warm process's socket
                path.unlink()
        # The log goes too on a clean exit; after a crash it is kept, with the traceback.
        for suffix in (".pid", ".lock", *((".log",) if clean else ())):
            path.with_suffix(suffix).unlink(missing_ok=True)
    return 0


def _warm_up() -> None:
    """Do before forking what every child would otherwise do on first use: imports, Pillow's
    plugin registry, the local embedding model, Prefect's deferred pydantic models. Each step
    is only a saving: one that fails is logged and left to the children."""
    steps: list[tuple[str, Callable[[], object]]] = [
        (name, lambda name=name: __import__(name)) for name in FIRST_USE_IMPORTS]
    steps.append(("Pillow plugins", lambda: sys.modules["PIL.Image"].init()))
    steps.append(("local embedding model", _load_local_model))
    steps.append(("Prefect's pydantic models", _rebuild_prefect_models))
    for what, step in steps:
        try:
            step()
        except Exception as exc:  # logged; the children do it on first use
            _log(f"warm-up of {what} left to the children: {type(exc).__name__}: {exc}")


def _load_local_model() -> None:
    from paperflow.embeddings import load_local_model

    load_local_model()


def _rebuild_prefect_models() -> None:
    """Build the validators Pydantic defers to a model's first use."""
    from pydantic import BaseModel

    unbuilt: list[str] = []
    for name, module in list(sys.modules.items()):
        if not name.startswith("prefect.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type) and issubclass(value, BaseModel) \
                    and value is not BaseModel and not value.__pydantic_complete__:
                try:
                    value.model_rebuild()
                except Exception:  # named below; such a model is built on first use
                    unbuilt.append(value.__qualname__)
    if unbuilt:
        _log(f"{len(unbuilt)} Prefect models left to build on first use: "
             f"{', '.join(sorted(set(unbuilt))[:10])}")


def _idle_seconds(env: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(env.get("PAPERFLOW_WARM_IDLE_SECONDS") or DEFAULT_IDLE_SECONDS))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def _log(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} warm[{os.getpid()}] {text}", flush=True)


def _fork_child(conn: socket.socket) -> None:
    """Read one call and fork the child that runs it; the warm process itself goes on."""
    fds: list[int] = []
    try:
        conn.settimeout(10.0)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            _log("refused a caller of another user")
            return
        data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
        while len(data) < _HEADER.size or len(data) < _HEADER.size + _HEADER.unpack_from(data)[0]:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        request = json.loads(data[_HEADER.size:])
        if len(fds) != 3:
            conn.sendall(b"refused\n")
            return
        conn.settimeout(None)
        pid = os.fork()
        if pid == 0:
            try:
                _run_child(conn, fds, request)  # never returns
            finally:
                os._exit(1)  # a child never runs the warm process's loop or clean-up
        _log(f"child {pid}: paperflow {' '.join(request['argv'])}")
    except (OSError, ValueError, KeyError) as exc:
        _log(f"dropped a call: {type(exc).__name__}: {exc}")
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        conn.close()


def _run_child(conn: socket.socket, fds: list[int], request: dict[str, object]) -> None:
    """In the forked child: become the caller's command, report its exit code, exit."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for inherited in _INHERITED:
            inherited.close()  # type: ignore[attr-defined]
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the process's own streams)
        sys.stdout = open(1, "w", closefd=False,  # noqa: SIM115
                          buffering=1 if os.isatty(1) else -1)
        sys.stderr = open(2, "w", closefd=False, buffering=1,  # noqa: SIM115
                          errors="backslashreplace")
        os.chdir(str(request["cwd"]))
        argv = [str(arg) for arg in request["argv"]]  # type: ignore[attr-defined]
        sys.argv = ["paperflow", *argv]
        conn.sendall(f"started {os.getpid()}\n".encode())
        threading.Thread(target=_interrupt_on_request, args=(conn,), daemon=True).start()
        from paperflow.sandbox import reuse_inherited_fork_server

        reuse_inherited_fork_server()
        command_line = sys.modules["cli.main"]  # imported by PRELOAD
        command_line.IN_WARM_CHILD = True
        try:
            code = command_line.main(argv)
        except SystemExit as exc:  # argparse's --help and usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        _finish_threads()
        import atexit

        atexit._run_exitfuncs()  # Prefect's event and log workers drain here
    except BaseException:  # reported to the caller, whatever it was
        import traceback

        traceback.print_exc()
    finally:
        # The caller closes the connection on reading the exit code, and the thread reading it
        # then sends SIGINT: raised here, a KeyboardInterrupt would carry this child into the
        # warm process's own loop and clean-up (which removed its socket and lock).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {code}\n".encode())
        os._exit(code)


def _finish_threads(timeout: float = 30.0) -> None:
    """What the interpreter does at exit before its atexit functions: the threading exit hooks
    (executors stop their workers), then wait for the other non-daemon threads, here for at
    most `timeout` seconds, naming any still running."""
    for hook in reversed(getattr(threading, "_threading_atexits", [])):
        hook()
    deadline = time.monotonic() + timeout
    others = [thread for thread in threading.enumerate()
              if thread is not threading.current_thread() and not thread.daemon]
    for thread in others:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in others if thread.is_alive()]
    if stuck:
        print(f"paperflow: threads still running after {timeout:.0f} s at exit, left behind: "
              f"{', '.join(stuck)}", file=sys.stderr)


def _interrupt_on_request(conn: socket.socket) -> None:
    """Ctrl-C from the caller, or the caller gone: interrupt the command (as Ctrl-C would)."""
    lines = _Lines(conn)
    while True:
        try:
            line = lines.next()
        except OSError:
            line = ""
        if line == "INT":
            os.kill(os.getpid(), signal.SIGINT)
            continue
        if not line:  # the caller went away: nobody reads the output any more
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30.0)
            os._exit(130)

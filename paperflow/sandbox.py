"""Run untrusted parsing in a child process with CPU, memory and wall-clock limits.

A crafted PDF can make MuPDF loop for hours or allocate gigabytes. In-process, that takes the
whole worker down (and every other paper it was processing); in a child process with
`RLIMIT_CPU` and `RLIMIT_AS` set, it only ends that child, and the caller gets a
`ResourceLimitError` saying which limit was hit.

Children come from a `forkserver` (a clean, single-threaded process that has imported PyMuPDF
once), so starting one costs milliseconds and never forks a multi-threaded worker. The fork
server also imports the calling program's main module once (`main_module_preload`): every
child re-runs that module before its call (multiprocessing's "safe importing of main"), and in
a flow-run process that module imports all of Prefect, which cost each child about 2 s of CPU.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import pickle
import resource
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from paperflow.errors import PermanentError, ResourceLimitError
from paperflow.pdf import ParsedDocument, ocr_document, pages_needing_ocr, parse_layout
from paperflow.settings import Settings, get_settings

T = TypeVar("T")

PRELOAD = ["paperflow.sandbox"]
"""Modules the fork server imports once, so that children start with them loaded."""
_CPU_GRACE_SECONDS = 5
"""The hard CPU limit (SIGKILL) is this far above the soft one (SIGXCPU)."""
_MEMORY_MARKERS = ("out of memory", "malloc", "cannot allocate", "memory allocation")

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def main_module_preload() -> list[str]:
    """What the fork server must import so its children find the caller's main module loaded.

    A child re-runs the main module named by `python -m NAME` (`NAME`) or the script file
    (`__main__`, which the fork server imports from its path); a `*.__main__` module (e.g.
    `python -m pytest`), `-c` and the REPL are not re-run by children.
    """
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name:
        return [] if name == "__main__" or name.endswith(".__main__") else [name]
    return ["__main__"] if getattr(main, "__file__", None) else []


_main_preloaded = False


def _preload_main_module() -> None:
    global _main_preloaded
    if not _main_preloaded:
        _main_preloaded = True
        preload(*main_module_preload())


def preload(*modules: str) -> None:
    """Have the fork server import `modules` too, so children start with them loaded.

    Only effective before the first `run_limited` call of the process starts the fork server.
    """
    PRELOAD.extend(name for name in modules if name not in PRELOAD)
    _context.set_forkserver_preload(PRELOAD)


def start_fork_server() -> None:
    """Start the fork server now: a warm process (cli/warm.py) does, before it forks the
    children that use it."""
    _preload_main_module()
    multiprocessing.forkserver.ensure_running()


def reuse_inherited_fork_server() -> bool:
    """In a child forked (`os.fork`) from a process whose fork server runs: use that server
    rather than start one (1-3 s). multiprocessing checks its server with `waitpid`, which only
    the server's parent may call; here signal 0 checks it, and once it is gone this process
    starts one of its own. Whether there was one to reuse."""
    from multiprocessing import forkserver, resource_tracker

    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None or not hasattr(server, "_forkserver_alive_fd"):
        return False
    start_own = server.ensure_running

    def ensure_running() -> None:
        try:
            os.kill(pid, 0)
        except OSError:  # gone: forget it
            with contextlib.suppress(OSError, TypeError):
                os.close(server._forkserver_alive_fd)
            server._forkserver_pid = server._forkserver_address = None
            server._forkserver_alive_fd = None
            server.ensure_running = start_own  # type: ignore[method-assign]
            start_own()
            return
        resource_tracker.ensure_running()

    server.ensure_running = ensure_running  # type: ignore[method-assign]
    return True


def _apply_limits(cpu_seconds: float, memory_bytes: int) -> None:
    cpu = max(1, int(cpu_seconds + 0.999))
    _lower(resource.RLIMIT_CPU, cpu, cpu + _CPU_GRACE_SECONDS)
    _lower(resource.RLIMIT_AS, memory_bytes, memory_bytes)


def _lower(which: int, soft: int, hard: int) -> None:
    """Set a limit, never above the hard limit the process already has."""
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def _child(conn: multiprocessing.connection.Connection, func: Callable[..., Any],
           args: tuple[Any, ...], cpu_seconds: float, memory_bytes: int) -> None:
    """Runs in the child: apply the limits, call, send back ("ok"|"error"|"memory", value)."""
    # SIGXCPU must end the child (its default action); nothing may have changed that.
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    _apply_limits(cpu_seconds, memory_bytes)
    try:
        outcome: tuple[str, Any] = ("ok", func(*args))
    except MemoryError:
        outcome = ("memory", None)
    except BaseException as exc:  # every failure goes back to the parent
        outcome = ("memory", None) if _looks_like_memory(exc) else ("error", exc)
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        # Some exceptions pickle but cannot be rebuilt. Results are not checked here (for a
        # parsed document that cost as much as sending it): the parent reports one it cannot read.
        if outcome[0] == "error":
            pickle.loads(payload)
    except MemoryError:
        payload = pickle.dumps(("memory", None))
    except Exception as exc:  # the result or the exception cannot be pickled
        kind = "result" if outcome[0] == "ok" else "exception"
        payload = pickle.dumps(("error", PermanentError(
            f"The sandboxed call's {kind} cannot be sent back ({type(exc).__name__}: {exc}); "
            f"it was {_describe(outcome[1])}."
        )))
    conn.send_bytes(payload)
    conn.close()


def _looks_like_memory(exc: BaseException) -> bool:
    """MuPDF reports a failed allocation as its own error type, not MemoryError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError):
            return True
        name = type(current).__name__
        text = str(current).lower()
        if name == "FzErrorMemory" or any(marker in text for marker in _MEMORY_MARKERS):
            return True
        current = current.__cause__ or current.__context__
    return False


def _describe(value: object) -> str:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return type(value).__name__


def run_limited(func: Callable[..., T], *args: Any, cpu_seconds: float, memory_bytes: int,
                wall_seconds: float, what: str = "the PDF") -> T:
    """Call `func(*args)` in a child process under CPU, address-space and wall-clock limits.

    `func` and `args` must be picklable (a module-level function and plain data). The child's
    return value is returned; an exception it raised is re-raised here (the same type and
    message); a child stopped by a limit, or that died, raises `ResourceLimitError`.
    """
    _preload_main_module()
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(
        target=_child, args=(sender, func, args, cpu_seconds, memory_bytes), daemon=True,
        name=f"paperflow-sandbox-{getattr(func, '__name__', 'call')}",
    )
    start = time.monotonic()
    process.start()
    sender.close()
    payload: bytes | None = None
    try:
        if receiver.poll(max(wall_seconds, 0.0)):
            with contextlib.suppress(EOFError, OSError):
                payload = receiver.recv_bytes()
        elapsed = time.monotonic() - start
        if payload is None and process.is_alive() and elapsed >= wall_seconds:
            _stop(process)
            raise ResourceLimitError(
                f"Parsing {what} took more than {wall_seconds:g} s of wall-clock time "
                "(PAPERFLOW_PARSE_WALL_SECONDS) and was stopped: the file is probably crafted "
                "or damaged so that the reader hangs. Repair it (e.g. `qpdf --recover` or "
                "re-save it) and submit it again."
            )
    finally:
        receiver.close()
        process.join(5)
        if process.is_alive():
            _stop(process)
    exitcode = process.exitcode
    if exitcode is not None:
        process.close()
    if payload is None:
        raise _died(exitcode, what, cpu_seconds, memory_bytes)
    try:
        kind, value = pickle.loads(payload)
    except Exception as exc:  # checked in the child already; a last line of defence
        raise PermanentError(f"The sandboxed call's outcome cannot be read back: {exc}.") \
            from None
    if kind == "ok":
        return value  # type: ignore[no-any-return]
    if kind == "memory":
        raise _memory_error(what, memory_bytes)
    raise value


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    process.terminate()
    process.join(2)
    if process.is_alive():
        process.kill()
        process.join(2)


def _memory_error(what: str, memory_bytes: int) -> ResourceLimitError:
    return ResourceLimitError(
        f"Parsing {what} needed more than {memory_bytes // (1024 * 1024)} MB of memory "
        "(PAPERFLOW_PARSE_MEMORY_MB) and was stopped: the file holds a decompression bomb or "
        "absurdly large images or pages. Repair or re-save it (e.g. `qpdf --recover`) and submit "
        "it again, or raise the limit if the paper is genuine."
    )


def _died(exitcode: int | None, what: str, cpu_seconds: float,
          memory_bytes: int) -> ResourceLimitError:
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        # SIGKILL: the hard CPU limit, or the kernel's OOM killer.
        suffix = "" if exitcode == -signal.SIGXCPU else " (or ran out of memory)"
        return ResourceLimitError(
            f"Parsing {what} took more than {cpu_seconds:g} s of CPU{suffix} "
            "(PAPERFLOW_PARSE_CPU_SECONDS) and was stopped: the file is probably crafted or "
            "damaged so that the reader loops. Repair it (e.g. `qpdf --recover` or re-save it) "
            "and submit it again, or raise the limit if the paper is genuine."
        )
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if exitcode in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
            hint = (f" (possibly while out of memory: the limit is "
                    f"{memory_bytes // (1024 * 1024)} MB)")
        else:
            hint = ""
        return ResourceLimitError(
            f"The PDF reader crashed ({name}){hint} while parsing {what}: the file is damaged "
            "or crafted. Repair it (e.g. `qpdf --recover` or re-save it) and submit it again."
        )
    return ResourceLimitError(
        f"The process parsing {what} ended (exit code {exitcode}) without a result: the file "
        "is probably damaged or crafted. Repair it (e.g. `qpdf --recover`) and submit it again."
    )


def parse_layout_limited(data: bytes, max_pages: int, settings: Settings | None = None,
                         *, defer_ocr: bool = False) -> ParsedDocument:
    """`parse_layout` in a child process under the `parse_*` limits of `settings`."""
    settings = settings or get_settings()
    return run_limited(
        partial(parse_layout, defer_ocr=defer_ocr), data, max_pages,
        cpu_seconds=settings.parse_cpu_seconds,
        memory_bytes=settings.parse_memory_mb * 1024 * 1024,
        wall_seconds=settings.parse_wall_seconds,
    )


def ocr_document_limited(data: bytes, doc: ParsedDocument,
                         settings: Settings | None = None) -> ParsedDocument:
    """`ocr_document` (the scanned pages rendered and read by Tesseract) in a child process
    under the same `parse_*` limits: rendering an untrusted page can blow up too."""
    settings = settings or get_settings()
    if not pages_needing_ocr(doc):
        return doc
    return run_limited(
        partial(ocr_document, ocr=settings.ocr, ocr_dpi=settings.ocr_dpi,
                ocr_language=settings.ocr_language, max_pages=settings.max_pages),
        data, doc, what="the scanned pages of the PDF (OCR)",
        cpu_seconds=settings.parse_cpu_seconds,
        memory_bytes=settings.parse_memory_mb * 1024 * 1024,
        wall_seconds=settings.parse_wall_seconds,
    )


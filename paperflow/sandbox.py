"""Run untrusted parsing and rendering in child processes with CPU, memory and wall-clock limits.

A crafted PDF can make MuPDF loop for hours or allocate gigabytes. In-process, that takes the
whole worker down (and every other paper it was processing); in a child process with
`RLIMIT_CPU` and `RLIMIT_AS` set, it only ends that child, and the caller gets a
`ResourceLimitError` saying which limit was hit. The same children are how a run uses every
core: parsing, OCR, figure crops and the preview are the CPU-bound work of a paper, and each
runs in a process of its own, beside the flow's threads rather than under their one GIL.

Children come from a `forkserver` (a clean, single-threaded process that has imported PyMuPDF
and the code the children run once), so starting one costs milliseconds and never forks a
multi-threaded worker. A child does not re-run the calling program's main module
(multiprocessing's "safe importing of main"): every function it runs lives in an importable
module, and in a flow-run process, a script or the `paperflow` command that module imports all
of Prefect, about 2 s of CPU per child.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import multiprocessing.forkserver
import os
import pickle
import resource
import signal
import time
from collections.abc import Callable
from functools import partial
from multiprocessing import popen_forkserver, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any, TypeVar

from paperflow.errors import PermanentError, ResourceLimitError
from paperflow.figures import ExtractedFigure, extract_figures
from paperflow.layout import analyse_layout
from paperflow.pdf import ParsedDocument, ocr_document, pages_needing_ocr, parse_layout
from paperflow.preview import PreviewImages, render_preview
from paperflow.settings import Settings, get_settings

T = TypeVar("T")

PRELOAD = ["paperflow.sandbox"]
"""Modules the fork server imports once, so that children start with them loaded."""
_CPU_GRACE_SECONDS = 5
"""The hard CPU limit (SIGKILL) is this far above the soft one (SIGXCPU)."""
_MEMORY_MARKERS = ("out of memory", "malloc", "cannot allocate", "memory allocation")

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def preload(*modules: str) -> None:
    """Have the fork server import `modules` too, so children start with them loaded.

    Only effective before the first `run_limited` call of the process starts the fork server.
    """
    PRELOAD.extend(name for name in modules if name not in PRELOAD)
    _context.set_forkserver_preload(PRELOAD)


def start_fork_server() -> None:
    """Start the fork server now: a warm process (cli/warm.py) does, before it forks the
    children that use it."""
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


class _Popen(popen_forkserver.Popen):
    """Starts a child without the main module's name or path when the child does not need it:
    multiprocessing would have the child re-run that module, imports and all."""

    def _launch(self, process_obj: Any) -> None:
        if getattr(process_obj, "needs_main", True):
            super()._launch(process_obj)
            return
        # popen_forkserver.Popen._launch (CPython 3.11) with the main module left out.
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_name", None)
        prep_data.pop("init_main_from_path", None)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = multiprocessing.forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = multiprocessing.forkserver.read_signed(self.sentinel)


class _SandboxProcess(multiprocessing.context.ForkServerProcess):
    needs_main = True

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


def _defined_in_main(func: Callable[..., Any]) -> bool:
    while isinstance(func, partial):
        func = func.func
    return getattr(func, "__module__", None) in ("__main__", "__mp_main__")


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
                wall_seconds: float, what: str = "parsing the PDF") -> T:
    """Call `func(*args)` in a child process under CPU, address-space and wall-clock limits.

    `func` and `args` must be picklable (a module-level function and plain data). The child's
    return value is returned; an exception it raised is re-raised here (the same type and
    message); a child stopped by a limit, or that died, raises `ResourceLimitError`. `what`
    names the work in those errors ("parsing the PDF").
    """
    receiver, sender = _context.Pipe(duplex=False)
    process = _SandboxProcess(
        target=_child, args=(sender, func, args, cpu_seconds, memory_bytes), daemon=True,
        name=f"paperflow-sandbox-{getattr(func, '__name__', 'call')}",
    )
    process.needs_main = _defined_in_main(func)
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
                f"{_capitalised(what)} took more than {wall_seconds:g} s of wall-clock time "
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


def _capitalised(what: str) -> str:
    return what[:1].upper() + what[1:]


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    process.terminate()
    process.join(2)
    if process.is_alive():
        process.kill()
        process.join(2)


def _memory_error(what: str, memory_bytes: int) -> ResourceLimitError:
    return ResourceLimitError(
        f"{_capitalised(what)} needed more than {memory_bytes // (1024 * 1024)} MB of memory "
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
            f"{_capitalised(what)} took more than {cpu_seconds:g} s of CPU{suffix} "
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
            f"The PDF reader crashed ({name}){hint} while {what}: the file is damaged "
            "or crafted. Repair it (e.g. `qpdf --recover` or re-save it) and submit it again."
        )
    return ResourceLimitError(
        f"The process {what} ended (exit code {exitcode}) without a result: the file "
        "is probably damaged or crafted. Repair it (e.g. `qpdf --recover`) and submit it again."
    )


def parse_layout_limited(data: bytes, max_pages: int, settings: Settings | None = None,
                         *, defer_ocr: bool = False, analyse: bool = False) -> ParsedDocument:
    """`parse_layout` in a child process under the `parse_*` limits of `settings`; with
    `analyse`, the layout analysis too, in the same child, unless some page waits for OCR (the
    analysed document is what every group reads, and it crosses into the caller once)."""
    settings = settings or get_settings()
    return run_limited(partial(_parse, defer_ocr=defer_ocr, analyse=analyse), data, max_pages,
                       **_limits(settings))


def _parse(data: bytes, max_pages: int, *, defer_ocr: bool, analyse: bool) -> ParsedDocument:
    doc = parse_layout(data, max_pages, defer_ocr=defer_ocr)
    return analyse_layout(doc) if analyse and not pages_needing_ocr(doc) else doc


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
        data, doc, what="reading the scanned pages of the PDF (OCR)", **_limits(settings))



def extract_figures_limited(data: bytes, doc: ParsedDocument,
                            settings: Settings | None = None) -> list[ExtractedFigure]:
    """`extract_figures` (captions matched, crops rendered to PNG) in a child process under the
    `parse_*` limits: image decoders are where a crafted PDF blows up, and a process of its own
    renders on its own core."""
    settings = settings or get_settings()
    return run_limited(
        extract_figures, data, doc, settings.max_figures, settings.figure_dpi,
        what="rendering the figures of the PDF", **_limits(settings))


def render_preview_limited(data: bytes, settings: Settings | None = None) -> PreviewImages:
    """`render_preview` (page 1, its thumbnails and blurhash) in a child process under the
    `parse_*` limits, like the figures."""
    settings = settings or get_settings()
    return run_limited(render_preview, data, settings.preview_width,
                       what="rendering the first page of the PDF", **_limits(settings))


def _limits(settings: Settings) -> dict[str, Any]:
    return {"cpu_seconds": settings.parse_cpu_seconds,
            "memory_bytes": settings.parse_memory_mb * 1024 * 1024,
            "wall_seconds": settings.parse_wall_seconds}

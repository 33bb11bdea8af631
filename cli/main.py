"""The `paperflow` command line.

Exit codes: 0 everything succeeded; 1 at least one source failed (the others are still
processed and written); 2 the command line itself is wrong; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from paperflow import __version__

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from paperflow.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
IN_WARM_CHILD = False
"""Set in a child of a warm process (cli/warm.py), whose Prefect logging was configured
before this call's settings and streams were known."""


@contextlib.contextmanager
def _prefect_defaults(verbose: bool) -> Iterator[None]:
    """Quiet, offline-friendly Prefect defaults for one command (an explicit variable wins),
    in force for the block it guards through Prefect's settings context, never `os.environ`.

    Prefect configures its logging once, when `prefect.main` is first imported, from the
    settings in force: it is imported here, inside them.
    """
    from prefect.settings import (
        PREFECT_LOGGING_LEVEL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    level = "INFO" if verbose else "WARNING"
    defaults = {PREFECT_SERVER_ANALYTICS_ENABLED: False,
                PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 90,
                PREFECT_LOGGING_LEVEL: level}
    with temporary_settings(updates={setting: value for setting, value in defaults.items()
                                     if setting.name not in os.environ}):
        import prefect.main  # noqa: F401  (configures logging from the settings above)

        if IN_WARM_CHILD:  # imported earlier, by the warm process: configure it again now
            from prefect.logging.configuration import setup_logging

            setup_logging(incremental=False)
        if "PREFECT_LOGGING_LEVEL" not in os.environ:
            logging.getLogger("prefect").setLevel(level)
        if "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL" not in os.environ:
            logging.getLogger("prefect.flow_runs").setLevel("INFO")
        yield


@contextlib.contextmanager
def _heartbeats(seconds: int | None) -> Iterator[None]:
    """Flow runs in the block send heartbeats every `seconds` (None: none), unless
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY (or its older name) is set."""
    if any(name in os.environ for name in ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
                                           "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")):
        yield
        return
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": seconds}):
        yield


def _output_name(source: str, used: set[str]) -> str:
    from paperflow.sources import arxiv_id_of, classify

    kind = classify(source) if source.strip() else "path"
    if kind == "arxiv":
        stem = (arxiv_id_of(source) or "paper").replace("/", "_")
    else:
        stem = Path(source.split("?", 1)[0].rstrip("/")).stem or "paper"
    name, n = stem, 2
    while name in used:
        name, n = f"{stem}-{n}", n + 1
    used.add(name)
    return f"{name}.json"


def _cmd_process(args: argparse.Namespace) -> int:
    if args.out and len(args.sources) > 1:
        print("paperflow: --out takes one source; use --out-dir for several.", file=sys.stderr)
        return EXIT_USAGE
    from paperflow.settings import reload_settings

    settings = reload_settings()
    with _prefect_defaults(args.verbose), \
            _process_api(settings, background=not args.no_background_server):
        return _process_sources(args, settings)


@contextlib.contextmanager
def _process_api(settings: Settings, background: bool) -> Iterator[None]:
    """The Prefect API `process` runs on, in force for the block.

    PREFECT_API_URL (environment or Prefect profile) when set; else the `paperflow up` stack
    when it answers; else the background server (started now if need be; see
    deployments/local_server.py); else, opted out or when it cannot start, Prefect's embedded
    server, as before.

    Flow-run heartbeats follow the server: on the stack, and on any server PREFECT_API_URL
    names, every HEARTBEAT_SECONDS, as deployment runs send them (the stack's zombie automation
    marks a run Crashed after three missed beats; at Prefect's default of 180 s it would crash a
    healthy call after 90 s). On the background or embedded server, which only this command
    uses and nothing watches, none: a heartbeat costs a warm call up to a second at its end
    (Prefect joins the heartbeat thread, which sleeps in one-second steps).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    from deployments.local_server import (
        HEARTBEAT_SECONDS,
        LocalServer,
        background_server_enabled,
        stack_api_url,
    )

    if PREFECT_API_URL.value():
        with _heartbeats(HEARTBEAT_SECONDS):
            yield
        return

    url = stack_api_url(settings.data_dir)
    on_stack = url is not None
    if url is None and background and background_server_enabled():
        try:
            server = LocalServer.for_data_dir(settings.data_dir)
            started = server.ensure(home=Path(PREFECT_HOME.value()))
        except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
            print(f"paperflow: {exc}. Using Prefect's embedded server for this call instead "
                  "(PAPERFLOW_BACKGROUND_SERVER=false skips trying).", file=sys.stderr)
        else:
            url = started.api_url
            if started.note:
                print(f"paperflow: {started.note}.", file=sys.stderr)
            if started.started:
                print(f"paperflow: started a background Prefect server at "
                      f"{url.removesuffix('/api')} in {started.seconds:.0f} s (pid {started.pid}, "
                      f"log {server.log}); later calls with the data folder {settings.data_dir} "
                      "reuse it, and `paperflow down` with that same folder (PAPERFLOW_DATA_DIR; "
                      "`make down` in the project) stops it.",
                      file=sys.stderr)
    if url is None:
        with _heartbeats(None):
            yield
        return
    from prefect.settings import temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), \
            _heartbeats(HEARTBEAT_SECONDS if on_stack else None):
        yield


def _process_sources(args: argparse.Namespace, settings: Settings) -> int:
    """Run the flow on each source, `--jobs` at a time; write and print each result."""
    from paperflow.errors import StorageError
    from paperflow.report import text_summary

    try:
        _check_s3(settings)
    except StorageError as exc:
        print(f"paperflow: {exc}", file=sys.stderr)
        return EXIT_FAILED
    from flows.process_paper import ProcessOptions, process_paper
    from tasks.policy import configured

    options = ProcessOptions(figures=not args.no_figures, preview=not args.no_preview,
                             refresh_cache=args.refresh)
    out_dir = Path(args.out_dir) if args.out_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    names = [_output_name(source, used) for source in args.sources] if out_dir else []
    total = len(args.sources)
    jobs = min(args.jobs or 4, total)
    lock = threading.Lock()
    printed = _InOrder()

    def run(index: int, source: str, progress: SourceProgress) -> bool:
        with lock:
            progress.started(index, source)
        try:
            state = configured(process_paper)(source, options, return_state=True)
            failure = None if state.is_completed() else _failure_message(state)
        except Exception as exc:  # the engine itself failed: this source only
            failure = f"{type(exc).__name__}: {exc}"
        if failure is not None:
            with lock:
                progress.finished(index, source, failure=failure)
                printed.ready(index, "")
            return False
        result = state.result()
        body = result.model_dump_json(indent=2)
        target = Path(args.out) if args.out else (out_dir / names[index - 1] if out_dir
                                                  else None)
        if target:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_text(body)
            tmp.replace(target)
        text = body + "\n" if args.json else (
            text_summary(result) + "\n" + (f"Written:    {target}\n" if target else "") + "\n")
        with lock:
            progress.finished(index, source)
            printed.ready(index, text)
        return True

    with SourceProgress(total) as progress:
        if jobs == 1:
            outcomes = [run(index, source, progress)
                        for index, source in enumerate(args.sources, 1)]
        else:
            outcomes = _run_concurrently(
                [lambda i=i, s=s: run(i, s, progress) for i, s in enumerate(args.sources, 1)],
                jobs)
    failures = outcomes.count(False)
    if failures:
        print(f"paperflow: {failures} of {total} sources failed.", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


class _InOrder:
    """Stdout in the order of the sources, whichever finishes first: each source's text is
    printed once every source before it is done."""

    def __init__(self) -> None:
        self._waiting: dict[int, str] = {}
        self._next = 1

    def ready(self, index: int, text: str) -> None:
        self._waiting[index] = text
        while self._next in self._waiting:
            sys.stdout.write(self._waiting.pop(self._next))
            self._next += 1
        sys.stdout.flush()


def _run_concurrently(calls: list[Callable[[], bool]], jobs: int) -> list[bool]:
    """Each call's outcome, `jobs` calls at a time in threads (in this thread's context).

    Ctrl-C starts no further call and waits for the running ones (their flow runs end
    properly); a second Ctrl-C leaves at once.
    """
    import contextvars
    from concurrent.futures import ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="paperflow-source")
    # Each call in a copy of this context: Prefect's settings (the API chosen) live there.
    futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
    try:
        wait(futures)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        running = sum(1 for future in futures if future.running())
        print(f"paperflow: interrupted; waiting for the {running} running source(s) to finish "
              "(Ctrl-C again to stop at once).", file=sys.stderr, flush=True)
        try:
            wait(futures)
        except KeyboardInterrupt:
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(EXIT_INTERRUPTED)
        raise
    pool.shutdown()
    return [future.result() for future in futures]


class SourceProgress:
    """Progress over the sources of `process`, on stderr.

    Several sources on an interactive stderr get one rich bar, advancing as each source
    finishes; the `[i/n] source: done|FAILED` lines, Prefect's log lines and (when it is a
    terminal too) stdout print above it. Anywhere else (a pipe, a log file, the tests) and for
    one source, every source gets plain `[i/n] source: processing…` and `done|FAILED` lines.
    Sources may run concurrently (`process --jobs`): the bar names the last one started and how
    many more are running; every method may be called from any thread.
    """

    def __init__(self, total: int, stream: TextIO | None = None,
                 console: Console | None = None) -> None:
        from rich.console import Console

        self.total = total
        self.stream = stream or (console.file if console is not None else sys.stderr)
        self.console = console or Console(file=self.stream, highlight=False)
        self.live = (total > 1 and self.console.is_terminal
                     and not self.console.is_dumb_terminal)
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._restore: list[Callable[[], None]] = []
        self._running: list[str] = []
        self._last = "papers"
        self._lock = threading.RLock()

    def __enter__(self) -> SourceProgress:
        if self.live:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                redirect_stdout=_is_tty(sys.stdout), redirect_stderr=True)
            self._task = self._bar.add_task("papers", total=self.total)
            self._bar.start()
            self._restore = _log_handlers_above(self._bar.console, self.stream)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            for restore in self._restore:
                restore()
            self._bar.stop()
            self._bar = None

    def started(self, index: int, source: str) -> None:
        with self._lock:
            self._running.append(source)
            self._last = source
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, description=self._description())
            else:
                self._line(f"[{index}/{self.total}] {source}: processing…")

    def finished(self, index: int, source: str, failure: str | None = None) -> None:
        outcome = f"FAILED — {failure}" if failure is not None else "done"
        line = f"[{index}/{self.total}] {source}: {outcome}"
        with self._lock:
            if source in self._running:
                self._running.remove(source)
            if self._bar is not None and self._task is not None:
                self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
                self._bar.update(self._task, advance=1, description=self._description())
            else:
                self._line(line)

    def _description(self) -> str:
        """The last source started (kept once all are done), and how many others run."""
        others = max(0, len(self._running) - (self._last in self._running))
        more = f" (+{others} running)" if others else ""
        return _shorten(self._last, 48 - len(more)) + more

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class _AboveTheBar(io.TextIOBase):
    """A text stream printing each line through the bar's console, above the bar.

    Rich consoles see through rich's own stderr proxy (and so would draw over the bar); this
    one they write to like any file.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            *lines, self._pending = (self._pending + text).split("\n")
        if lines:
            from rich.text import Text

            self._console.print(Text("\n").join(Text.from_ansi(line) for line in lines),
                                soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self.write(pending + "\n")

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True


def _log_handlers_above(console: Console, stream: TextIO) -> list[Callable[[], None]]:
    """Point the log handlers writing to `stream` (Prefect's among them) above the bar.

    Returns the undo steps. Prefect's console handler keeps the stderr it was configured with,
    so rich's own redirection of `sys.stderr` does not reach it.
    """
    above = _AboveTheBar(console)
    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict
                                      .values() if isinstance(logger, logging.Logger))]
    undo: list[Callable[[], None]] = []
    seen: set[int] = set()
    for handler in (h for logger in loggers for h in logger.handlers):
        if id(handler) in seen:
            continue
        seen.add(id(handler))
        handler_console = getattr(handler, "console", None)
        if handler_console is not None and getattr(handler_console, "file", None) is stream:
            handler_console.file = above
            undo.append(lambda c=handler_console: setattr(c, "file", stream))
        elif isinstance(handler, logging.StreamHandler) and handler.stream is stream:
            handler.setStream(above)
            undo.append(lambda h=handler: h.setStream(stream) and None)
    return undo


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _shorten(text: str, width: int) -> str:
    """The end of a long source (a URL's or path's last part says the most), with an ellipsis."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _prefect_server() -> str:
    """The Prefect API the CLI talks to, as shown in messages."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "Prefect's embedded server (PREFECT_HOME)"


def _check_s3(settings: Settings) -> None:
    """With S3 configured: the bucket is reachable with the keys, and the blocks are saved.

    A refused key or a missing bucket fails here once, naming the endpoint, the bucket and what
    to check, rather than in every task of every source. Blocks missing from the Prefect server
    are registered (what `paperflow blocks register` does), and stderr says so.
    """
    if not settings.s3_bucket:
        return
    from paperflow.storage.s3 import BlocksNotRegisteredError, s3_storage

    s3_storage(settings).check_bucket()
    from deployments.blocks import build_blocks, register_blocks

    s3_blocks = {name: type(block).get_block_type_slug()
                 for name, block in build_blocks(settings).items()
                 if block.get_block_type_slug() in {"aws-credentials", "s3-bucket",
                                                    "paperflow-checked-s3-bucket"}}
    server = _prefect_server()
    try:
        missing = _missing_blocks(s3_blocks)
        if not missing:
            return
        outcome = register_blocks(settings)
    except Exception as exc:
        raise BlocksNotRegisteredError.naming(
            sorted(s3_blocks), server, f"checking or registering them failed: "
                                       f"{type(exc).__name__}: {exc}") from exc
    print(f"paperflow: PAPERFLOW_S3_BUCKET is set but the block(s) {', '.join(missing)} were not "
          f"registered on {server}; registered them now (as `paperflow blocks register` does):",
          file=sys.stderr)
    for name, what in outcome.items():
        print(f"  {name}: {what}", file=sys.stderr)


def _missing_blocks(blocks: dict[str, str]) -> list[str]:
    """Which of the blocks (name -> block type slug) the Prefect server has no document of."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    missing = []
    with get_client(sync_client=True) as client:
        for name, slug in blocks.items():
            try:
                client.read_block_document_by_name(name, block_type_slug=slug)
            except ObjectNotFound:
                missing.append(name)
    return missing


def _failure_message(state: object) -> str:
    try:
        state.result()  # type: ignore[attr-defined]
    except BaseException as exc:
        from paperflow.storage.s3 import missing_block_error

        actionable = missing_block_error(str(exc), _prefect_server())
        if actionable is not None:
            return f"{type(actionable).__name__}: {actionable}"
        return f"{type(exc).__name__}: {exc}"
    return str(getattr(state, "message", "") or "unknown failure")


def _cmd_eval(args: argparse.Namespace) -> int:
    from paperflow.evaluate import count_papers, evaluate_many
    from paperflow.pipeline import extract_paper

    directories = [Path(d) for d in args.directories]
    only = args.only or []
    scored = itertools.count(1)
    with SourceProgress(count_papers(directories, only)) as progress:
        report = evaluate_many(directories, extract_paper, only=only,
                               progress=lambda pid: progress.finished(next(scored), pid),
                               workers=args.workers)
    print(f"## Per field ({len(report.papers)} papers)\n")
    print(report.field_table())
    print("\n## Per template (soft F1 per field; template from the gt, else the folder)\n")
    print(report.group_table())
    print("\n## Per paper (soft matches / expected)\n")
    print(report.paper_table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2))
    errors = [p for p in report.papers if p.error]
    return EXIT_FAILED if errors else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from paperflow.models import json_schema_text

    if args.out:
        Path(args.out).write_text(json_schema_text() + "\n")
    else:
        print(json_schema_text())
    return EXIT_OK


def _cmd_stack(args: argparse.Namespace) -> int:
    from cli import warm
    from deployments.local_server import LocalServer
    from deployments.stack import default_stack
    from paperflow.settings import get_settings

    stack = default_stack()
    try:
        background = LocalServer.for_data_dir(get_settings().data_dir).stop()
        if args.command == "up":  # the stack's server takes over (`process` prefers it)
            lines = ([f"{background}: the stack's server takes over"] if background else []) \
                + stack.up(s3=args.s3, postgres=args.postgres)
        else:
            stopped = ([background] if background else []) + warm.stop_all()
            lines = [line for line in stack.down()
                     if not (stopped and line == "nothing was running")] + stopped
    except (RuntimeError, TimeoutError, ValueError, OSError) as exc:
        print(f"paperflow {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


def _cmd_worker(args: argparse.Namespace) -> int:
    """`worker`: check the server, then become `prefect worker start` on the `papers` pool."""
    from deployments.stack import worker_limit
    from deployments.worker import (
        WorkerCheckFailed,
        exec_worker,
        preflight,
        worker_command,
        worker_env,
    )
    from paperflow.settings import get_settings

    try:
        limit = args.limit or worker_limit(dict(os.environ))
    except ValueError:
        print(f"paperflow worker: PAPERFLOW_WORKER_LIMIT="
              f"{os.environ.get('PAPERFLOW_WORKER_LIMIT')!r} is not a whole number: fix it or "
              "pass --limit N.", file=sys.stderr)
        return EXIT_USAGE
    api_url = _worker_api_url(args.api_url)
    if api_url is None:
        print("paperflow worker: no Prefect API to join: pass --api-url http://SERVER:4200/api "
              "or set PREFECT_API_URL (`paperflow up` on the server machine starts the server).",
              file=sys.stderr)
        return EXIT_FAILED
    if not api_url.startswith(("http://", "https://")):
        print(f"paperflow worker: {api_url!r} is not an http(s) URL: give the server's API, "
              "e.g. http://SERVER:4200/api.", file=sys.stderr)
        return EXIT_USAGE
    queues = _split(args.queue) or []
    env = worker_env(api_url, os.environ)
    try:
        lines = preflight(api_url, queues, env, get_settings().data_dir)
    except WorkerCheckFailed as exc:
        print(f"paperflow worker: {exc}", file=sys.stderr)
        return EXIT_FAILED
    command = worker_command(limit, queues, args.name)
    lines.append(f"{'would run' if args.check else 'running'}: prefect {' '.join(command[3:])}"
                 + ("" if args.check else " (Ctrl-C stops it)"))
    print("\n".join(f"paperflow worker: {line}" for line in lines), flush=True)
    if args.check:
        return EXIT_OK
    exec_worker(command, env)


def _worker_api_url(given: str | None) -> str | None:
    """--api-url, else PREFECT_API_URL (environment or Prefect profile), else the local stack's."""
    url = (given or os.environ.get("PREFECT_API_URL", "")).strip()
    if not url:
        from prefect.settings import PREFECT_API_URL

        url = str(PREFECT_API_URL.value() or "").strip()
    if not url:
        from deployments.local_server import stack_api_url
        from paperflow.settings import get_settings

        url = stack_api_url(get_settings().data_dir) or ""
    return url.rstrip("/") or None


def _cmd_blocks(args: argparse.Namespace) -> int:
    from deployments.blocks import register_blocks
    from paperflow.settings import reload_settings

    with _prefect_defaults(False):
        for name, outcome in register_blocks(reload_settings()).items():
            print(f"{name}: {outcome}")
    return EXIT_OK


def _print_hits(hits: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=2,
                         ensure_ascii=False))
        return
    if not hits:
        print("No papers found (is anything indexed? `paperflow index`).")
    for hit in hits:
        print(f"{hit.rank:>3}  {hit.score:6.3f}  {(hit.title or '(untitled)')[:90]}  {hit.sha256}")


def _cmd_index(args: argparse.Namespace) -> int:
    from paperflow.embeddings import get_embedder
    from paperflow.settings import reload_settings
    from paperflow.storage import get_storage
    from paperflow.vectors import get_vector_store, index_stored

    settings = reload_settings()
    embedder = get_embedder(settings)
    store = get_vector_store(embedder.model, settings)
    report = index_stored(get_storage(settings), embedder, store, settings, refresh=args.refresh,
                          progress=lambda sha, what: print(f"  {what} {sha}", file=sys.stderr))
    print(f"Indexed {len(report.added)} papers, {len(report.skipped)} already indexed, "
          f"{len(report.failed)} failed ({embedder.model} in {store.name}).")
    for sha, error in report.failed.items():
        print(f"paperflow index: {sha}: {error}", file=sys.stderr)
    return EXIT_FAILED if report.failed else EXIT_OK


def _cmd_search(args: argparse.Namespace) -> int:
    from paperflow.errors import PaperflowError
    from paperflow.settings import reload_settings
    from paperflow.vectors import search_text

    try:
        hits = search_text(args.query, args.k, reload_settings())
    except PaperflowError as exc:
        print(f"paperflow search: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _print_hits(hits, args.json)
    return EXIT_OK


def _cmd_similar(args: argparse.Namespace) -> int:
    from paperflow.errors import PaperflowError
    from paperflow.settings import reload_settings
    from paperflow.vectors import similar_to

    try:
        answer = similar_to(args.source, args.k, reload_settings())
    except PaperflowError as exc:
        print(f"paperflow similar: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        print(f"Papers like {answer.title or '(untitled)'} ({answer.sha256}, {answer.how}):",
              file=sys.stderr)
    _print_hits(answer.hits, args.json)
    return EXIT_OK


def _cmd_gc(args: argparse.Namespace) -> int:
    from paperflow import retention
    from paperflow.settings import reload_settings

    settings = reload_settings()
    plan = retention.configured_plan(
        results_days=settings.results_retention_days if args.results_days is None
        else args.results_days,
        runs_days=settings.runs_retention_days if args.runs_days is None else args.runs_days,
        papers_days=args.papers_days, settings=settings)
    for line in retention.describe(plan, args.dry_run):
        print(line)
    if args.dry_run:
        return EXIT_OK
    outcome = retention.apply(plan)
    print(f"deleted {len(outcome.deleted)} item(s), {retention.human_size(outcome.size)}")
    for error in outcome.errors:
        print(f"paperflow gc: {error}", file=sys.stderr)
    return EXIT_FAILED if outcome.errors else EXIT_OK


def _positive_int(text: str) -> int:
    """argparse type of `--jobs`: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _since(text: str) -> object:
    """argparse type of `--since`: a duration (7d, 12h) or an ISO date, as a UTC datetime."""
    from deployments.jobs import parse_since

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _emit(doc: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False) if as_json else text(doc))


def _cmd_jobs(args: argparse.Namespace) -> int:
    """status, runs, cancel, stats, health, submit: thin over the Prefect API (deployments/jobs).

    Exit codes: 0 the command did its work (`status` found the run, whatever its state;
    `health` all required checks ok; `submit --wait` the run Completed), 1 otherwise (not
    found, no server, refused, unhealthy, run not Completed).
    """
    from deployments import jobs

    command = args.command
    try:
        api = jobs.use_api() if command != "health" else \
            (os.environ.get("PREFECT_API_URL", "").strip() or _health_api(jobs))
        with _prefect_defaults(False), _api_in_force(api):
            return _run_job_command(jobs, args, api)
    except jobs.JobsError as exc:
        print(f"paperflow {command}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _api_in_force(api: str) -> contextlib.AbstractContextManager[Any]:
    """Prefect's API URL for the block (none found: Prefect's own setting stays)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: api}) if api else \
        contextlib.nullcontext()


def _run_job_command(jobs: Any, args: argparse.Namespace, api: str) -> int:
    command = args.command
    if command != "health":
        jobs.server_version(api)
    if command == "status":
        _emit(jobs.status(args.run_id), args.json, jobs.status_text)
    elif command == "runs":
        _emit(jobs.runs(states=_split(args.state), deployments=_split(args.deployment),
                        since=args.since, limit=args.limit), args.json, jobs.runs_text)
    elif command == "cancel":
        _emit(jobs.cancel(args.run_id), args.json, jobs.cancel_text)
    elif command == "stats":
        _emit(jobs.stats(args.since), args.json, jobs.stats_text)
    elif command == "health":
        doc = jobs.health()
        _emit(doc, args.json, jobs.health_text)
        return EXIT_OK if doc["ok"] else EXIT_FAILED
    else:
        return _submit(jobs, args)
    return EXIT_OK


def _health_api(jobs: Any) -> str:
    """The API `health` checks: as `use_api` finds it, else a check that names what is missing."""
    try:
        return str(jobs.use_api())
    except jobs.ServerUnavailable:
        return ""


def _split(values: list[str] | None) -> list[str] | None:
    """Repeated and comma-separated option values, flattened."""
    found = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    return found or None


def _submit(jobs: Any, args: argparse.Namespace) -> int:
    """`submit`: start the run, print its id and link; with --wait, follow it to the end."""
    doc = jobs.submit(args.source, args.deployment,
                      webhook_url=args.webhook_url)
    if not args.json:
        if doc["uploaded"]:
            print(f"Uploaded {doc['uploaded']['path']} to {doc['uploaded']['uri']}")
        print(f"Flow run {doc['name']} ({doc['id']}) of {doc['deployment']}: {doc['state']}")
        print(f"UI: {doc['ui_url']}", flush=True)
    if not args.wait:
        if args.json:
            print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    states: list[dict[str, object]] = []

    def changed(state: str, message: str | None, percent: float | None) -> None:
        states.append({"state": state, "message": message, "percent": percent})
        if not args.json:
            said = f" {percent:.0f}%" if percent is not None else ""
            why = f" — {message}" if message and state not in ("Running", "Completed") else ""
            print(f"  {state}{said}{why}", flush=True)

    try:
        final = jobs.follow(doc["id"], changed, timeout=args.timeout)
    except KeyboardInterrupt:
        print(f"paperflow submit: stopped waiting; the run goes on: `paperflow status "
              f"{doc['id']}` (or `paperflow cancel {doc['id']}`).", file=sys.stderr)
        return EXIT_INTERRUPTED
    final_status = jobs.status(doc["id"])
    if args.json:
        print(json.dumps({**doc, "states": states, "status": final_status}, indent=2,
                         ensure_ascii=False))
    else:
        print(jobs.status_text(final_status))
    return EXIT_OK if final == "COMPLETED" else EXIT_FAILED


def _add_jobs_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The job-management commands (the old jobs service's status, list, cancel, stats, ...)."""
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text[0].upper()
                                + help_text[1:] + ", on the server PREFECT_API_URL names (else "
                                "the one `paperflow up` started).")
        parser.add_argument("--json", action="store_true",
                            help="print machine-readable JSON (stable keys)")
        parser.set_defaults(func=_cmd_jobs)
        return parser

    status = add("status", "a flow run's state, progress, task runs and result or failure")
    status.add_argument("run_id", metavar="RUN_ID", help="the flow run's id")
    runs = add("runs", "list recent flow runs, newest first")
    runs.add_argument("--state", action="append", metavar="STATE",
                      help="only these state types (completed, failed, running, ...) or state "
                           "names (TimedOut, Late, ...); repeat or separate with commas")
    runs.add_argument("--deployment", action="append", metavar="NAME",
                      help="only runs of this deployment (process-paper or "
                           "process-paper/process-paper); repeatable")
    runs.add_argument("--since", type=_since, metavar="WHEN",
                      help="only runs expected to start after this: 7d, 12h, 30m or a date")
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    cancel = add("cancel", "cancel a flow run (state Cancelling; the worker stops it)")
    cancel.add_argument("run_id", metavar="RUN_ID", help="the flow run's id")
    stats = add("stats", "per deployment and task: runs, success rate, mean/p95 seconds, "
                         "failures by cause")
    stats.add_argument("--since", type=_since, default="7d", metavar="WHEN",
                       help="runs expected to start after this: 7d (default), 24h or a date")
    add("health", "check the API, database, storage, LLM endpoint and a worker on the pool")
    submit = add("submit", "start the process-paper deployment on a paper")
    submit.add_argument("source", metavar="SOURCE",
                        help="a local PDF (uploaded to the configured storage first), an "
                             "http(s) URL, an s3:// URI or an arXiv id")
    submit.add_argument("--deployment", default="process-paper/process-paper",
                        help="the deployment to run (default process-paper/process-paper)")
    submit.add_argument("--webhook-url", help="POST the outcome to this URL")
    submit.add_argument("--wait", action="store_true",
                        help="follow the run to its end; exit 0 only when it Completed")
    submit.add_argument("--timeout", type=float, help="with --wait: give up after this many "
                                                      "seconds (the run goes on)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperflow", description="Scientific papers in, structured metadata out.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    process = sub.add_parser(
        "process", help="extract metadata from papers (paths, URLs, arXiv ids)",
        description="Run the process-paper flow on each source, several at once, on the Prefect "
                    "server PREFECT_API_URL names, else the `paperflow up` stack's, else a "
                    "background server the first call starts and later calls reuse "
                    "(`paperflow down` stops it; see docs/cli.md).")
    process.add_argument("sources", nargs="+", metavar="SOURCE",
                         help="a PDF path, http(s) URL, arXiv id (2304.02623) or s3:// URI")
    target = process.add_mutually_exclusive_group()
    target.add_argument("--out", help="write the JSON result of the (single) source here")
    target.add_argument("--out-dir", help="write <stem>.json per source into this folder")
    process.add_argument("--json", action="store_true", help="print the JSON, not a summary")
    process.add_argument("--refresh", action="store_true", help="ignore cached results")
    process.add_argument("--no-figures", action="store_true", help="skip figure extraction")
    process.add_argument("--no-preview", action="store_true", help="skip the page-1 preview")
    process.add_argument("-v", "--verbose", action="store_true", help="show every task's log")
    process.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                         help="sources processed at once (default: 4, at most one per source)")
    process.add_argument("--no-background-server", action="store_true",
                         help="without PREFECT_API_URL or a stack: use Prefect's embedded server "
                              "for this call only, as PAPERFLOW_BACKGROUND_SERVER=false does")
    process.set_defaults(func=_cmd_process)

    ev = sub.add_parser("eval", help="score extraction against ground truth (*.gt.json + PDFs)")
    ev.add_argument("directories", nargs="+", metavar="directory",
                    help="folders holding <id>.pdf and <id>.gt.json files")
    ev.add_argument("--only", nargs="*", default=[], help="paper ids (substrings) to score")
    ev.add_argument("--json", help="also write the scores as JSON to this file")
    ev.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="papers extracted at once, in processes (default: one per core)")
    ev.set_defaults(func=_cmd_eval)

    schema = sub.add_parser("schema", help="print the result's JSON Schema")
    schema.add_argument("--out", help="write it to this file instead")
    schema.set_defaults(func=_cmd_schema)

    blocks = sub.add_parser("blocks", help="save the Prefect blocks the environment describes")
    blocks.add_argument("action", choices=["register"],
                        help="register: create or update S3 and Secret blocks (idempotent)")
    blocks.set_defaults(func=_cmd_blocks)

    index = sub.add_parser("index", help="embed every stored paper not yet in the vector store")
    index.add_argument("--refresh", action="store_true", help="re-embed every stored paper")
    index.set_defaults(func=_cmd_index)
    search = sub.add_parser("search", help="find stored papers by meaning: a query text")
    search.add_argument("query", help="what the papers should be about")
    search.add_argument("-k", type=int, default=10, help="how many papers (default 10)")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.set_defaults(func=_cmd_search)
    similar = sub.add_parser("similar", help="stored papers like a paper (sha256 or source)")
    similar.add_argument("source", metavar="SOURCE_OR_SHA256",
                         help="a stored paper's sha256, or a PDF path, URL or arXiv id")
    similar.add_argument("-k", type=int, default=10, help="how many papers (default 10)")
    similar.add_argument("--json", action="store_true", help="print the hits as JSON")
    similar.set_defaults(func=_cmd_similar)
    gc = sub.add_parser("gc", help="delete expired task results, run summaries and (opt-in) "
                                   "papers not requested for N days")
    gc.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    gc.add_argument("--results-days", type=float, help="task results older than this "
                    "(default PAPERFLOW_RESULTS_RETENTION_DAYS, 30)")
    gc.add_argument("--runs-days", type=float, help="runs/ summaries older than this "
                    "(default PAPERFLOW_RUNS_RETENTION_DAYS, 90)")
    gc.add_argument("--papers-days", type=float, help="papers not requested for this long "
                    "(default: papers are kept)")
    gc.set_defaults(func=_cmd_gc)

    up = sub.add_parser("up", help="start the local stack: Prefect server, deployments, worker")
    up.add_argument("--s3", action=argparse.BooleanOptionalAction, default=None,
                    help="S3 for assets and results: SeaweedFS on :8333 (PAPERFLOW_STACK_S3_PORT),"
                         " or your own when PAPERFLOW_S3_ENDPOINT_URL is set (default: on when "
                         "S3 is configured or SeaweedFS is installed; --no-s3: local disk)")
    up.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None,
                    help="the server's database in the stack's own PostgreSQL on :5433 "
                         "(PAPERFLOW_STACK_PG_PORT) instead of SQLite, for many concurrent runs "
                         "(default: on when PAPERFLOW_STACK_POSTGRES is set)")
    up.set_defaults(func=_cmd_stack)
    down = sub.add_parser("down", help="stop what `paperflow up` started and the background "
                                       "server of `paperflow process`")
    down.set_defaults(func=_cmd_stack)
    worker = sub.add_parser(
        "worker", help="join a Prefect server: a process worker on its `papers` pool",
        description="Check that the Prefect API answers and has the `papers` work pool, say where "
                    "flow runs will store papers, then run `prefect worker start --pool papers "
                    "--type process` in the foreground (Ctrl-C stops it): how another machine "
                    "joins a server that `paperflow up` set up.")
    worker.add_argument("--api-url", metavar="URL",
                        help="the server's API, e.g. http://SERVER:4200/api (default: "
                             "PREFECT_API_URL, else the local `paperflow up` stack)")
    worker.add_argument("--limit", type=_positive_int, metavar="N",
                        help="flow runs at once (default: PAPERFLOW_WORKER_LIMIT, else 4, as for "
                             "the worker of `paperflow up`)")
    worker.add_argument("--queue", action="append", metavar="NAME",
                        help="take runs from this queue only (on-demand, scheduled, bulk); "
                             "repeat or separate with commas (default: every queue of the pool)")
    worker.add_argument("--name", help="the worker's name in the UI and `paperflow health` "
                                       "(default: Prefect's)")
    worker.add_argument("--check", action="store_true",
                        help="run the checks and print the command; start nothing")
    worker.set_defaults(func=_cmd_worker)
    _add_jobs_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line; `argv` None means this process's own (the only case served warm)."""
    from cli import warm

    given, env, cwd = list(sys.argv[1:] if argv is None else argv), dict(os.environ), Path.cwd()
    warm_call = argv is None and not IN_WARM_CHILD and warm.enabled(given, env)
    if warm_call:
        code = warm.call(given, env, cwd)
        if code is not None:
            return code
    args = build_parser().parse_args(given)
    home = os.environ.get("PREFECT_HOME")
    if home:  # Prefect creates only the last folder; its database cannot open without it
        Path(home).expanduser().mkdir(parents=True, exist_ok=True)
    try:
        code = int(args.func(args))
    except KeyboardInterrupt:
        print("paperflow: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if warm_call:  # for the next call like this one
        warm.start_in_background(env, cwd)
    return code


if __name__ == "__main__":
    sys.exit(main())

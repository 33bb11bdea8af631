"""The `paperflow` command as a user runs it: a real subprocess against the session's server."""

from __future__ import annotations

import fcntl
import importlib.metadata
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from cli.main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SourceProgress, _check_s3, main
from paperflow import __version__
from paperflow.models import json_schema_text
from paperflow.settings import reload_settings
from paperflow.storage.s3 import (
    BlocksNotRegisteredError,
    BucketNotFoundError,
    StorageCredentialsError,
    missing_block_error,
)
from tests.conftest import ROOT, SAMPLE_PDF
from tests.pdfs import HTML_PAGE, make_paper
from tests.s3 import BUCKET, SeaweedFS, apply_env, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures


def _run(args: list[str], api_url: str | None, data_dir: Path,
         prefect_home: Path | None = None,
         env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI on the session's server, or (no `api_url`) on its own embedded one.

    Without `api_url` the background server is off unless `env_extra` turns it on, so no test
    leaves one running by accident.
    """
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(data_dir),
           "PAPERFLOW_BACKGROUND_SERVER": "false", **(env_extra or {})}
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if prefect_home:
        env["PREFECT_HOME"] = str(prefect_home)
    return subprocess.run([sys.executable, "-m", "paperflow", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_process_several_sources_with_one_bad(prefect_server: str, tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(make_paper(title="A Command Line Paper", nonce="cli"))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(HTML_PAGE)
    out = tmp_path / "out"
    done = _run(["process", str(good), str(bad), "--out-dir", str(out), "--jobs", "1"],
                prefect_server, tmp_path / "data")
    assert done.returncode == EXIT_FAILED, done.stderr
    assert "Title:      A Command Line Paper" in done.stdout
    assert "[2/2]" in done.stderr and "HTML page" in done.stderr
    assert "1 of 2 sources failed" in done.stderr
    # stderr is a pipe: plain progress lines (one job: in order), no bar, no terminal codes.
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert lines[:3] == [f"[1/2] {good}: processing…", f"[1/2] {good}: done",
                         f"[2/2] {bad}: processing…"]
    assert lines[3].startswith(f"[2/2] {bad}: FAILED — ")
    assert "\x1b[" not in done.stderr and "━" not in done.stderr
    written = json.loads((out / "good.json").read_text())
    assert written["title"] == "A Command Line Paper"
    assert not (out / "bad.json").exists()
    assert not list(out.glob("*.part"))


def test_process_json_to_stdout_on_a_fresh_embedded_server(tmp_path: Path) -> None:
    """As `make run` on a fresh clone, with --no-background-server: no server, a Prefect home
    whose parents do not exist."""
    home = tmp_path / "not" / "yet" / "prefect"
    done = _run(["process", str(SAMPLE_PDF), "--json", "--no-figures", "--no-background-server"],
                None, tmp_path / "data", prefect_home=home,
                env_extra={"PAPERFLOW_BACKGROUND_SERVER": "true"})
    assert done.returncode == EXIT_OK, done.stderr
    assert "background" not in done.stderr and not (tmp_path / "data" / "server").exists()
    assert (home / "prefect.db").is_file()
    result = json.loads(done.stdout)
    assert result["page_count"] == 16 and result["figures"] == []


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        main(["process"])
    assert missing.value.code == EXIT_USAGE
    assert main(["process", "a.pdf", "b.pdf", "--out", "x.json"]) == EXIT_USAGE
    assert "--out-dir" in capsys.readouterr().err


def test_committed_schema_matches_the_model() -> None:
    committed = (ROOT / "paperflow" / "schema" / "paper-metadata.schema.json").read_text()
    assert committed == json_schema_text() + "\n", "run `make schema` after changing models.py"


def test_eval_command_scores_a_paper(eval_dir: Path, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    scores = tmp_path / "scores.json"
    assert main(["eval", str(eval_dir), "--only", "V23", "--json", str(scores)]) == EXIT_OK
    captured = capsys.readouterr()
    out = captured.out
    assert "| title |" in out and "V23_peerjcs2017_vespa" in out
    assert "[1/1] V23_peerjcs2017_vespa: done" in captured.err  # progress, counted beforehand
    data = json.loads(scores.read_text())
    assert [p["id"] for p in data["papers"]] == ["V23_peerjcs2017_vespa"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == EXIT_OK
    assert capsys.readouterr().out == f"paperflow {__version__}\n"
    assert __version__ == importlib.metadata.version("paperflow"), \
        "paperflow/__init__.py and pyproject.toml disagree on the version"


def test_python_dash_m_paperflow() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    helped = subprocess.run([sys.executable, "-m", "paperflow", "--help"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == EXIT_OK, helped.stderr
    assert helped.stdout.startswith("usage: paperflow ")
    for command in ("process", "eval", "schema", "blocks", "up", "down", "--version"):
        assert command in helped.stdout
    version = subprocess.run([sys.executable, "-m", "paperflow", "--version"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert (version.returncode, version.stdout) == (EXIT_OK, f"paperflow {__version__}\n")
    wrong = subprocess.run([sys.executable, "-m", "paperflow", "no-such-command"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == EXIT_USAGE and "invalid choice" in wrong.stderr


def _terminal(width: int = 100) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=width, highlight=False), out


def test_progress_bar_over_the_sources_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")  # TERM=dumb would (rightly) get plain lines
    console, out = _terminal()
    with SourceProgress(2, console=console) as progress:
        assert progress.live
        progress.started(1, "a/first.pdf")
        progress.finished(1, "a/first.pdf")
        progress.started(2, "https://example.org/" + "x" * 80 + "/second.pdf")
        progress.finished(2, "https://example.org/second.pdf", failure="ValueError: bad")
    text = out.getvalue()
    assert "[1/2] a/first.pdf: done" in text
    assert "[2/2] https://example.org/second.pdf: FAILED — ValueError: bad" in text
    assert "processing…" not in text, "the bar replaces the per-source 'processing' lines"
    assert "\x1b[" in text and "━" in text  # a drawn bar
    final = text.rsplit("\r", 1)[-1]  # the bar's last drawing
    assert "2/2" in final and "…" in text and "second.pdf" in final


def test_one_source_or_no_terminal_gets_plain_lines() -> None:
    console, out = _terminal()
    with SourceProgress(1, console=console) as progress:
        assert not progress.live
        progress.started(1, "only.pdf")
        progress.finished(1, "only.pdf")
    assert out.getvalue() == "[1/1] only.pdf: processing…\n[1/1] only.pdf: done\n"

    pipe = io.StringIO()
    with SourceProgress(2, stream=pipe) as progress:
        assert not progress.live
        for index, name in enumerate(("a.pdf", "b.pdf"), 1):
            progress.started(index, name)
            progress.finished(index, name, failure="Boom: no" if index == 2 else None)
    assert pipe.getvalue().splitlines() == [
        "[1/2] a.pdf: processing…", "[1/2] a.pdf: done",
        "[2/2] b.pdf: processing…", "[2/2] b.pdf: FAILED — Boom: no"]


def test_process_two_sources_with_a_terminal_on_stderr(prefect_server: str,
                                                       tmp_path: Path) -> None:
    """The real command with stderr on a pseudo-terminal: a bar; stdout (a pipe) stays plain."""
    sources = []
    for name in ("first", "second"):
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(make_paper(title=f"The {name.title()} Terminal Paper",
                                    nonce=f"cli-tty-{name}", figure=False))
        sources.append(path)
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "TTY_COMPATIBLE",
                                                            "TTY_INTERACTIVE", "FORCE_COLOR"}}
    env.update(PAPERFLOW_DATA_DIR=str(tmp_path / "data"), PREFECT_API_URL=prefect_server,
               TERM="xterm-256color", COLUMNS="120", LINES="40")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "paperflow", "process", *map(str, sources), "--no-figures",
             "--no-preview", "--out-dir", str(tmp_path / "out")],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        stdout, _ = child.communicate(timeout=600)
        reader.join(timeout=30)
    finally:
        os.close(leader)
    terminal = b"".join(chunks).decode(errors="replace")
    assert child.returncode == EXIT_OK, terminal[-5000:]
    assert f"[1/2] {sources[0]}: done" in terminal and f"[2/2] {sources[1]}: done" in terminal
    assert "processing…" not in terminal
    assert "━" in terminal and "\x1b[" in terminal and "2/2" in terminal.rsplit("done", 1)[1]
    summaries = stdout.decode()
    assert "The First Terminal Paper" in summaries and "The Second Terminal Paper" in summaries
    assert "\x1b" not in summaries and "━" not in summaries
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["first.json", "second.json"]


def test_prefect_missing_block_error_names_the_command() -> None:
    error = missing_block_error(
        "Unable to find block document named paperflow-results for block type s3-bucket",
        "http://127.0.0.1:4200/api")
    assert isinstance(error, BlocksNotRegisteredError)
    message = str(error)
    assert "paperflow-results" in message and "http://127.0.0.1:4200/api" in message
    assert "`paperflow blocks register`" in message and "PAPERFLOW_S3_BUCKET" in message
    assert missing_block_error("Some other failure", "x") is None


S3_BLOCK_TYPES = {"paperflow-aws": "aws-credentials", "paperflow-assets": "s3-bucket",
                  "paperflow-results": "paperflow-checked-s3-bucket"}


def _delete_s3_blocks() -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for name, slug in S3_BLOCK_TYPES.items():
            try:
                document = client.read_block_document_by_name(name, block_type_slug=slug)
            except ObjectNotFound:
                continue
            client.delete_block_document(document.id)


@pytest.mark.slow
def test_process_with_s3_registers_missing_blocks(prefect_server: str, s3_env: dict[str, str],
                                                  seaweedfs: SeaweedFS, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """PAPERFLOW_S3_BUCKET set, no blocks on the server: the CLI registers them and says so."""
    from tasks.results import CheckedS3Bucket

    _delete_s3_blocks()
    try:
        with pytest.raises(ValueError, match="Unable to find block document"):
            CheckedS3Bucket.load("paperflow-results")
        source = tmp_path / "paper.pdf"
        source.write_bytes(make_paper(title="Blocks On Demand", nonce="cli-s3-blocks",
                                      figure=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERFLOW_", "AWS_"))}
        env.update(s3_env, PAPERFLOW_DATA_DIR=str(tmp_path / "data"),
                   PREFECT_API_URL=prefect_server)
        done = subprocess.run(
            [sys.executable, "-m", "paperflow", "process", str(source), "--json", "--no-preview"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == EXIT_OK, done.stderr[-5000:]
        assert "block(s) paperflow-aws, paperflow-assets, paperflow-results were not " \
               f"registered on {prefect_server}; registered them now" in done.stderr
        assert "  paperflow-results: created" in done.stderr
        assert "Unable to find block document" not in done.stderr
        result = json.loads(done.stdout)
        prefix = s3_env["PAPERFLOW_S3_PREFIX"]
        assert result["assets"]["metadata"]["uri"] == \
            f"s3://{BUCKET}/{prefix}/papers/{result['sha256']}/metadata.json"
        results = CheckedS3Bucket.load("paperflow-results")
        assert (results.bucket_name, results.bucket_folder) == (BUCKET, f"{prefix}/prefect-results")
        stored = seaweedfs.objects(prefix=f"{prefix}/prefect-results/")
        assert any(result["sha256"] in key for key in stored), "task results did not go to S3"

        # Registered now: a second check says nothing and changes nothing.
        capsys.readouterr()
        _check_s3(reload_settings())
        assert capsys.readouterr().err == ""
    finally:
        _delete_s3_blocks()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "error", "says"),
    [({"AWS_SECRET_ACCESS_KEY": "wrong"}, StorageCredentialsError,
      ["refused listing bucket 'paperflow-test'", "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"]),
     ({"PAPERFLOW_S3_BUCKET": "no-such-bucket"}, BucketNotFoundError,
      ["Bucket 'no-such-bucket' does not exist at", "PAPERFLOW_S3_ENDPOINT_URL"])],
    ids=["wrong-keys", "missing-bucket"])
def test_process_with_s3_misconfigured_fails_once_and_clearly(
        prefect_server: str, s3_env: dict[str, str], seaweedfs: SeaweedFS,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        change: dict[str, str], error: type[Exception], says: list[str]) -> None:
    apply_env(monkeypatch, {**s3_env, **change})
    with pytest.raises(error) as raised:
        _check_s3(reload_settings())
    for words in [seaweedfs.endpoint_url, *says]:
        assert words in str(raised.value)
    for name, value in (("PREFECT_LOGGING_LEVEL", "WARNING"),
                        ("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "INFO"),
                        ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")):
        monkeypatch.setenv(name, os.environ.get(name, value))  # what `process` sets, undone
    assert main(["process", str(SAMPLE_PDF)]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("paperflow: ") and all(words in err for words in says)
    assert "[1/1]" not in err, "no source is started when the store is misconfigured"


def test_job_commands_parse() -> None:
    from cli.main import build_parser

    parser = build_parser()
    runs = parser.parse_args(["runs", "--state", "failed,crashed", "--state", "TimedOut",
                              "--deployment", "process-paper", "--since", "2d", "--limit", "5",
                              "--json"])
    assert runs.state == ["failed,crashed", "TimedOut"] and runs.deployment == ["process-paper"]
    assert runs.limit == 5 and runs.json and runs.since.tzinfo is not None
    stats = parser.parse_args(["stats"])
    assert 6.9 < (datetime.now(UTC) - stats.since).total_seconds() / 86400 < 7.1
    submit = parser.parse_args(["submit", "paper.pdf", "--wait", "--deployment", "x/y"])
    assert submit.source == "paper.pdf" and submit.wait and submit.deployment == "x/y"
    assert parser.parse_args(["submit", "2304.02623"]).deployment == \
        "process-paper/process-paper"
    assert parser.parse_args(["status", "abc", "--json"]).run_id == "abc"
    assert parser.parse_args(["cancel", "abc"]).run_id == "abc"
    assert not parser.parse_args(["health"]).json


def test_job_commands_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["runs", "--since", "last week"], ["status"], ["submit"],
                 ["runs", "--limit", "many"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == EXIT_USAGE, argv
    assert "not a duration" in capsys.readouterr().err


def test_job_commands_without_a_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path))  # no stack.json there
    reload_settings()
    try:
        assert main(["runs"]) == EXIT_FAILED
    finally:
        monkeypatch.undo()
        reload_settings()
    err = capsys.readouterr().err
    assert "PREFECT_API_URL is not set" in err and "paperflow up" in err


def _flow_runs(api_url: str, source: Path | str) -> list[dict[str, object]]:
    """The flow runs (newest 200) of `source`, read through the API."""
    import httpx

    found = httpx.post(f"{api_url}/flow_runs/filter", timeout=30,
                       json={"sort": "EXPECTED_START_TIME_DESC", "limit": 200})
    found.raise_for_status()
    return [run for run in found.json() if run["parameters"].get("source") == str(source)]


@contextmanager
def _served_together(papers: dict[str, bytes]) -> Iterator[str]:
    """Serve each paper (path -> bytes) only once every one of them has been asked for.

    Processed one after another, the first download would wait in vain (503 after 60 s).
    """
    together = threading.Barrier(len(papers), timeout=60)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = papers.get(self.path)
            try:
                together.wait()
            except threading.BrokenBarrierError:
                body = None
            self.send_response(200 if body else 503)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_process_runs_sources_concurrently(prefect_server: str, tmp_path: Path) -> None:
    """`--jobs 2`: both papers download at once and both flow runs overlap; output names are
    as one by one (the same stem twice: paper.json, paper-2.json)."""
    papers = {f"/{name}/paper.pdf": make_paper(title=f"Concurrent Paper {name.upper()}",
                                               nonce=f"cli-overlap-{name}", figure=False)
              for name in ("a", "b")}
    out = tmp_path / "out"
    with _served_together(papers) as base:
        sources = [base + path for path in papers]
        done = _run(["process", *sources, "--out-dir", str(out), "--jobs", "2", "--no-preview"],
                    prefect_server, tmp_path / "data")
    assert done.returncode == EXIT_OK, done.stderr[-5000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert set(lines[:2]) == {f"[1/2] {sources[0]}: processing…",
                              f"[2/2] {sources[1]}: processing…"}, lines
    assert set(lines[2:]) == {f"[1/2] {sources[0]}: done", f"[2/2] {sources[1]}: done"}
    assert [json.loads((out / name).read_text())["title"] for name in
            ("paper.json", "paper-2.json")] == ["Concurrent Paper A", "Concurrent Paper B"]
    runs = [run for source in sources for run in _flow_runs(prefect_server, source)]
    assert len(runs) == 2 and all(run["state_type"] == "COMPLETED" for run in runs), runs
    first, second = sorted(runs, key=lambda run: str(run["start_time"]))
    assert str(second["start_time"]) < str(first["end_time"]), "the two runs did not overlap"


def test_process_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    for jobs in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as stopped:
            main(["process", "a.pdf", "--jobs", jobs])
        assert stopped.value.code == EXIT_USAGE
    assert "not a whole number of at least 1" in capsys.readouterr().err


def test_progress_bar_names_the_sources_running_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    console, out = _terminal()
    with SourceProgress(3, console=console) as progress:
        progress.started(1, "one.pdf")
        progress.started(2, "two.pdf")
        assert progress._description() == "two.pdf (+1 running)"
        progress.finished(2, "two.pdf")
        assert progress._description() == "two.pdf (+1 running)"
        progress.finished(1, "one.pdf", failure="Boom: no")
        progress.started(3, "three.pdf")
        assert progress._description() == "three.pdf"
        progress.finished(3, "three.pdf")
    final = out.getvalue().rsplit("\r", 1)[-1]
    assert "3/3" in final and "three.pdf" in final


def test_a_stale_pid_file_is_not_a_server(tmp_path: Path) -> None:
    from deployments.local_server import LocalServer

    server = LocalServer(tmp_path / "server")
    assert server.running() is None and server.stop() is None
    gone = subprocess.Popen(["true"])
    gone.wait()
    server.pid_file.write_text(str(gone.pid))  # a process that has exited
    assert server.running() is None
    other = subprocess.Popen(["sleep", "30"])  # alive, but not a Prefect server (reused pid)
    try:
        server.pid_file.write_text(str(other.pid))
        assert server.running() is None
        assert server.stop() is None and not server.pid_file.exists()
        assert other.poll() is None, "stop() must not kill a process that is not its server"
    finally:
        other.kill()
        other.wait()


def test_background_server_is_started_once_reused_and_stopped_by_down(tmp_path: Path) -> None:
    """No PREFECT_API_URL, no stack: the first call starts a server, the second reuses it (same
    pid, the run history in the same PREFECT_HOME), `down` stops it."""
    from deployments.local_server import LocalServer
    from deployments.stack import free_port

    data, home = tmp_path / "data", tmp_path / "prefect"
    port = free_port()
    on = {"PAPERFLOW_BACKGROUND_SERVER": "true", "PAPERFLOW_LOCAL_SERVER_PORT": str(port)}
    server = LocalServer(data / "server", port=port)
    server.root.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    server.pid_file.write_text(str(dead.pid))  # left by a server that died with the machine
    source = tmp_path / "warm.pdf"
    source.write_bytes(make_paper(title="A Warm Server Paper", nonce="cli-warm", figure=False))
    try:
        first = _run(["process", str(source), "--json", "--no-preview"], None, data,
                     prefect_home=home, env_extra=on)
        assert first.returncode == EXIT_OK, first.stderr[-5000:]
        assert "removed a stale background-server pid file" in first.stderr
        assert f"started a background Prefect server at http://127.0.0.1:{port}" in first.stderr
        # Which `down` stops it: the one with the same data folder.
        assert f"with the data folder {data.resolve()} reuse it" in " ".join(first.stderr.split())
        pid = server.running()
        assert pid is not None and json.loads(server.state_file.read_text())["pid"] == pid
        assert json.loads(first.stdout)["title"] == "A Warm Server Paper"

        other = tmp_path / "other.pdf"
        other.write_bytes(make_paper(title="Another Warm Paper", nonce="cli-warm-2",
                                     figure=False))
        second = _run(["process", str(source), str(other), "--json", "--no-preview",
                       "--refresh"], None, data, prefect_home=home, env_extra=on)
        assert second.returncode == EXIT_OK, second.stderr[-5000:]
        assert "started a background" not in second.stderr
        assert server.running() == pid, "the second call did not reuse the server"
        runs = _flow_runs(f"http://127.0.0.1:{port}/api", source)
        assert len(runs) == 2 and {run["state_type"] for run in runs} == {"COMPLETED"}
        assert (home / "prefect.db").is_file()
        # Both sources, each in its own thread, ran on the background server; JSON in order.
        assert second.stderr.count(f"View at http://127.0.0.1:{port}/runs/flow-run/") == 2
        decoder = json.JSONDecoder()
        titles, at = [], 0
        while at < len(second.stdout.rstrip()):
            doc, at = decoder.raw_decode(second.stdout, at)
            titles.append(doc["title"])
            at += len(second.stdout[at:]) - len(second.stdout[at:].lstrip())
        assert titles == ["A Warm Server Paper", "Another Warm Paper"]
    finally:
        down = _run(["down"], None, data, prefect_home=home, env_extra=on)
    assert down.returncode == EXIT_OK, down.stderr
    assert down.stdout.startswith(f"stopped background server (pid {pid}"), down.stdout
    assert server.running() is None and not server.pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    again = _run(["down"], None, data, prefect_home=home, env_extra=on)
    assert again.stdout.strip() == "nothing was running"


def test_process_sends_heartbeats_only_where_a_server_watches_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the stack (or a server PREFECT_API_URL names) a `process` call's flow runs beat every
    HEARTBEAT_SECONDS like deployment runs (the zombie automation crashes a run after three
    missed beats); on the embedded or background server, none (a beat costs a warm call up to
    a second); a variable set by the user wins."""
    import importlib

    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    import deployments.local_server as local_server
    from deployments.local_server import HEARTBEAT_SECONDS

    cli_main = importlib.import_module("cli.main")
    for name in ("PREFECT_API_URL", "PREFECT_FLOWS_HEARTBEAT_FREQUENCY",
                 "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAPERFLOW_DATA_DIR", str(tmp_path / "data"))
    settings = reload_settings()

    def beats(background: bool = False) -> int | None:
        with cli_main._process_api(settings, background=background):
            return get_current_settings().flows.heartbeat_frequency

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert beats() is None  # embedded server
        monkeypatch.setattr(local_server, "stack_api_url", lambda data_dir: "http://127.0.0.1:9/api")
        assert beats() == HEARTBEAT_SECONDS  # the stack answers
        monkeypatch.setenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "600")
        with temporary_settings(updates={"flows.heartbeat_frequency": 600}):
            assert beats() == 600  # the user's own choice stays
    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert beats() == HEARTBEAT_SECONDS  # a server the user named

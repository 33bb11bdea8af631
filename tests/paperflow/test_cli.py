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
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from paperflow import __version__
from paperflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, SourceProgress, _check_s3, main
from paperflow.models import json_schema_text
from paperflow.s3 import (
    BlocksNotRegisteredError,
    BucketNotFoundError,
    StorageCredentialsError,
    missing_block_error,
)
from paperflow.settings import reload_settings
from tests.conftest import ROOT, SAMPLE_PDF
from tests.pdfs import HTML_PAGE, make_paper
from tests.s3 import BUCKET, SeaweedFS, apply_env, s3_env, seaweedfs

__all__ = ["s3_env", "seaweedfs"]  # fixtures


def _run(args: list[str], api_url: str | None, data_dir: Path,
         prefect_home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI on the session's server, or (no `api_url`) on its own embedded one."""
    env = {**os.environ, "PAPERFLOW_DATA_DIR": str(data_dir)}
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if prefect_home:
        env["PREFECT_HOME"] = str(prefect_home)
    return subprocess.run([sys.executable, "-m", "paperflow.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_process_several_sources_with_one_bad(prefect_server: str, tmp_path: Path) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(make_paper(title="A Command Line Paper", nonce="cli"))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(HTML_PAGE)
    out = tmp_path / "out"
    done = _run(["process", str(good), str(bad), "--out-dir", str(out)], prefect_server,
                tmp_path / "data")
    assert done.returncode == EXIT_FAILED, done.stderr
    assert "Title:      A Command Line Paper" in done.stdout
    assert "[2/2]" in done.stderr and "HTML page" in done.stderr
    assert "1 of 2 sources failed" in done.stderr
    # stderr is a pipe: plain progress lines in order, no progress bar, no terminal codes.
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
    """As `make run` on a fresh clone: no server, a Prefect home whose parents do not exist."""
    home = tmp_path / "not" / "yet" / "prefect"
    done = _run(["process", str(SAMPLE_PDF), "--json", "--no-figures"], None,
                tmp_path / "data", prefect_home=home)
    assert done.returncode == EXIT_OK, done.stderr
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
    out = capsys.readouterr().out
    assert "| title |" in out and "V23_peerjcs2017_vespa" in out
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
    from paperflow.cli import build_parser

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

"""Every request of a paper through the flows refreshes its `requested` marker, and
`paperflow gc --papers-days` dates papers by it (real flows, local storage, embedded server)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import tasks.storage as storage_tasks
from cli.main import main
from flows.bulk_process import bulk_process
from flows.process_paper import process_paper
from paperflow.errors import StorageError
from paperflow.retention import DAY
from paperflow.storage import REQUESTED_MARKER, paper_key
from tests.pdfs import make_paper

pytestmark = pytest.mark.usefixtures("prefect_server")


def _source(tmp_path: Path, nonce: str) -> str:
    path = tmp_path / f"{nonce}.pdf"
    path.write_bytes(make_paper(title=f"Requested Paper {nonce}", nonce=nonce, pages=2,
                                figure=False))
    return str(path)


def _marker(data_dir: Path, sha256: str) -> Path:
    return data_dir / "store" / paper_key(sha256, REQUESTED_MARKER)


def _age(paths: Iterator[Path] | list[Path], days: float) -> None:
    """Set the files' modification time `days` into the past."""
    moment = time.time() - days * DAY
    for path in paths:
        if path.is_file():
            os.utime(path, (moment, moment))


def _recent(path: Path) -> bool:
    return time.time() - path.stat().st_mtime < 600


def test_each_request_refreshes_the_marker(data_dir: Path, tmp_path: Path) -> None:
    source = _source(tmp_path, "marker-refresh")
    first = process_paper(source)
    marker = _marker(data_dir, first.sha256)
    assert marker.is_file(), "processing a paper wrote no requested marker"
    written = datetime.fromisoformat(marker.read_text())
    assert abs(written.timestamp() - time.time()) < 600 and _recent(marker)

    # A cache hit of an already stored paper is a request too.
    _age([marker], 10)
    body = marker.read_bytes()
    second = process_paper(source)
    assert all(t.cached for t in second.timings), second.timings
    assert _recent(marker) and marker.read_bytes() != body

    # So is a paper of a bulk run (ingestion and bulk chunks run the same per-paper code).
    _age([marker], 10)
    summary = bulk_process(sources=[source], batch_size=1)
    assert summary.total == 1 and summary.failed == 0
    assert _recent(marker)


def test_a_marker_that_cannot_be_written_is_a_warning(data_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise StorageError("the store refused the marker")

    monkeypatch.setattr(storage_tasks, "mark_requested", refused)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("prefect.task_runs")
    logger.addHandler(handler)
    try:
        state = process_paper(_source(tmp_path, "marker-refused"), return_state=True)
    finally:
        logger.removeHandler(handler)
    assert state.is_completed(), state.message
    result = state.result()
    assert (data_dir / "store" / paper_key(result.sha256, "metadata.json")).is_file()
    assert not _marker(data_dir, result.sha256).exists()
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any("the store refused the marker" in w and result.sha256 in w for w in warnings), \
        warnings


def test_gc_keeps_the_paper_requested_again_and_deletes_the_other(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Both papers were stored 40 days ago; one is requested again today (a cache hit)."""
    monkeypatch.setenv("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(tmp_path / "no-results"))
    old_source, kept_source = _source(tmp_path, "gc-old"), _source(tmp_path, "gc-kept")
    old, kept = process_paper(old_source), process_paper(kept_source)
    papers = data_dir / "store" / "papers"
    _age(papers.rglob("*"), 40)
    process_paper(kept_source)
    assert _recent(_marker(data_dir, kept.sha256))
    assert not _recent(_marker(data_dir, old.sha256))

    assert main(["gc", "--dry-run", "--papers-days", "30"]) == 0
    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if line.startswith("papers")]
    assert len(listed) == 1 and old.sha256 in listed[0], out
    assert (papers / old.sha256 / "metadata.json").is_file(), "the dry run deleted something"

    assert main(["gc", "--papers-days", "30"]) == 0
    out = capsys.readouterr().out
    assert "deleted 1 item(s)" in out, out
    assert not (papers / old.sha256).exists()
    assert (papers / kept.sha256 / "metadata.json").is_file()
    assert _marker(data_dir, kept.sha256).is_file()

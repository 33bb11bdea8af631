"""The real process-paper flow on a real (SQLite) Prefect server."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import paperflow.layout as layout
import paperflow.pipeline as pipeline
import tasks.extraction as extraction
from flows.process_paper import ProcessOptions, process_paper
from paperflow.pdf import parse_layout
from paperflow.storage import REQUESTED_MARKER
from tests.conftest import SAMPLE_PDF
from tests.httpserver import Route, serve
from tests.ocr_pages import rasterise
from tests.pdfs import HTML_PAGE, make_encrypted, make_paper, make_scanned
from tests.prefect_api import artifacts, task_runs

pytestmark = pytest.mark.usefixtures("prefect_server")

GROUP_STEPS = [(spec, "run") for spec in pipeline.REGISTRY]
"""Every extraction group of the registry the tasks are built from."""
CORE_STEPS = [
    *GROUP_STEPS,
    (extraction, "extract_figures_limited"),
    (extraction, "render_preview_limited"),
    (extraction, "parse_layout_limited"),
    (layout, "analyse_layout"),
]


def _write(tmp_path: Path, data: bytes, name: str = "paper.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_sample_paper_end_to_end(data_dir: Path) -> None:
    result = process_paper(str(SAMPLE_PDF))
    assert result.page_count == 16 and len(result.sha256) == 64
    assert result.title and "VESPA" in result.title
    store = data_dir / "store" / "papers" / result.sha256
    for name in ("original.pdf", "preview.webp", "thumbs/sm.webp", "thumbs/md.webp",
                 "thumbs/lg.webp", "text/pages.json", "metadata.json"):
        assert (store / name).is_file(), name
    assert (store / "original.pdf").read_bytes() == SAMPLE_PDF.read_bytes()
    stored = json.loads((store / "metadata.json").read_text())
    assert stored["sha256"] == result.sha256 and "timings" not in stored
    pages = json.loads((store / "text" / "pages.json").read_text())["pages"]
    assert len(pages) == 16 and "VESPA" in pages[0]["text"]
    assert result.preview is not None and set(result.preview.thumbnails) == {"sm", "md", "lg"}
    assert {t.task for t in result.timings} >= {"parse_pdf", "title_authors_abstract",
                                               "references", "figures", "preview"}
    assert result.provenance.get("title") == "pdf"
    assert set(result.assets) == {"original", "text", "preview", "metadata"}


def test_groups_run_concurrently(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    """Every group waits at one barrier: run one after another, the barrier would time out."""
    steps = [*GROUP_STEPS, (extraction, "extract_figures_limited"),
             (extraction, "render_preview_limited")]
    barrier = threading.Barrier(len(steps), timeout=60)
    for module, name in steps:
        original = getattr(module, name)

        def waiting(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            barrier.wait()
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, waiting)
    result = process_paper(_write(tmp_path, make_paper(nonce="concurrency")))
    assert not barrier.broken
    spans = {t.task: (t.started_at, t.started_at + t.seconds) for t in result.timings
             if t.task not in ("parse_pdf", "analyse_layout")}
    latest_start = max(start for start, _ in spans.values())
    earliest_end = min(end for _, end in spans.values())
    assert latest_start <= earliest_end, "the groups did not all overlap in time"


def test_second_run_of_same_bytes_does_no_work(data_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    source = _write(tmp_path, make_paper(nonce="cache-hit"))
    first = process_paper(source)
    assert not any(t.cached for t in first.timings)
    store = data_dir / "store" / "papers" / first.sha256
    # Every asset stays as it was; only the `requested` marker moves on with each request.
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")
              if p.is_file() and p.name != REQUESTED_MARKER}

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached step ran again")

    for module, name in CORE_STEPS:
        monkeypatch.setattr(module, name, forbidden)
    copy = _write(tmp_path, Path(source).read_bytes(), "same-bytes-other-name.pdf")
    second = process_paper(copy)
    assert all(t.cached for t in second.timings), second.timings
    assert second.model_dump(exclude={"timings", "source"}) == \
        first.model_dump(exclude={"timings", "source"})
    after = {p: p.stat().st_mtime_ns for p in store.rglob("*")
             if p.is_file() and p.name != REQUESTED_MARKER}
    assert after == before, "the second run rewrote stored files"


def test_refresh_cache_recomputes(data_dir: Path, tmp_path: Path) -> None:
    source = _write(tmp_path, make_paper(nonce="refresh"))
    process_paper(source)
    again = process_paper(source, ProcessOptions(refresh_cache=True))
    assert not any(t.cached for t in again.timings)


def test_time_limit_set_after_the_import_applies_to_the_next_run(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that imported the flow, then changed its settings (a notebook): the next run
    takes the new task time limit and the flow's new retries, not those of the import."""
    from paperflow.settings import reload_settings
    from tasks.policy import configured

    monkeypatch.setenv("PAPERFLOW_TASK_TIMEOUT_SECONDS", "0.001")
    monkeypatch.setenv("PAPERFLOW_FLOW_RETRIES", "0")
    reload_settings()
    state = configured(process_paper)(_write(tmp_path, make_paper(nonce="limit")),
                                      ProcessOptions(refresh_cache=True), return_state=True)
    assert state.is_failed()
    runs = {run.name.rsplit("-", 1)[0]: run for run in task_runs(state.state_details.flow_run_id)}
    assert runs["parse_pdf"].state.name == "TimedOut", {n: r.state.name for n, r in runs.items()}
    assert runs["parse_pdf"].run_count == 1


def test_a_scan_is_read_by_the_ocr_step_which_is_cached(data_dir: Path,
                                                         tmp_path: Path) -> None:
    scan = _write(tmp_path, rasterise(make_paper(title="A Scanned Paper Read Twice",
                                                 nonce="ocr-step", figure=False), 1, 200))
    first = process_paper(scan)
    steps = {t.task: t for t in first.timings}
    assert "ocr_pages" in steps and not steps["ocr_pages"].cached
    assert "analyse_layout" in steps  # the OCR'd words are analysed after the OCR, not before
    assert first.title == "A Scanned Paper Read Twice"
    assert any("read by OCR" in w for w in first.warnings), first.warnings
    second = process_paper(scan)
    assert {t.task: t.cached for t in second.timings}["ocr_pages"] is True
    assert {t.task: t.cached for t in second.timings}["analyse_layout"] is True
    assert second.title == first.title
    native = process_paper(_write(tmp_path, make_paper(nonce="no-ocr-step"), "native.pdf"))
    # A paper with a text layer has no OCR step, and its analysis is part of parsing it: one
    # task and one stored document, not two.
    assert not {"ocr_pages", "analyse_layout"} & {t.task for t in native.timings}


def test_an_unanalysed_parse_is_analysed_by_its_own_step(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A parse record cached before `parse_pdf` also analysed holds a raw document.
    monkeypatch.setattr(extraction, "parse_layout_limited",
                        lambda data, max_pages, settings=None, **_: parse_layout(
                            data, max_pages, defer_ocr=True))
    result = process_paper(_write(tmp_path, make_paper(title="A Paper Parsed Before",
                                                       nonce="raw-parse")))
    assert "analyse_layout" in {t.task for t in result.timings}
    assert result.title == "A Paper Parsed Before"


def test_scanned_paper_gives_a_degraded_result(data_dir: Path, tmp_path: Path) -> None:
    result = process_paper(_write(tmp_path, make_scanned()))
    assert result.page_count == 1 and result.title is None
    assert any("text layer" in w for w in result.warnings)
    assert (data_dir / "store" / "papers" / result.sha256 / "metadata.json").is_file()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (HTML_PAGE, "HTML page"),
        (make_encrypted(), "password"),
        (make_paper(nonce="truncated")[:5000], "truncated"),
    ],
    ids=["empty", "html-renamed", "encrypted", "truncated"],
)
def test_bad_input_fails_clearly_without_retries(data_dir: Path, tmp_path: Path, data: bytes,
                                                 message: str) -> None:
    state = process_paper(_write(tmp_path, data), return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match=message):
        state.result()
    runs = task_runs(state.state_details.flow_run_id)
    assert runs and all(run.run_count <= 1 for run in runs), [(r.name, r.run_count) for r in runs]
    assert not (data_dir / "store" / "papers").exists() or not list(
        (data_dir / "store" / "papers").rglob("metadata.json"))


def test_urls_that_404_or_serve_html(data_dir: Path) -> None:
    with serve({"/landing.pdf": Route(200, HTML_PAGE, {"Content-Type": "text/html"})}) as server:
        missing = process_paper(f"{server.base_url}/gone.pdf", return_state=True)
        landing = process_paper(f"{server.base_url}/landing.pdf", return_state=True)
        assert server.requests.count("/gone.pdf") == 1, "a 404 must not be retried"
    with pytest.raises(Exception, match="HTTP 404"):
        missing.result()
    with pytest.raises(Exception, match="HTML page"):
        landing.result()


def test_artifacts_are_published(data_dir: Path, tmp_path: Path) -> None:
    state = process_paper(_write(tmp_path, make_paper(nonce="artifacts")), return_state=True)
    result = state.result()

    found = artifacts(state.state_details.flow_run_id)
    by_key = {a.key.split("-")[0]: a for a in found if a.key}
    assert set(by_key) == {"paper", "references", "metadata"}
    assert all(result.sha256[:12] in a.key for a in by_key.values())
    assert by_key["paper"].data.startswith(f"# {result.title or 'Untitled paper'}")
    assert by_key["references"].type == "table"
    assert "metadata.json" in by_key["metadata"].data
    progress = [a for a in found if a.type == "progress"]
    assert len(progress) == 1 and progress[0].data == 100.0


def test_report_lists_the_stored_papers_most_like_this_one(data_dir: Path,
                                                          tmp_path: Path) -> None:
    first = process_paper(_write(tmp_path, make_paper(nonce="similar-a"), "a.pdf"))
    state = process_paper(_write(tmp_path, make_paper(nonce="similar-b"), "b.pdf"),
                          return_state=True)
    second = state.result()
    assert second.sha256 != first.sha256
    report = next(a for a in artifacts(state.state_details.flow_run_id)
                  if a.key and a.key.startswith("paper"))
    section = report.data.split("## Similar papers", 1)[1]
    assert first.sha256[:12] in section and second.sha256[:12] not in section


def test_pdf_bytes_as_the_source(data_dir: Path) -> None:
    data = make_paper(nonce="raw-bytes")
    result = process_paper(data, ProcessOptions(figures=False, preview=False))
    assert result.source == "<bytes>" and result.size_bytes == len(data)
    assert result.figures == [] and result.preview is None

"""arXiv ingestion against a local arXiv (real Atom format, real PDFs), on a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.ingest_arxiv import ingest_arxiv
from paperflow.arxiv import state_key
from tests.fake_arxiv import FakeArxiv, make_papers, serve_arxiv

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def fake_arxiv(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArxiv]:
    from paperflow.settings import reload_settings

    with serve_arxiv(make_papers(5)) as fake:
        monkeypatch.setenv("PAPERFLOW_ARXIV_API_URL", fake.api_url)
        monkeypatch.setenv("PAPERFLOW_ARXIV_BASE_URL", fake.base_url)
        monkeypatch.setenv("PAPERFLOW_ARXIV_REQUEST_DELAY_SECONDS", "0.01")
        monkeypatch.setenv("PAPERFLOW_ARXIV_PAGE_SIZE", "2")
        reload_settings()
        yield fake
    monkeypatch.undo()
    reload_settings()


def test_first_run_ingests_all_then_nothing_then_the_new_one(fake_arxiv: FakeArxiv,
                                                             data_dir: Path) -> None:
    first = ingest_arxiv(categories=["cs.CL"], max_results=20)
    assert (first.total, first.failed) == (5, 0)
    assert sorted(fake_arxiv.pdf_requests) == sorted(p.versioned for p in fake_arxiv.papers)
    assert fake_arxiv.queries[0]["search_query"] == ["(cat:cs.CL)"]
    assert fake_arxiv.queries[0]["sortBy"] == ["lastUpdatedDate"]
    assert len(fake_arxiv.queries) == 3, "5 results in pages of 2"

    paper = fake_arxiv.papers[0]
    outcome = next(o for o in first.outcomes if o.arxiv_id == paper.arxiv_id)
    stored = json.loads(Path(outcome.metadata_uri.removeprefix("file://")).read_text())
    assert stored["title"] == paper.title, "arXiv's title overrides the printed one"
    assert [a["name"] for a in stored["authors"]] == paper.authors
    assert stored["abstract"] == paper.abstract
    assert stored["publish_date"] == paper.updated.date().isoformat()
    assert stored["provenance"]["title"] == "arxiv" and stored["provenance"]["abstract"] == "arxiv"
    assert stored["categories"] and stored["provenance"]["categories"] == "arxiv"
    assert stored["provenance"].get("references") == "pdf"

    fake_arxiv.queries.clear()
    fake_arxiv.pdf_requests.clear()
    second = ingest_arxiv(categories=["cs.CL"], max_results=20)
    assert second.total == 0 and fake_arxiv.pdf_requests == []
    assert len(fake_arxiv.queries) == 1, "a known first page stops paging"

    newer = make_papers(1, prefix="2406")[0]
    fake_arxiv.papers.append(newer)
    third = ingest_arxiv(categories=["cs.CL"], max_results=20)
    assert third.total == 1 and third.outcomes[0].arxiv_id == newer.arxiv_id
    assert fake_arxiv.pdf_requests == [newer.versioned]
    state = json.loads((data_dir / "store" / state_key("(cat:cs.CL)")).read_text())
    assert len(state["seen"]) == 6 and state["last_success"]


def test_failed_papers_are_retried_by_the_next_run(fake_arxiv: FakeArxiv) -> None:
    broken = fake_arxiv.papers[1].versioned
    fake_arxiv.broken_pdfs.add(broken)
    first = ingest_arxiv(categories=["cs.CL"], max_results=20)
    assert (first.total, first.failed) == (5, 1)
    assert "HTML" in next(o.error for o in first.outcomes if o.status == "failed")
    fake_arxiv.broken_pdfs.clear()
    fake_arxiv.pdf_requests.clear()
    second = ingest_arxiv(categories=["cs.CL"], max_results=20)
    assert second.total == 1 and fake_arxiv.pdf_requests == [broken]


def test_arxiv_outage_is_reported_not_taken_as_no_new_papers(fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.failures = [(503, b"busy", {"Retry-After": "0"})] * 40
    state = ingest_arxiv(categories=["cs.CL"], return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception, match="HTTP 503"):
        state.result()
    assert fake_arxiv.pdf_requests == []


@pytest.mark.parametrize(("parameters", "message"), [
    ({"categories": []}, "empty list"),
    ({"categories": ["cs.XX"]}, "Unknown arXiv category"),
    ({"categories": ["cs.CL"], "since": "last tuesday"}, "ISO date"),
    ({"categories": ["cs.CL"], "max_results": 0}, "max_results"),
])
def test_invalid_parameters_fail_fast(fake_arxiv: FakeArxiv, parameters: dict,
                                      message: str) -> None:
    state = ingest_arxiv(**parameters, return_state=True)
    assert state.is_failed() and message in (state.message or "")
    assert fake_arxiv.queries == []

"""The arXiv core against a local server speaking arXiv's real Atom format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paperflow.arxiv import (
    ArxivClient,
    ArxivParameterError,
    ArxivQueryError,
    ArxivUnavailable,
    IngestState,
    build_search_query,
    parse_feed,
    parse_paper_id,
    parse_since,
    retry_after_seconds,
    scan_new,
)
from paperflow.settings import Settings
from paperflow.storage import LocalStorage
from tests.fake_arxiv import ERROR_FEED, FakeArxiv, feed_xml, make_papers, serve_arxiv


def _settings(fake: FakeArxiv, **extra: object) -> Settings:
    return Settings(arxiv_api_url=fake.api_url, arxiv_request_delay_seconds=0.0,
                    arxiv_max_retries=3, **extra)


def test_parse_real_format() -> None:
    papers = make_papers(2)
    feed = parse_feed(feed_xml(papers, 7, 0, "http://arxiv.example").encode())
    assert (feed.total_results, feed.start_index, feed.items_per_page) == (7, 0, 2)
    first = feed.entries[0]
    assert first.arxiv_id == papers[0].arxiv_id and first.version == 1
    assert first.title == papers[0].title, "whitespace in titles is normalised"
    assert first.summary == papers[0].abstract
    assert first.authors == papers[0].authors
    assert first.primary_category == "cs.CL" and first.categories == ["cs.CL", "cs.LG"]
    assert first.pdf_url == f"http://arxiv.example/pdf/{papers[0].versioned}"
    assert first.updated.tzinfo is not None
    overrides = first.overrides()
    assert overrides["title"] == papers[0].title and overrides["arxiv_id"] == first.arxiv_id
    assert [a.name for a in overrides["authors"]] == papers[0].authors
    assert overrides["categories"] == ["cs.CL", "cs.LG"]


def test_error_feed_and_malformed_documents() -> None:
    with pytest.raises(ArxivQueryError, match="incorrect id format"):
        parse_feed(ERROR_FEED.encode())
    with pytest.raises(Exception, match="not valid XML"):
        parse_feed(b"<feed><entry>")
    with pytest.raises(Exception, match="not an Atom feed"):
        parse_feed(b"<html><body>Service unavailable</body></html>")


@pytest.mark.parametrize(("categories", "query", "message"), [
    ([], None, "empty list"),
    (None, None, "categories"),
    (["cs.CL", "cs.NOPE"], None, "Unknown arXiv category: 'cs.NOPE'"),
])
def test_invalid_parameters_fail_fast(categories: list[str] | None, query: str | None,
                                      message: str) -> None:
    with pytest.raises(ArxivParameterError, match=message):
        build_search_query(categories, query)


def test_query_building_and_ids() -> None:
    assert build_search_query(["cs.CL", "hep-th"], "all:transformer") == \
        "(cat:cs.CL OR cat:hep-th) AND (all:transformer)"
    assert parse_paper_id("2304.02623v2") == ("2304.02623", 2)
    assert parse_paper_id("hep-th/9901001") == ("hep-th/9901001", None)
    with pytest.raises(ArxivParameterError, match="Malformed arXiv id"):
        parse_paper_id("2304.0262x")
    with pytest.raises(ArxivParameterError, match="ISO date"):
        parse_since("yesterday")
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert retry_after_seconds("7", 1, 60) == 7 and retry_after_seconds("999", 1, 60) == 60
    assert retry_after_seconds(None, 3, 60) == 3


def test_paging_stops_at_max_results_and_known_pages() -> None:
    papers = make_papers(25)
    with serve_arxiv(papers) as fake:
        with ArxivClient(_settings(fake)) as client:
            scan = scan_new(client, "cat:cs.CL", max_results=25, seen=set(), page_size=10)
        assert len(scan.new) == 25 and scan.pages == 3
        assert [q["start"] for q in fake.queries] == [["0"], ["10"], ["20"]]
        assert fake.queries[0]["max_results"] == ["10"] and fake.queries[2]["max_results"] == ["5"]
        seen = {p.versioned for p in papers}
        fake.queries.clear()
        with ArxivClient(_settings(fake)) as client:
            again = scan_new(client, "cat:cs.CL", max_results=25, seen=seen, page_size=10)
        assert again.new == [] and len(fake.queries) == 1, "a known first page stops paging"
        cutoff = papers[4].updated + timedelta(seconds=1)
        with ArxivClient(_settings(fake)) as client:
            recent = scan_new(client, "cat:cs.CL", max_results=25, seen=set(), since=cutoff,
                              page_size=10)
        assert [e.arxiv_id for e in recent.new] == [p.arxiv_id for p in papers[:4]]


def test_retries_429_and_503_honouring_retry_after() -> None:
    slept: list[float] = []
    with serve_arxiv(make_papers(3)) as fake:
        fake.failures = [(429, b"slow down", {"Retry-After": "5"}),
                         (503, b"busy", {"Retry-After": "2"}),
                         (200, b"", {})]
        with ArxivClient(_settings(fake), sleep=slept.append) as client:
            feed = client.page("cat:cs.CL", 0, 10)
        assert len(feed.entries) == 3 and len(fake.queries) == 4
        assert slept[:2] == [5.0, 2.0], slept


def test_persistent_failure_is_an_error_not_an_empty_result() -> None:
    with serve_arxiv(make_papers(3)) as fake:
        fake.failures = [(503, b"busy", {})] * 10
        with ArxivClient(_settings(fake), sleep=lambda s: None) as client, \
                pytest.raises(ArxivUnavailable, match="HTTP 503"):
            client.page("cat:cs.CL", 0, 10)
        empty = feed_xml([], 3, 0, fake.base_url).encode()
        fake.failures = [(200, empty, {})] * 10
        with ArxivClient(_settings(fake), sleep=lambda s: None) as client, \
                pytest.raises(ArxivUnavailable, match="empty page"):
            client.page("cat:cs.CL", 0, 10)
        fake.failures = [(200, b"<feed", {})] * 10
        with ArxivClient(_settings(fake), sleep=lambda s: None) as client, \
                pytest.raises(ArxivUnavailable, match="not valid XML"):
            client.page("cat:cs.CL", 0, 10)


def test_requests_are_spaced() -> None:
    with serve_arxiv(make_papers(2)) as fake:
        slept: list[float] = []
        settings = Settings(arxiv_api_url=fake.api_url, arxiv_request_delay_seconds=3.0)
        with ArxivClient(settings, sleep=slept.append) as client:
            client.page("cat:cs.CL", 0, 10)
            client.page("cat:cs.CL", 0, 10)
        assert len(slept) == 1 and 2.5 < slept[0] <= 3.0


def test_state_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    state = IngestState.load(storage, "cat:cs.CL")
    assert state.seen == {} and state.last_success is None
    entry = parse_feed(feed_xml(make_papers(1), 1, 0, "http://x").encode()).entries[0]
    state.mark(entry)
    state.last_success = "2024-05-01T00:00:00+00:00"
    state.save(storage)
    loaded = IngestState.load(storage, "cat:cs.CL")
    assert loaded.is_seen(entry.versioned_id) and not loaded.is_seen(f"{entry.arxiv_id}v2")
    assert loaded.last_success == state.last_success
    assert IngestState.load(storage, "cat:cs.LG").seen == {}

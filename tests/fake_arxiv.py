# ruff: noqa: E501 (the feeds below keep arXiv's own long lines verbatim)
"""A local arXiv: the API's Atom feed (its real format) with paging, plus the PDFs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

from tests.pdfs import make_paper

ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query=&amp;id_list=x" rel="self"
        type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list=x</title>
  <id>http://arxiv.org/api/gIL3cJ+8LcY0CY6Wb5pNfTGU1SQ</id>
  <updated>2024-05-01T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_x</id>
    <title>Error</title>
    <summary>incorrect id format for x</summary>
    <updated>2024-05-01T00:00:00-04:00</updated>
    <link href="http://arxiv.org/api/errors#incorrect_id_format_for_x" rel="alternate" type="text/html"/>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


@dataclass
class Paper:
    """One paper version in the fake arXiv."""

    arxiv_id: str
    version: int
    title: str
    authors: list[str]
    abstract: str
    updated: datetime
    categories: list[str] = field(default_factory=lambda: ["cs.CL", "cs.LG"])
    pdf: bytes = b""

    @property
    def versioned(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


def make_papers(count: int, prefix: str = "2405", start: int = 1,
                newest: datetime | None = None) -> list[Paper]:
    """`count` papers with distinct PDFs, newest first."""
    newest = newest or datetime.now(UTC) - timedelta(hours=1)
    papers = []
    for n in range(start, start + count):
        title = f"Arxiv Test Paper Number {n} on Structured Extraction"
        papers.append(Paper(
            f"{prefix}.{n:05d}", 1, title, [f"Author {n} One", f"Author {n} Two"],
            f"The arXiv abstract of paper {n}, which differs from the PDF text.",
            newest - timedelta(minutes=n),
            pdf=make_paper(title=f"Printed Title {n}", nonce=f"arxiv-{prefix}-{n}", pages=2,
                           figure=False)))
    return papers


def entry_xml(paper: Paper, base_url: str) -> str:
    stamp = paper.updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in paper.authors)
    cats = "".join(f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
                   for c in paper.categories)
    cut = paper.title.rfind(" ", 0, 30) + 1 or len(paper.title)
    return f"""  <entry>
    <id>http://arxiv.org/abs/{paper.versioned}</id>
    <updated>{stamp}</updated>
    <published>{stamp}</published>
    <title>{escape(paper.title[:cut])}
  {escape(paper.title[cut:])}</title>
    <summary>  {escape(paper.abstract)}
</summary>
    {authors}
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">5 pages</arxiv:comment>
    <link href="http://arxiv.org/abs/{paper.versioned}" rel="alternate" type="text/html"/>
    <link title="pdf" href="{base_url}/pdf/{paper.versioned}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{paper.categories[0]}" scheme="http://arxiv.org/schemas/atom"/>
    {cats}
  </entry>
"""


def feed_xml(papers: list[Paper], total: int, start: int, base_url: str) -> str:
    entries = "".join(entry_xml(p, base_url) for p in papers)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dcat%3Acs.CL" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=cat:cs.CL</title>
  <id>http://arxiv.org/api/Yv7cGDqOVZ8GeA4k6VJvS8qKKvE</id>
  <updated>2024-05-01T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{len(papers)}</opensearch:itemsPerPage>
{entries}</feed>
"""


@dataclass
class FakeArxiv:
    """The server's state: papers (any order), scripted failures, requests seen."""

    base_url: str = ""
    papers: list[Paper] = field(default_factory=list)
    failures: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    queries: list[dict[str, list[str]]] = field(default_factory=list)
    pdf_requests: list[str] = field(default_factory=list)
    broken_pdfs: set[str] = field(default_factory=set)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/query"

    def respond(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        url = urlparse(path)
        if url.path == "/api/query":
            params = parse_qs(url.query)
            self.queries.append(params)
            if self.failures:
                return self.failures.pop(0)
            ordered = sorted(self.papers, key=lambda p: p.updated, reverse=True)
            start = int(params.get("start", ["0"])[0])
            size = int(params.get("max_results", ["10"])[0])
            page = ordered[start:start + size]
            body = feed_xml(page, len(ordered), start, self.base_url).encode()
            return 200, body, {"Content-Type": "application/atom+xml; charset=utf-8"}
        if url.path.startswith("/pdf/"):
            versioned = url.path.removeprefix("/pdf/")
            self.pdf_requests.append(versioned)
            if versioned in self.broken_pdfs:
                return 200, b"<html>not a pdf</html>", {"Content-Type": "text/html"}
            for paper in self.papers:
                if paper.versioned == versioned:
                    return 200, paper.pdf, {"Content-Type": "application/pdf"}
        return 404, b"not found", {}


@contextmanager
def serve_arxiv(papers: list[Paper] | None = None) -> Iterator[FakeArxiv]:
    """A FakeArxiv on a free loopback port."""
    fake = FakeArxiv(papers=list(papers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, headers = fake.respond(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

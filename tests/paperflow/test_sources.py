from pathlib import Path

import pytest

from paperflow.errors import (
    InvalidPdfError,
    InvalidSourceError,
    PermanentError,
    SourceError,
    SourceNotFoundError,
)
from paperflow.settings import Settings
from paperflow.sources import arxiv_id_of, classify, resolve_source
from tests.httpserver import Route, serve
from tests.pdfs import HTML_PAGE, make_paper

PDF = make_paper(nonce="sources")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("2304.02623", "arxiv"),
        ("arXiv:2304.02623v2", "arxiv"),
        ("hep-th/9901001", "arxiv"),
        ("https://arxiv.org/abs/1508.05632", "arxiv"),
        ("https://example.org/paper.pdf", "url"),
        ("s3://bucket/papers/a.pdf", "s3"),
        ("papers/a.pdf", "path"),
        ("file:///tmp/a.pdf", "path"),
    ],
)
def test_classify(source: str, kind: str) -> None:
    assert classify(source) == kind


def test_arxiv_ids() -> None:
    assert arxiv_id_of("arXiv:2304.02623v2") == "2304.02623v2"
    assert arxiv_id_of("https://arxiv.org/pdf/1508.05632.pdf") == "1508.05632"
    assert arxiv_id_of("not-an-id") is None


def test_unknown_scheme_and_empty_source_are_rejected() -> None:
    with pytest.raises(InvalidSourceError, match="ftp"):
        classify("ftp://example.org/a.pdf")
    with pytest.raises(InvalidSourceError, match="empty"):
        classify("  ")


def test_local_path(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(PDF)
    resolved = resolve_source(str(path), Settings())
    assert resolved.data == PDF and resolved.kind == "path" and resolved.name == "paper"


def test_missing_path_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="No such file"):
        resolve_source(str(tmp_path / "missing.pdf"), Settings())
    with pytest.raises(InvalidSourceError, match="not a file"):
        resolve_source(str(tmp_path), Settings())


def test_html_renamed_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "landing.pdf"
    path.write_bytes(HTML_PAGE)
    with pytest.raises(InvalidPdfError, match="HTML page"):
        resolve_source(str(path), Settings())


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(PDF)
    with pytest.raises(InvalidSourceError, match="limit"):
        resolve_source(str(path), Settings(max_pdf_bytes=100))


def test_urls_over_real_http() -> None:
    routes = {
        "/paper.pdf": Route(200, PDF, {"Content-Type": "application/pdf"}),
        "/landing": Route(200, HTML_PAGE, {"Content-Type": "text/html"}),
        "/busy": Route(503, b"busy", {"Retry-After": "7"}),
        "/forbidden": Route(403, b"no"),
        "/pdf/2304.02623": Route(200, PDF),
    }
    with serve(routes) as server:
        settings = Settings(arxiv_base_url=server.base_url, http_timeout_seconds=5)
        assert resolve_source(f"{server.base_url}/paper.pdf", settings).data == PDF
        with pytest.raises(SourceNotFoundError, match="HTTP 404"):
            resolve_source(f"{server.base_url}/missing.pdf", settings)
        with pytest.raises(InvalidPdfError, match="HTML page"):
            resolve_source(f"{server.base_url}/landing", settings)
        with pytest.raises(SourceError, match=r"HTTP 503.*retry after 7") as busy:
            resolve_source(f"{server.base_url}/busy", settings)
        assert not isinstance(busy.value, PermanentError)
        with pytest.raises(InvalidSourceError, match="HTTP 403"):
            resolve_source(f"{server.base_url}/forbidden", settings)
        arxiv = resolve_source("arXiv:2304.02623", settings)
        assert arxiv.kind == "arxiv" and arxiv.arxiv_id == "2304.02623" and arxiv.data == PDF


def test_private_paper_urls_are_refused_before_any_request() -> None:
    with serve({"/paper.pdf": Route(200, PDF), "/pdf/2304.02623": Route(200, PDF)}) as server:
        settings = Settings(arxiv_base_url=server.base_url, allow_private_urls=False)
        local_name = server.base_url.replace("127.0.0.1", "localhost")
        for url in (f"{server.base_url}/paper.pdf", f"{local_name}/paper.pdf"):
            with pytest.raises(InvalidSourceError, match="PAPERFLOW_ALLOW_PRIVATE_URLS") as error:
                resolve_source(url, settings)
            assert "non-public address" in str(error.value)
        assert server.requests == []
        # The arXiv base URL is the operator's setting, not user input: it may be local.
        assert resolve_source("2304.02623", settings).data == PDF


def test_connection_refused_is_transient() -> None:
    with serve({}) as server:
        url = server.base_url
    with pytest.raises(SourceError, match="Could not fetch") as error:
        resolve_source(f"{url}/paper.pdf", Settings(http_timeout_seconds=2))
    assert not isinstance(error.value, PermanentError)


def test_s3_without_storage_configured() -> None:
    with pytest.raises(InvalidSourceError, match="PAPERFLOW_S3_BUCKET"):
        resolve_source("s3://bucket/key.pdf", Settings())

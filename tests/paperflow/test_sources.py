import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from paperflow import urls
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


# --- SSRF: DNS rebinding, redirects, schemes, size cap ---------------------------------------

class Resolver:
    """A scripted DNS: each host answers its addresses in turn, the last one from then on."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        turns = self.answers[host]
        return turns.pop(0) if len(turns) > 1 else turns[0]


def _pretend_loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local test server stands in for the public internet; 10/8 etc. stay private."""
    real = urls.is_public
    monkeypatch.setattr(urls, "is_public", lambda address: address == "127.0.0.1" or real(address))


def test_dns_rebinding_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Public when checked, loopback when connecting: the connection must not follow DNS."""
    with serve({"/paper.pdf": Route(200, PDF)}) as server:
        port = server.base_url.rsplit(":", 1)[1]
        resolver = Resolver({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
        monkeypatch.setattr(urls, "_resolver", resolver)
        with pytest.raises(InvalidSourceError, match=r"non-public address 127\.0\.0\.1") as error:
            resolve_source(f"http://rebind.example:{port}/paper.pdf",
                           Settings(allow_private_urls=False))
        assert "PAPERFLOW_ALLOW_PRIVATE_URLS" in str(error.value)
        assert resolver.calls == ["rebind.example", "rebind.example"]
        assert server.requests == []


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urls, "_resolver", Resolver({"mixed.example": [["93.184.216.34",
                                                                          "10.0.0.7"]]}))
    with pytest.raises(urls.NonPublicAddressError, match=r"10\.0\.0\.7"):
        urls.checked_addresses("mixed.example", 80)
    with pytest.raises(InvalidSourceError, match=r"10\.0\.0\.7"):
        resolve_source("http://mixed.example/paper.pdf", Settings(allow_private_urls=False))
    for address in ("::ffff:127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "fe80::1",
                    "224.0.0.1"):
        assert not urls.is_public(address), address
    assert urls.is_public("93.184.216.34") and urls.is_public("2606:4700::1111")


def test_redirect_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve({}) as server:
        port = server.base_url.rsplit(":", 1)[1]
        server.routes["/start"] = Route(302, b"", {
            "Location": f"http://intranet.example:{port}/paper.pdf"})
        server.routes["/paper.pdf"] = Route(200, PDF)
        resolver = Resolver({"public.example": [["127.0.0.1"]],
                             "intranet.example": [["10.1.2.3"]]})
        monkeypatch.setattr(urls, "_resolver", resolver)
        _pretend_loopback_is_public(monkeypatch)
        settings = Settings(allow_private_urls=False, http_timeout_seconds=5)
        data = resolve_source(f"http://public.example:{port}/paper.pdf", settings).data
        assert data == PDF, "the public host itself is fetched, by its checked address"
        with pytest.raises(InvalidSourceError, match=r"non-public address 10\.1\.2\.3"):
            resolve_source(f"http://public.example:{port}/start", settings)
        assert server.requests == ["/paper.pdf", "/start"]
        assert "intranet.example" in resolver.calls


def test_redirects_to_other_schemes_and_loops_are_refused() -> None:
    routes = {"/file": Route(302, b"", {"Location": "file:///etc/passwd"}),
              "/gopher": Route(301, b"", {"Location": "gopher://127.0.0.1:70/"}),
              "/loop": Route(302, b"", {"Location": "/loop"})}
    with serve(routes) as server:
        settings = Settings(allow_private_urls=True, http_timeout_seconds=5)
        for path in ("/file", "/gopher"):
            with pytest.raises(InvalidSourceError, match=r"not http\(s\)"):
                resolve_source(f"{server.base_url}{path}", settings)
        with pytest.raises(InvalidSourceError, match="redirects more than 10 times"):
            resolve_source(f"{server.base_url}/loop", settings)


@contextmanager
def _endless_stream() -> Iterator[tuple[str, list[int], list[str]]]:
    """A server that streams zeros with no Content-Length until the client hangs up."""
    sent: list[int] = []
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"%PDF-1.7\n" + bytes(64 * 1024 - 9)
            total = 0
            try:
                while total < 512 * 1024 * 1024:
                    self.wfile.write(chunk)
                    total += len(chunk)
            except OSError:
                pass
            sent.append(total)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent, hosts
    finally:
        server.shutdown()
        server.server_close()


def test_an_oversized_stream_stops_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERFLOW_ALLOW_PRIVATE_URLS", "true")
    cap = 1024 * 1024
    with _endless_stream() as (base_url, sent, _):
        with pytest.raises(InvalidSourceError, match=r"more than 1048576 bytes.*stopped reading"):
            resolve_source(f"{base_url}/big.pdf", Settings(max_pdf_bytes=cap,
                                                           http_timeout_seconds=10))
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sent, "the server noticed the client hang up"
    assert sent[0] < 64 * 1024 * 1024, f"{sent[0]} bytes were sent for a {cap}-byte cap"


def test_guarded_download_keeps_the_host_header_and_caps_the_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(urls, "_resolver", Resolver({"papers.example": [["127.0.0.1"]]}))
    _pretend_loopback_is_public(monkeypatch)
    with _endless_stream() as (base_url, sent, hosts):
        port = base_url.rsplit(":", 1)[1]
        with pytest.raises(InvalidSourceError, match="stopped reading"):
            resolve_source(f"http://papers.example:{port}/big.pdf",
                           Settings(allow_private_urls=False, max_pdf_bytes=256 * 1024,
                                    http_timeout_seconds=10))
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
    assert hosts == [f"papers.example:{port}"], "connected by address, Host header unchanged"
    assert sent and sent[0] < 64 * 1024 * 1024


def _self_signed(tmp_path: Path, host: str) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_by_checked_address_keeps_sni_and_certificate_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = _self_signed(tmp_path, "papers.example")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment]
    with serve({"/paper.pdf": Route(200, PDF)}) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.create_server(("127.0.0.1", 0)) as listener:
            tls_port = listener.getsockname()[1]
            relay = threading.Thread(target=_tls_relay, args=(listener, server_context, port),
                                     daemon=True)
            relay.start()
            monkeypatch.setattr(urls, "_resolver", Resolver({"papers.example": [["127.0.0.1"]]}))
            _pretend_loopback_is_public(monkeypatch)
            trusted = ssl.create_default_context(cafile=str(cert))
            with urls.public_client(allow_private=False, verify=trusted, timeout=5) as client:
                response = client.get(f"https://papers.example:{tls_port}/paper.pdf")
            assert response.status_code == 200 and response.content == PDF
            assert names == ["papers.example"], "SNI names the host, not the address"
            with urls.public_client(allow_private=False, verify=trusted, timeout=5) as client, \
                    pytest.raises(httpx.ConnectError, match=r"(?i)hostname|certificate"):
                # The certificate is checked against the URL's host: another name fails.
                monkeypatch.setattr(urls, "_resolver", Resolver({"other.example": [["127.0.0.1"]]}))
                client.get(f"https://other.example:{tls_port}/paper.pdf")


def _tls_relay(listener: socket.socket, context: ssl.SSLContext, port: int) -> None:
    """Terminate TLS and pass plain HTTP to the local server (one request per connection)."""
    listener.settimeout(10)
    for _ in range(2):
        try:
            raw, _ = listener.accept()
        except OSError:
            return
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                request = tls.recv(65536)
                with socket.create_connection(("127.0.0.1", port), timeout=5) as upstream:
                    upstream.sendall(request)
                    while chunk := upstream.recv(65536):
                        tls.sendall(chunk)
        except (OSError, ssl.SSLError):
            continue

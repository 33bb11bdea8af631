"""Outbound URLs chosen by users (paper sources, webhooks) must not reach private networks.

Checking a host's addresses and then letting the HTTP client resolve it again to connect is
not enough: a hostile DNS server answers the check with a public address and the connection
with `127.0.0.1` (DNS rebinding). `PublicOnlyTransport` closes that gap: its network backend
resolves the host once, refuses it if *any* address is not public, and connects to the very
address it checked. TLS still uses the host name (SNI and certificate check), and the Host
header is untouched, because only the TCP connection is made by address. Every request goes
through the transport, so every redirect's target is checked too.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterable
from urllib.parse import urlparse

import httpcore
import httpx

from paperflow.errors import PermanentError

ALLOWED_SCHEMES = frozenset({"http", "https"})

Resolver = Callable[[str, int], list[str]]
"""host, port -> the IP addresses (as strings) to connect to, in order of preference."""


class NonPublicAddressError(PermanentError):
    """A user-given URL's host resolves to a loopback, private, link-local or reserved address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(host, address)
        self.host = host
        self.address = address

    def __str__(self) -> str:
        return f"{self.host} resolves to the non-public address {self.address}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `getaddrinfo` gives for `host` (raises `socket.gaierror`)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


_resolver: Resolver = system_resolver


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, through the module's resolver (tests replace it)."""
    return _resolver(host, port)


def is_public(address: str) -> bool:
    """True for globally routable unicast addresses; IPv4-mapped IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve `host` and return its addresses if every one of them is public.

    Raises `NonPublicAddressError` naming the first non-public one, `socket.gaierror` when the
    host does not resolve.
    """
    addresses = resolve(host.strip("[]"), port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
    for address in addresses:
        if not is_public(address):
            raise NonPublicAddressError(host, address)
    return addresses


def non_public_address(url: str) -> str | None:
    """The first loopback/private/link-local address `url`'s host resolves to, else None.

    Raises `socket.gaierror` when the host does not resolve.
    """
    parsed = urlparse(url)
    default_port = 443 if parsed.scheme == "https" else 80
    try:
        checked_addresses(parsed.hostname or "", parsed.port or default_port)
    except NonPublicAddressError as exc:
        return exc.address
    return None


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, and only to the addresses it has just checked."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._backend.connect_tcp(address, port, timeout, local_address,
                                                 socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("Unix sockets are not allowed for user-given URLs")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """An `httpx` transport for user-given URLs: http(s) only, public addresses only.

    Environment proxies are not used (a proxy would resolve the host itself, out of reach of
    the check): give the client `trust_env=False`, as `public_client` does.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True, retries: int = 0,
                 limits: httpx.Limits | None = None) -> None:
        super().__init__(verify=verify, trust_env=False, retries=retries)
        limits = limits or httpx.Limits(max_connections=10, max_keepalive_connections=5)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=retries,
            network_backend=PublicOnlyBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ALLOWED_SCHEMES:
            raise NonPublicSchemeError(str(request.url))
        return super().handle_request(request)


class NonPublicSchemeError(PermanentError):
    """A user-given URL (or a redirect) uses a scheme other than http(s)."""

    def __str__(self) -> str:
        return f"{self.args[0]!r} is not an http(s) URL"


def public_client(*, allow_private: bool, verify: ssl.SSLContext | bool = True,
                  **kwargs: typing.Any) -> httpx.Client:
    """An `httpx.Client` for user-given URLs: `PublicOnlyTransport` unless `allow_private`."""
    if allow_private:
        return httpx.Client(verify=verify, **kwargs)
    return httpx.Client(transport=PublicOnlyTransport(verify=verify), trust_env=False, **kwargs)

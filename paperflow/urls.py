"""Outbound URLs chosen by users (paper sources, webhooks) must not reach private networks."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlparse


def non_public_address(url: str) -> str | None:
    """The first loopback/private/link-local address `url`'s host resolves to, else None.

    Raises `socket.gaierror` when the host does not resolve.
    """
    parsed = urlparse(url)
    default_port = 443 if parsed.scheme == "https" else 80
    infos = socket.getaddrinfo(parsed.hostname or "", parsed.port or default_port,
                               proto=socket.IPPROTO_TCP)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return str(address)
    return None

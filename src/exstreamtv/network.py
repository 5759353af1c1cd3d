"""This machine's address as clients should use it in URLs."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

from exstreamtv.config import Settings

WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names of bind-all, not a bind


def primary_address() -> str:
    """A non-loopback IPv4 address of this host (from the resolver), else 127.0.0.1."""
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = str(info[4][0])
            if not ipaddress.ip_address(address).is_loopback:
                return address
    return "127.0.0.1"


def listen_url(settings: Settings) -> str:
    """``http://host:port`` of the server, with a bind-all address replaced by this
    machine's primary address (a client cannot connect to 0.0.0.0)."""
    host = settings.server.host
    if settings.is_loopback_only:
        host = "127.0.0.1"
    elif host in WILDCARDS:
        host = primary_address()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"

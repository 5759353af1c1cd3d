"""Who is really asking: the peer, or the client behind a configured trusted proxy.

``X-Forwarded-*`` headers are honoured only from ``server.trusted_proxies``: anyone else
could claim to be anyone.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from exstreamtv.config import Settings


def trusted(settings: Settings, address: str | None) -> bool:
    """True when ``address`` (the TCP peer) is one of the configured trusted proxies."""
    if address is None or not settings.server.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(net, strict=False) for net in settings.server.trusted_proxies
    )


def client_address(request: Request, settings: Settings) -> str:
    """The client's address: the peer, or behind a trusted proxy the nearest address in
    ``X-Forwarded-For`` that is not a trusted proxy itself. ``"unknown"`` without a peer."""
    peer = request.client.host if request.client else None
    if peer is None:
        return "unknown"
    if not trusted(settings, peer):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not trusted(settings, hop):
            return hop
    return peer

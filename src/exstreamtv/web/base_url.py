"""The public base URL put into playlists, guides and HDHomeRun answers.

``server.base_url`` wins when set. Otherwise the request's own scheme and Host header
are used; ``X-Forwarded-Proto``/``X-Forwarded-Host``/``X-Forwarded-Prefix`` are honoured
only when the request comes from a configured trusted proxy (anyone else could point a
client's playlist at another server). A Host that is not a plain ``host[:port]`` is
ignored in favour of the address the server listens on.
"""

from __future__ import annotations

import ipaddress
import re

from fastapi import Request

from exstreamtv.config import Settings
from exstreamtv.network import listen_url

_HOST = re.compile(r"(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?")
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


def _trusted(settings: Settings, address: str | None) -> bool:
    if address is None or not settings.server.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(net, strict=False) for net in settings.server.trusted_proxies
    )


def base_url(request: Request, settings: Settings) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash."""
    if settings.server.base_url:
        return settings.server.base_url
    headers = request.headers
    scheme, host, prefix = request.url.scheme, headers.get("host", ""), ""
    if _trusted(settings, request.client.host if request.client else None):
        scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = headers.get("x-forwarded-host", host).split(",")[0].strip()
        prefix = headers.get("x-forwarded-prefix", "").rstrip("/")
    if scheme not in ("http", "https"):
        scheme = "http"
    if not _HOST.fullmatch(host):
        return listen_url(settings) + (prefix if _PREFIX.fullmatch(prefix) else "")
    if not _PREFIX.fullmatch(prefix):
        prefix = ""
    return f"{scheme}://{host}{prefix}"

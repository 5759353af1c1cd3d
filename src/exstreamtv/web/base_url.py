"""The public base URL put into playlists, guides and HDHomeRun answers.

``server.base_url`` wins when set. Otherwise the request's own scheme and Host header
are used; ``X-Forwarded-Proto``/``X-Forwarded-Host``/``X-Forwarded-Prefix`` are honoured
only when the request comes from a configured trusted proxy (anyone else could point a
client's playlist at another server). Both have passed the host guard
(:mod:`exstreamtv.web.hosts`) before any route runs, so a DNS-rebinding page cannot put its
own name into these URLs. A Host that is not a plain ``host[:port]`` is ignored in favour
of the address the server listens on.
"""

from __future__ import annotations

import re

from fastapi import Request

from exstreamtv.config import Settings
from exstreamtv.network import listen_url
from exstreamtv.web.proxies import trusted

_HOST = re.compile(r"(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::[0-9]{1,5})?")
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*")


def base_url(request: Request, settings: Settings) -> str:
    """``scheme://host[:port][/prefix]`` without a trailing slash."""
    if settings.server.base_url:
        return settings.server.base_url
    headers = request.headers
    scheme, host, prefix = request.url.scheme, headers.get("host", ""), ""
    if trusted(settings, request.client.host if request.client else None):
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

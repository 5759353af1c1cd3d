"""Locations of online items: which URLs are accepted, how they may be shown, and the stable
ids made from them.

Only ``http`` and ``https`` are accepted: a playlist or a user could otherwise hand FFmpeg a
``file:``, ``concat:``, ``subfile:`` or ``pipe:`` input. A location is shown without its user
name, password, query and fragment, which is where sites and IPTV providers put credentials.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from exstreamtv.errors import InvalidInput

MAX_URL_CHARS = 2048
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


def check_online_url(url: str) -> str:
    """``url`` stripped; raises InvalidInput unless it is an ``http(s)`` URL naming a host,
    at most 2048 characters long, without spaces or control characters."""
    text = url.strip()
    if len(text) > MAX_URL_CHARS:
        raise InvalidInput(f"a URL is at most {MAX_URL_CHARS} characters long")
    if _UNSAFE.search(text):
        raise InvalidInput("a URL must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as err:
        raise InvalidInput(f"the URL is not valid: {err}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or "no scheme"
        raise InvalidInput(f"only http(s) URLs are read, not {scheme!r}")
    return text


def shown_url(url: str) -> str:
    """``url`` as it may be displayed: scheme, host, port and path only."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def stable_id(*parts: str) -> str:
    """A short id that stays the same for the same ``parts`` (for items without one)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return digest[:24]


def secret_parts(url: str) -> list[str]:
    """What of ``url`` must never be shown: the whole URL, its path with its query (a log
    line may hold just that), and its password; for the log redactor."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [url, parts.path + (f"?{parts.query}" if parts.query else "")]
    if parts.password:
        found.append(parts.password)
    return [part for part in found if len(part) > 1]

"""``exstreamtv cancel-scan LIBRARY``: stop a running server's scan (``POST
/api/libraries/{id}/scan/cancel``).

A client of the HTTP API like ``troubleshoot``: the scan runs inside the server, so only
the server can stop it. The admin key is needed when the server listens beyond loopback.
"""

from __future__ import annotations

import httpx
from rich.console import Console
from rich.markup import escape

from exstreamtv.errors import NotFound, ServerUnreachable

TIMEOUT_SEC = 30.0


def cancel_scan(url: str, library: str, key: str | None, console: Console) -> bool:
    """Stop the scan of ``library`` (a name or an id); False when the server refused.

    Raises :class:`ServerUnreachable` when nothing answers at ``url`` and
    :class:`NotFound` when no library has that name or id.
    """
    base = url.rstrip("/")
    headers = {"X-API-Key": key} if key else {}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=TIMEOUT_SEC) as client:
            listed = client.get("/api/libraries")
            if listed.status_code != 200:
                return _refused(console, listed)
            found = _library_id(listed.json(), library)
            response = client.post(f"/api/libraries/{found}/scan/cancel")
    except httpx.HTTPError as err:
        raise ServerUnreachable(
            f"cannot reach EXStreamTV at {url} ({type(err).__name__}): is the server running?"
        ) from None
    if response.status_code != 200:
        return _refused(console, response)
    counts = response.json()["counts"]
    console.print(
        f"scan {response.json()['status']}: {counts['processed']} of {counts['total']}"
        " files were done and are kept",
        highlight=False,
    )
    return True


def _library_id(libraries: list[dict[str, object]], wanted: str) -> object:
    for library in libraries:
        if library.get("name") == wanted or str(library.get("id")) == wanted:
            return library["id"]
    names = ", ".join(repr(lib.get("name")) for lib in libraries) or "none"
    raise NotFound(f"no library named {wanted!r} (known: {names})")


def _refused(console: Console, response: httpx.Response) -> bool:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text
    console.print(f"error: the server answered {response.status_code}: {escape(detail[:300])}")
    return False

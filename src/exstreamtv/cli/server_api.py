"""Calls from command-line clients (``troubleshoot``, ``channel plan``) to a running
server's HTTP API: one POST with its error message, and a refusal's detail for printing."""

from __future__ import annotations

from typing import Any

import httpx
from rich.markup import escape

from exstreamtv.errors import ServerUnreachable

TIMEOUT_SEC = 60.0
MAX_ERROR_CHARS = 300


def post(url: str, path: str, body: dict[str, Any], key: str | None) -> httpx.Response:
    """POST ``body`` as JSON to ``url`` + ``path`` (with the admin key when given).

    Raises :class:`ServerUnreachable` when nothing answers at ``url``."""
    headers = {"X-API-Key": key} if key else {}
    try:
        return httpx.post(
            f"{url.rstrip('/')}{path}", json=body, headers=headers, timeout=TIMEOUT_SEC
        )
    except httpx.HTTPError as err:
        raise ServerUnreachable(
            f"cannot reach EXStreamTV at {url} ({type(err).__name__}): is the server running?"
            " Start it with `exstreamtv serve`, or pass --url."
        ) from None


def refusal(response: httpx.Response) -> str:
    """``the server answered <status>: <detail>``, the detail cut short and escaped for
    rich."""
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text
    return f"the server answered {response.status_code}: {escape(detail[:MAX_ERROR_CHARS])}"

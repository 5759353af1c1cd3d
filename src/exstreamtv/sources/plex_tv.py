"""Signing in to Plex with a PIN: the ``plex.tv`` API v2 (JSON).

1. ``POST /api/v2/pins`` (with ``X-Plex-Product`` and ``X-Plex-Client-Identifier``) makes a
   four-character code; the user types it at https://plex.tv/link.
2. ``GET /api/v2/pins/{id}`` (same client identifier) answers ``authToken: null`` until the
   user has linked it, then the account's token.
3. ``GET /api/v2/resources?includeHttps=1`` with that token lists the account's servers
   (``provides`` holds ``server``), each with its own ``accessToken`` and connections.

Only a server's ``accessToken`` is kept (sealed, as any token); the account token is used
for the listing and dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from exstreamtv.errors import NotFound, SourceResponseInvalid, SourceUnavailable
from exstreamtv.sources.server_http import ServerHttp

PLEX_TV_URL = "https://plex.tv"
LINK_URL = "https://plex.tv/link"


def plex_tv_headers(client_id: str, token: SecretStr | None = None) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "X-Plex-Product": "EXStreamTV",
        "X-Plex-Client-Identifier": client_id,
    }
    if token is not None:
        headers["X-Plex-Token"] = token.get_secret_value()
    return headers


@dataclass(frozen=True, slots=True)
class Pin:
    """A PIN to type at plex.tv/link; ``expires_in`` is in seconds."""

    pin_id: int
    code: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class PlexServer:
    """A server of the account: its machine id, name, token and URLs (local ones first)."""

    machine_id: str
    name: str
    owned: bool
    token: SecretStr
    urls: tuple[str, ...]


async def create_pin(http: ServerHttp) -> Pin:
    """A new four-character PIN (``strong=false``: the kind plex.tv/link accepts)."""
    status, body = await http.post_json("/api/v2/pins?strong=false", None)
    if status not in (200, 201):
        raise SourceUnavailable(f"plex.tv refused to make a PIN (HTTP {status})")
    pin = _object(_decode(body), "a PIN")
    pin_id, code = pin.get("id"), pin.get("code")
    if not isinstance(pin_id, int) or not isinstance(code, str) or not code:
        raise SourceResponseInvalid("plex.tv sent a PIN without an id or a code")
    expires = pin.get("expiresIn")
    return Pin(pin_id, code, expires if isinstance(expires, int) and expires > 0 else 900)


async def pin_token(http: ServerHttp, pin_id: int) -> SecretStr | None:
    """The account token once the PIN is linked, else ``None``. Raises NotFound when the
    PIN expired or never existed."""
    body = await http.get(f"/api/v2/pins/{pin_id}", missing_ok=True)
    if body is None:
        raise NotFound(f"Plex PIN {pin_id} expired or does not exist; start again")
    token = _object(_decode(body), "a PIN").get("authToken")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise SourceResponseInvalid("plex.tv sent a PIN token that is not text")
    return SecretStr(token)


async def servers(http: ServerHttp) -> list[PlexServer]:
    """The account's Plex Media Servers (``http`` carries the account token)."""
    body = await http.get("/api/v2/resources", {"includeHttps": 1, "includeRelay": 0})
    assert body is not None  # noqa: S101 - only missing_ok=True returns None
    resources = _decode(body)
    if not isinstance(resources, list):
        raise SourceResponseInvalid("plex.tv resources are not a list")
    found = []
    for raw in resources:
        resource = _object(raw, "a resource")
        provides = resource.get("provides")
        token, machine = resource.get("accessToken"), resource.get("clientIdentifier")
        if not isinstance(provides, str) or "server" not in provides.split(","):
            continue
        if not isinstance(token, str) or not isinstance(machine, str) or not token:
            continue
        name = resource.get("name")
        found.append(
            PlexServer(
                machine_id=machine,
                name=name if isinstance(name, str) and name else machine,
                owned=resource.get("owned") is True,
                token=SecretStr(token),
                urls=_urls(resource.get("connections")),
            )
        )
    return found


def _urls(connections: Any) -> tuple[str, ...]:
    """Connection URIs, local ones first, relays left out."""
    if not isinstance(connections, list):
        return ()
    usable = [
        c
        for c in connections
        if isinstance(c, dict)
        and isinstance(c.get("uri"), str)
        and c["uri"].startswith(("http://", "https://"))
        and c.get("relay") is not True
    ]
    usable.sort(key=lambda c: c.get("local") is not True)
    return tuple(quote(str(c["uri"]), safe=":/[]%") for c in usable)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        raise SourceResponseInvalid("plex.tv sent an answer that is not JSON") from err


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceResponseInvalid(f"plex.tv sent {what} that is not a JSON object")
    return value

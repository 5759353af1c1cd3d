"""Linking a Plex account with a PIN typed at plex.tv/link, then choosing one of its servers.

A started link is kept in memory, keyed by its PIN id, until it is used or expires (at most
``MAX_PENDING`` at a time: the oldest is dropped first), so the account token never leaves
this process: the API answers with the code, then with the servers' names and URLs, and a
source is created from a server's own token.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from exstreamtv.clock import Clock
from exstreamtv.errors import NotFound
from exstreamtv.logs import SecretRedactor
from exstreamtv.sources import plex_tv
from exstreamtv.sources.plex_tv import Pin, PlexServer
from exstreamtv.sources.server_http import HttpLimits, ServerHttp

MAX_PENDING = 16
CLIENT_ID = "exstreamtv-link"


@dataclass(slots=True)
class _Pending:
    pin: Pin
    deadline: float  # monotonic seconds
    servers: list[PlexServer] = field(default_factory=list)


class PlexLink:
    """Pending PIN links to plex.tv (``base_url`` is plex.tv's address)."""

    def __init__(
        self,
        base_url: str,
        clock: Clock,
        redactor: SecretRedactor,
        limits: HttpLimits,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base, self._clock, self._redactor = base_url, clock, redactor
        self._limits, self._transport = limits, transport
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._lock = asyncio.Lock()

    async def start(self) -> Pin:
        """A new PIN to type at plex.tv/link. Raises SourceUnavailable."""
        async with self._http() as http:
            pin = await plex_tv.create_pin(http)
        self._sweep()
        self._pending[pin.pin_id] = _Pending(pin, self._clock.monotonic() + pin.expires_in)
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        return pin

    async def servers(self, pin_id: int) -> list[PlexServer] | None:
        """The account's servers once the PIN is linked; ``None`` while it is not. Raises
        NotFound for an unknown or expired PIN."""
        async with self._lock:
            pending = self._get(pin_id)
            if pending.servers:
                return pending.servers
            async with self._http() as http:
                token = await plex_tv.pin_token(http, pin_id)
            if token is None:
                return None
            self._redactor.register([token.get_secret_value()])
            async with self._http(token) as http:
                found = await plex_tv.servers(http)
            self._redactor.register([s.token.get_secret_value() for s in found])
            pending.servers = found
            return found

    def take(self, pin_id: int, machine_id: str) -> PlexServer:
        """The linked server ``machine_id`` (the link is used up). Raises NotFound."""
        pending = self._get(pin_id)
        for server in pending.servers:
            if server.machine_id == machine_id:
                del self._pending[pin_id]
                return server
        known = ", ".join(f"{s.machine_id} ({s.name})" for s in pending.servers) or "none yet"
        raise NotFound(f"no server {machine_id!r} in this Plex link (known: {known})")

    def _get(self, pin_id: int) -> _Pending:
        self._sweep()
        pending = self._pending.get(pin_id)
        if pending is None:
            raise NotFound(f"Plex link {pin_id} expired or does not exist; start again")
        return pending

    def _sweep(self) -> None:
        now = self._clock.monotonic()
        for pin_id in [k for k, p in self._pending.items() if p.deadline <= now]:
            del self._pending[pin_id]

    def _http(self, token: SecretStr | None = None) -> ServerHttp:
        return ServerHttp(
            self._base,
            label="plex.tv",
            name="plex.tv",
            headers=plex_tv.plex_tv_headers(CLIENT_ID, token),
            limits=self._limits,
            transport=self._transport,
        )

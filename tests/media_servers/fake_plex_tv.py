"""A fake plex.tv (ASGI) for the PIN link, reproducing the API v2 calls and JSON that
python-plexapi and ErsatzTV use (see the Plex section of the media-server API notes):

- ``POST /api/v2/pins`` (``X-Plex-Product`` and ``X-Plex-Client-Identifier`` required; 400
  otherwise) answers 201 with ``id``, ``code`` (4 characters unless ``strong=true``),
  ``expiresIn``, ``expiresAt`` and ``authToken: null``;
- ``GET /api/v2/pins/{id}`` with the same client identifier answers the PIN, with
  ``authToken`` once :meth:`FakePlexTv.link` was called (404 for an unknown PIN or another
  client);
- ``GET /api/v2/resources`` with ``X-Plex-Token`` (401 without) lists the account's devices:
  servers (``provides: "server"``, their ``accessToken`` and ``connections``) and players.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ACCOUNT_TOKEN = "plex-account-token-9f8e7d"


@dataclass
class FakePlexTv:
    servers: list[dict[str, Any]] = field(default_factory=list)
    pins: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    pin_made: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_900_000_001))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v2/pins", self.create_pin, methods=["POST"]),
                Route("/api/v2/pins/{pin}", self.get_pin),
                Route("/api/v2/resources", self.resources),
            ]
        )

    def add_server(self, name: str, machine_id: str, token: str, uri: str) -> None:
        self.servers.append(
            {
                "name": name,
                "product": "Plex Media Server",
                "productVersion": "1.40.1.8227-c0dd5a73e",
                "platform": "Linux",
                "clientIdentifier": machine_id,
                "createdAt": "2020-01-20T10:15:00Z",
                "lastSeenAt": "2026-11-30T10:15:00Z",
                "provides": "server",
                "ownerId": None,
                "accessToken": token,
                "owned": True,
                "home": False,
                "relay": True,
                "presence": True,
                "httpsRequired": False,
                "connections": [
                    {
                        "protocol": "http",
                        "address": "203.0.113.7",
                        "port": 32400,
                        "uri": "http://203.0.113.7:32400",
                        "local": False,
                        "relay": False,
                        "IPv6": False,
                    },
                    {
                        "protocol": "https",
                        "address": "relay",
                        "port": 8443,
                        "uri": "https://relay.plex.direct:8443",
                        "local": False,
                        "relay": True,
                        "IPv6": False,
                    },
                    {
                        "protocol": "http",
                        "address": "127.0.0.1",
                        "port": 0,
                        "uri": uri,
                        "local": True,
                        "relay": False,
                        "IPv6": False,
                    },
                ],
            }
        )

    def link(self, pin_id: int) -> None:
        """What the user does at plex.tv/link: the PIN gets the account's token."""
        self.pins[pin_id]["authToken"] = ACCOUNT_TOKEN

    async def create_pin(self, request: Request) -> Response:
        self.requests.append(f"POST {request.url.path}")
        client = request.headers.get("x-plex-client-identifier")
        if not client or not request.headers.get("x-plex-product"):
            return JSONResponse({"errors": [{"code": 1000, "message": "missing"}]}, 400)
        strong = request.query_params.get("strong") == "true"
        pin_id = next(self._ids)
        pin = {
            "id": pin_id,
            "code": f"{pin_id:x}"[-4:].upper() if not strong else f"{pin_id:025x}",
            "product": request.headers["x-plex-product"],
            "trusted": False,
            "clientIdentifier": client,
            "expiresIn": 900,
            "createdAt": "2026-11-30T10:00:00Z",
            "expiresAt": "2026-11-30T10:15:00Z",
            "authToken": None,
            "newRegistration": None,
        }
        self.pins[pin_id] = pin
        self.pin_made.set()
        return JSONResponse(pin, 201)

    async def get_pin(self, request: Request) -> Response:
        self.requests.append(f"GET {request.url.path}")
        pin = self.pins.get(int(request.path_params["pin"]))
        client = request.headers.get("x-plex-client-identifier")
        if pin is None or pin["clientIdentifier"] != client:
            return JSONResponse({"errors": [{"code": 1020, "message": "Not Found"}]}, 404)
        return JSONResponse(pin)

    async def resources(self, request: Request) -> Response:
        self.requests.append(f"GET {request.url.path}")
        if request.headers.get("x-plex-token") != ACCOUNT_TOKEN:
            return JSONResponse(
                {"errors": [{"code": 1001, "message": "User could not be authenticated"}]}, 401
            )
        player = {
            "name": "Living room TV",
            "product": "Plex for Android (TV)",
            "clientIdentifier": "tv-1",
            "provides": "client,player,pubsub-player",
            "accessToken": "device-token-not-a-server",
            "owned": True,
            "connections": [],
        }
        return JSONResponse([*self.servers, player])

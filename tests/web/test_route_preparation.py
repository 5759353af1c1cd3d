"""Routes are prepared when the app is built, not on their first request.

FastAPI builds the routes of an included router (dependencies, response models, handler)
through ``fastapi.routing._populate_api_route_state`` when a request first reaches them;
``create_app`` does it for every route up front (``prepare_routes``), so that a started
server's first requests do not.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import routing

from exstreamtv.services.container import Container
from tests.web.client import open_client


async def test_first_requests_find_their_routes_already_prepared(
    sqlite_container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared: list[str] = []
    populate = routing._populate_api_route_state

    def recording(route: Any, path: str, *args: Any, **kwargs: Any) -> None:
        prepared.append(path)
        populate(route, path, *args, **kwargs)

    monkeypatch.setattr(routing, "_populate_api_route_state", recording)
    async with open_client(sqlite_container) as client:
        assert {"/healthz", "/iptv/channels.m3u", "/api/channels"} <= set(prepared)
        at_build = len(prepared)
        for path in ("/healthz", "/iptv/channels.m3u", "/api/channels"):
            # Each reaches its route (the playlist of an empty lineup is a 503).
            assert (await client.get(path)).status_code != 404, path
        assert (await client.get("/no/such/page")).status_code == 404
        assert prepared[at_build:] == []

"""Talking to the app over HTTP in tests: an in-process client, and a scanned library."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from exstreamtv.services.container import Container
from exstreamtv.web.app import create_app

PROBLEM_JSON = "application/problem+json"


@asynccontextmanager
async def open_client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh app built from ``container`` (ASGI, no sockets)."""
    # Built off the loop, as the server builds it: preparing every route takes CPU.
    app = await asyncio.to_thread(create_app, container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def create_and_scan(
    client: httpx.AsyncClient, container: Container, folder: Path, name: str = "Media"
) -> int:
    """Create a library on ``folder`` through the API, scan it and wait; returns its id."""
    created = await client.post("/api/libraries", json={"name": name, "paths": [str(folder)]})
    assert created.status_code == 201, created.text
    library_id = int(created.json()["id"])
    started = await client.post(f"/api/libraries/{library_id}/scan")
    assert started.status_code == 202, started.text
    await container.libraries.wait(library_id)
    return library_id


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check that ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert str(body["type"]).startswith("urn:exstreamtv:problem:")
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body

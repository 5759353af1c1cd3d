"""The app ``exstreamtv serve`` listens with first: liveness at once, everything else once
the real app is built (in a worker thread), and a 503 when that build fails."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from exstreamtv.web.front import FrontDoor


def real_app() -> ASGIApp:
    return Starlette(
        routes=[
            Route("/api/x", lambda _: PlainTextResponse("real")),
            Route("/healthz", lambda _: PlainTextResponse("the app's own")),
        ]
    )


async def test_liveness_answers_while_the_app_is_built_and_the_rest_waits_for_it() -> None:
    release = threading.Event()

    def slow_build() -> ASGIApp:
        release.wait(timeout=30)
        return real_app()

    front = FrontDoor(slow_build)
    front.start()
    transport = httpx.ASGITransport(app=front)
    async with httpx.AsyncClient(transport=transport, base_url="http://tv.test") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        waiting = asyncio.create_task(client.get("/api/x"))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # held, not refused
        release.set()
        assert (await waiting).text == "real"
        # Built: liveness goes through the app too (its Host check included).
        assert (await client.get("/healthz")).text == "the app's own"


async def test_every_request_but_liveness_is_a_503_when_the_build_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> ASGIApp:
        raise RuntimeError("a module could not be imported")

    front = FrontDoor(broken)
    front.start()
    transport = httpx.ASGITransport(app=front)
    async with httpx.AsyncClient(transport=transport, base_url="http://tv.test") as client:
        failed = await client.get("/api/x")
        assert failed.status_code == 503
        assert (await client.get("/healthz")).status_code == 200
    assert "the HTTP app could not be built" in caplog.text

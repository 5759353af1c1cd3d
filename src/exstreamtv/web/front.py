"""The app ``exstreamtv serve`` listens with first.

Importing and building the HTTP app (every route, schema and page) costs a few hundred
milliseconds of CPU; a client of a restarting server should meanwhile meet a port that
answers, not a refused connection. So the server binds with :class:`FrontDoor`: until the
real app, built in a worker thread, is there, it answers ``/healthz`` (liveness) itself and
holds every other request; then it hands every request over unchanged, ``/healthz`` too,
so the app's guards (the ``Host`` check first) see all of them. A build that fails is
logged; ``/healthz`` still answers and every other request held or to come gets a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
_OK = b'{"status":"ok"}'


class FrontDoor:
    """An ASGI app: ``/healthz`` now, everything once ``build()`` has returned."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: asyncio.Future[ASGIApp] | None = None

    def start(self) -> None:
        """Build the app in a worker thread (call once, from the event loop)."""
        task = asyncio.ensure_future(asyncio.to_thread(self._build))
        task.add_done_callback(_report)
        self._app = task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/healthz" and not self._built():
            await _answer(send, 200, _OK)
            return
        if self._app is None:
            raise RuntimeError("FrontDoor.start() was not called")
        try:
            app = await asyncio.shield(self._app)
        except Exception:  # noqa: BLE001 - the top of a request; _report logged the failure
            if scope["type"] == "http":
                await _answer(send, 503, b'{"status":"the server failed to start"}')
            return
        await app(scope, receive, send)

    def _built(self) -> bool:
        """Whether the real app is there (built without an error)."""
        app = self._app
        return app is not None and app.done() and not app.cancelled() and app.exception() is None


def _report(task: asyncio.Future[ASGIApp]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the HTTP app could not be built", exc_info=task.exception())


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

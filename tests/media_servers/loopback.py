"""Serving a fake media server's ASGI app on a loopback port, stoppable and restartable on
the same port (a server that goes down and comes back)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.types import ASGIApp

STOP_WAIT_SEC = 5.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


class LoopbackServer:
    """``app`` on ``127.0.0.1:<free port>`` in the running event loop.

    The socket is listening before :meth:`start` returns, so no readiness polling is needed.
    :meth:`stop` closes the port (connections are refused); :meth:`start` again reopens it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self.port = 0
        self._task: asyncio.Task[None] | None = None
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_config=None,
            access_log=False,
            ws="none",
            timeout_graceful_shutdown=1,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.force_exit = True
        async with asyncio.timeout(STOP_WAIT_SEC):
            await self._task
        self._server = self._task = None


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer(app)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

"""``exstreamtv serve``: open the container, do start-up work, then serve HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from rich.console import Console
from rich.panel import Panel

from exstreamtv.cli.announce import announcements
from exstreamtv.config import Settings
from exstreamtv.errors import DatabaseUnavailable, StartupError
from exstreamtv.logs import SecretRedactor, configure_logging
from exstreamtv.runtime import tune_garbage_collector
from exstreamtv.services.container import open_container, start_up
from exstreamtv.store.database import check_reachable
from exstreamtv.web.app import create_app

log = logging.getLogger(__name__)
GRACEFUL_SHUTDOWN_SEC = 3
# Each connection's kernel send buffer, fixed instead of autotuned (Linux would grow it to
# 4 MiB: a minute of a low-bitrate channel). A player that stops reading then fills it in
# a second or two, the stream backs up into the viewer's own queue and the viewer is dropped
# after ``streaming.viewer_max_lag_sec``. 256 KiB (the kernel doubles it) still carries
# tens of Mbit/s per viewer at LAN round-trip times.
SEND_BUFFER_BYTES = 256 * 1024


async def run_server(settings: Settings, console: Console) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop it gracefully).

    The port is taken and the database reached before anything is created or logged as
    listening: either failing raises :class:`StartupError` naming the cause and setting."""
    redactor = SecretRedactor()
    configure_logging(settings.logging.level, settings.logging.format, redactor)
    listener = _listen(settings.server.host, settings.server.port)
    try:
        await _reach_database(settings)
        await _serve(settings, console, redactor, listener)
    finally:
        listener.close()
    log.info("EXStreamTV stopped")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (uvicorn's own bind exits the process instead of
    raising); a taken or forbidden port is a StartupError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        reason = err.strerror or str(err)
        raise StartupError(
            f"cannot listen on {host}:{port}: {reason} (server.port / --port)"
        ) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    sock.set_inheritable(True)
    return sock


async def _reach_database(settings: Settings) -> None:
    if settings.database.url is None:  # SQLite in the data directory, made at start-up
        return
    variable = "EXSTREAMTV_DATABASE__URL"
    named = f"environment variable {variable}" if variable in os.environ else "database.url"
    try:
        await check_reachable(settings.database_url)
    except DatabaseUnavailable as err:
        raise StartupError(f"{named}: {err.message}") from None


async def _serve(
    settings: Settings, console: Console, redactor: SecretRedactor, listener: socket.socket
) -> None:
    async with open_container(settings, redactor=redactor) as container:
        new_key = await start_up(container)
        if new_key is not None:
            _announce_key(console, new_key, settings)
        tune_garbage_collector()
        config = uvicorn.Config(
            create_app(container),
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            # Live streams never end on their own: give open connections a moment, then
            # close them, so a stop never hangs on a viewer.
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SEC,
        )
        log.info(
            "EXStreamTV listening on http://%s:%d (data in %s)",
            settings.server.host,
            settings.server.port,
            settings.data_dir,
        )
        server = _GracefulServer(config, on_stop=container.live.close)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.request_stop)
        try:
            async with announcements(container):
                await server.serve(sockets=[listener])
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


class _GracefulServer(uvicorn.Server):
    """uvicorn, but our signal handlers: uvicorn re-raises a captured SIGTERM after its own
    shutdown, which would kill the process before our clean-up (scans, database) runs.

    On the first signal the live channels are stopped first (``on_stop``): their viewers'
    streams then end normally and uvicorn closes the connections without cancelling them.
    """

    def __init__(self, config: uvicorn.Config, *, on_stop: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._on_stop = on_stop
        self._stopping: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_stop(self) -> None:
        """First signal: stop the live channels, then the server. Second: stop now."""
        if self._stopping is not None:
            self.should_exit = self.force_exit = True
            return
        self._stopping = asyncio.ensure_future(self._on_stop())
        self._stopping.add_done_callback(self._exit)

    def _exit(self, _: asyncio.Future[None]) -> None:
        self.should_exit = True


def _announce_key(console: Console, key: str, settings: Settings) -> None:
    where = (
        "The admin API is open on loopback; this key is needed once you listen on the LAN."
        if settings.is_loopback_only
        else "Send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'."
    )
    console.print(
        Panel(
            f"[bold]{key}[/bold]\n\nShown once; only its hash is stored. {where}\n"
            "Lost it? Run: exstreamtv admin-key rotate",
            title="Admin API key",
        ),
        highlight=False,
    )

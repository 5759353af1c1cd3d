"""``exstreamtv serve``: open the container, do what the first answer needs, bind the port,
and then build the HTTP app (``web/front.py`` answers meanwhile) and do the rest of the
start-up work (``services/warm_up.py``)."""

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
from starlette.types import ASGIApp

from exstreamtv.cli.announce import announcements
from exstreamtv.config import Settings
from exstreamtv.errors import DatabaseUnavailable, StartupError, XMLTVValidationError
from exstreamtv.logs import SecretRedactor, configure_logging
from exstreamtv.runtime import favour_the_event_loop, tune_garbage_collector
from exstreamtv.services.container import Container, open_container, prepare, warm_up
from exstreamtv.store.database import check_reachable
from exstreamtv.web.front import FrontDoor

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
    logging.getLogger("uvicorn.error").addFilter(EndedGuides())
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
        new_key = await prepare(container)
        if new_key is not None:
            _announce_key(console, new_key, settings)
        container.warm_up.expect(["start-up"])  # not ready until the work below is done
        favour_the_event_loop()
        front = FrontDoor(lambda: _http_app(container))
        config = uvicorn.Config(
            front,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",  # no WebSocket routes: loading a WebSocket library costs start-up time
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

        def started() -> None:
            front.start()
            warm_up(container)

        server = _GracefulServer(config, on_stop=container.live.close, on_started=started)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.request_stop)
        try:
            async with announcements(container):
                await server.serve(sockets=[listener])
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


class EndedGuides(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" for a guide whose stream ended on a
    validation fault: that is how such a transfer is cut short on purpose (see
    ``services/guide.py``), and it was logged and counted as a refused guide already."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0] if len(error.exceptions) == 1 else error
        return not isinstance(error, XMLTVValidationError)


def _http_app(container: Container) -> ASGIApp:
    """Import and build the HTTP app (in a worker thread, once the port is bound), then
    freeze what start-up made for the garbage collector."""
    from exstreamtv.web.app import create_app  # noqa: PLC0415 - see the module docstring

    app = create_app(container)
    tune_garbage_collector()
    return app


class _GracefulServer(uvicorn.Server):
    """uvicorn, but our signal handlers: uvicorn re-raises a captured SIGTERM after its own
    shutdown, which would kill the process before our clean-up (scans, database) runs.

    On the first signal the live channels are stopped first (``on_stop``): their viewers'
    streams then end normally and uvicorn closes the connections without cancelling them.
    ``on_started`` runs once the socket listens.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        on_stop: Callable[[], Awaitable[None]],
        on_started: Callable[[], None],
    ) -> None:
        super().__init__(config)
        self._on_stop = on_stop
        self._on_started = on_started
        self._stopping: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Bind and listen, then start the work that waits for it (``on_started``)."""
        await super().startup(sockets)
        if not self.should_exit:  # binding failed: uvicorn is on its way out
            self._on_started()

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

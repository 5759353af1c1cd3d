"""A loopback HTTP proxy through which FFmpeg reads media-server files without the token.

A media server wants its token with every request, and a URL in FFmpeg's argv is readable
by every local user (``ps``, ``/proc/*/cmdline``). So FFmpeg is given an opaque URL on this
proxy instead, ``http://127.0.0.1:<port>/media/<grant>``: a random grant id (no token, no
server address) that names one item, expires after :data:`MIN_LIFETIME_SEC` or the item's
length plus a margin, and is forgotten beyond :data:`MAX_GRANTS`. The proxy asks the server
with the source's own client (the token in a header), passes ``Range`` and ``If-Range`` up
and the status, length, range and type headers down, and streams the body with
backpressure. One request per connection; nothing but loopback can connect.

The proxy starts on first use and is stopped (its open connections closed) with the
container.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass

import h11

from exstreamtv.clock import Clock
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.services.media_servers import MediaServerService

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
MAX_GRANTS = 1024
MIN_LIFETIME_SEC = 600.0
LIFETIME_MARGIN_SEC = 600.0
HEAD_TIMEOUT_SEC = 10.0
READ_CHUNK = 64 * 1024
PATH_PREFIX = "/media/"
REQUEST_HEADERS = (b"range", b"if-range")
RESPONSE_HEADERS = (
    "content-type", "content-length", "content-range", "accept-ranges", "content-encoding",
    "last-modified", "etag",
)  # fmt: skip
PASSED_STATUS = frozenset({200, 206, 416})


@dataclass(frozen=True, slots=True)
class _Grant:
    source_id: int
    remote_id: str
    stream_key: str | None
    expires: float  # monotonic seconds


class MediaProxy:
    """Hands out opaque loopback URLs for server items and serves them (see module doc)."""

    def __init__(
        self, servers: MediaServerService, clock: Clock, *, max_grants: int = MAX_GRANTS
    ) -> None:
        self._servers, self._clock, self._max_grants = servers, clock, max_grants
        self._grants: OrderedDict[str, _Grant] = OrderedDict()
        self._server: asyncio.Server | None = None
        self._port = 0
        self._starting = asyncio.Lock()
        self._handlers: set[asyncio.Task[None]] = set()

    async def url_for(
        self, source_id: int, remote_id: str, stream_key: str | None, duration_sec: float
    ) -> str:
        """A loopback URL that streams the item for about ``duration_sec`` plus a margin."""
        await self._start()
        now = self._clock.monotonic()
        lifetime = max(MIN_LIFETIME_SEC, duration_sec + LIFETIME_MARGIN_SEC)
        for grant_id, grant in list(self._grants.items()):
            if grant.expires <= now:
                del self._grants[grant_id]
        grant_id = secrets.token_urlsafe(24)
        self._grants[grant_id] = _Grant(source_id, remote_id, stream_key, now + lifetime)
        while len(self._grants) > self._max_grants:
            self._grants.popitem(last=False)
        return f"http://{LOOPBACK}:{self._port}{PATH_PREFIX}{grant_id}"

    async def close(self) -> None:
        """Stop listening and close every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()
        self._grants.clear()

    async def _start(self) -> None:
        async with self._starting:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, LOOPBACK, 0)
                self._port = int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._answer(reader, writer, h11.Connection(h11.SERVER))
        except (ConnectionError, TimeoutError, h11.ProtocolError):
            pass  # the reader went away or spoke nonsense: nothing to answer
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection
    ) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT_SEC):
            request = await _request(reader, conn)
        if request is None:
            return
        method = request.method.decode("ascii", "replace")
        if method not in ("GET", "HEAD"):
            await _reply(writer, conn, 405, [("Allow", "GET, HEAD")])
            return
        grant = self._grant(request.target.decode("ascii", "replace"))
        if grant is None:
            await _reply(writer, conn, 404)
            return
        wanted = {
            k.decode(): v.decode("latin-1") for k, v in request.headers if k in REQUEST_HEADERS
        }
        try:
            client = await self._servers.client(grant.source_id)
            async with client.open_stream(grant.remote_id, grant.stream_key, wanted) as upstream:
                if upstream.status_code not in PASSED_STATUS:
                    log.warning(
                        "media source %s answered HTTP %d for item %s",
                        grant.source_id, upstream.status_code, grant.remote_id,
                        extra={"source": str(grant.source_id)},
                    )  # fmt: skip
                    await _reply(writer, conn, 404 if upstream.status_code == 404 else 502)
                    return
                headers = [(k, v) for k in RESPONSE_HEADERS if (v := upstream.headers.get(k))]
                headers.append(("Connection", "close"))
                head = h11.Response(status_code=upstream.status_code, headers=headers)
                await _send(writer, conn, head)
                if method == "GET":
                    async for chunk in upstream.aiter_raw(READ_CHUNK):
                        await _send(writer, conn, h11.Data(data=chunk))
                await _send(writer, conn, h11.EndOfMessage())
        except (SourceUnavailable, NotFound) as err:
            log.warning("media proxy: %s", err.message, extra={"source": str(grant.source_id)})
            if conn.our_state is h11.SEND_RESPONSE:
                await _reply(writer, conn, 502)

    def _grant(self, target: str) -> _Grant | None:
        if not target.startswith(PATH_PREFIX):
            return None
        grant = self._grants.get(target[len(PATH_PREFIX) :])
        if grant is None or grant.expires <= self._clock.monotonic():
            return None
        return grant


async def _request(reader: asyncio.StreamReader, conn: h11.Connection) -> h11.Request | None:
    """The request head, or ``None`` when the client closed first."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(READ_CHUNK)
            if not data:
                return None
            conn.receive_data(data)
            continue
        return event if isinstance(event, h11.Request) else None


async def _send(writer: asyncio.StreamWriter, conn: h11.Connection, event: h11.Event) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        await writer.drain()


async def _reply(
    writer: asyncio.StreamWriter,
    conn: h11.Connection,
    status: int,
    headers: list[tuple[str, str]] | None = None,
) -> None:
    """An empty answer with ``status``."""
    fields = [*(headers or []), ("Content-Length", "0"), ("Connection", "close")]
    await _send(writer, conn, h11.Response(status_code=status, headers=fields))
    await _send(writer, conn, h11.EndOfMessage())

"""Tuner accounting under concurrent HTTP viewers, on a real uvicorn server on loopback.

httpx's ASGI transport buffers whole responses, so streams that stay open need a real
server. The stream source is a fake at the seam: each stream sends one MPEG-TS packet and
then holds until the test ends it, and reports when it is closed, so the tests wait on
that report (and never on time) to see a disconnected viewer's tuner given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import httpx
import pytest
import uvicorn

from exstreamtv.domain.catchup import CatchupSpan
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.playback.tuners import TunerPool
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.streaming import StreamingService
from exstreamtv.store.channels import ChannelFields
from exstreamtv.web.app import create_app
from tests.web.conftest import SettingsFactory

TS_PACKET = bytes([0x47, 0x40, 0x00, 0x10]) + b"\xff" * 184
ALL_TUNERS_IN_USE = "805 All Tuners In Use"
WAIT_SEC = 5


class HeldSource:
    """Streams that send one TS packet, then hold until :attr:`end` is set. The number of
    every closed stream (ended, or its viewer gone) is put on :attr:`closed`."""

    def __init__(self) -> None:
        self.end = asyncio.Event()
        self.closed: asyncio.Queue[str] = asyncio.Queue()
        self.opened: list[tuple[str, str]] = []
        self.retired: list[tuple[str, str]] = []
        self.opening = asyncio.Event()  # set when a tune reaches the source
        self.gate = asyncio.Event()  # cleared: tunes wait in ``open`` until it is set
        self.gate.set()

    async def open(self, channel: Channel) -> AsyncIterator[bytes]:
        self.opening.set()
        await self.gate.wait()
        self.opened.append((str(channel.number), "ts"))
        return self._stream(str(channel.number))

    async def playlist(self, channel: Channel, segment_url: str) -> str:
        self.opening.set()
        await self.gate.wait()
        self.opened.append((str(channel.number), "hls"))
        return f"#EXTM3U\n#EXTINF:4.000,\n{segment_url.format(sequence=7)}\n"

    def segment(self, number: ChannelNumber, sequence: int) -> bytes | None:
        return TS_PACKET if sequence == 7 else None

    async def retire(self, number: ChannelNumber, reason: str) -> None:
        self.retired.append((str(number), reason))

    def replay_key(self, number: str, span: CatchupSpan) -> str:
        return span.key(number)

    def replaying(self, number: str) -> list[str]:
        return []

    async def replay(self, channel: Channel, span: CatchupSpan, key: str) -> AsyncIterator[bytes]:
        self.opened.append((str(channel.number), key))
        return self._stream(str(channel.number))

    async def catchup_segment(
        self, channel: Channel, span: CatchupSpan, sequence: int, aired: int
    ) -> bytes:
        return TS_PACKET

    async def _stream(self, number: str) -> AsyncIterator[bytes]:
        try:
            yield TS_PACKET
            await self.end.wait()
        finally:
            self.closed.put_nowait(number)

    async def next_closed(self) -> str:
        async with asyncio.timeout(WAIT_SEC):
            return await self.closed.get()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner keeps its own signal handlers


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    port: int
    server: uvicorn.Server


@contextlib.asynccontextmanager
async def serving(container: Container) -> AsyncIterator[Served]:
    """The app on a real uvicorn server on a loopback port; yields its URL.

    The socket is bound and listening before the server starts, so connections made
    at once wait in the backlog instead of failing: no readiness polling is needed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    app = await asyncio.to_thread(create_app, container)  # as the server: off the loop
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, ws="none",
        timeout_graceful_shutdown=WAIT_SEC,
    )  # fmt: skip
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", sock.getsockname()[1], server)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def source() -> HeldSource:
    return HeldSource()


@pytest.fixture
async def two_tuners(
    make_settings: SettingsFactory, source: HeldSource
) -> AsyncIterator[Container]:
    """A container with two tuners, five channels and the held source in place."""
    async with open_container(make_settings(hdhomerun={"tuner_count": 2})) as container:
        for major in range(1, 6):
            await container.channels.create(ChannelFields(ChannelNumber(major), f"Ch {major}"))
        streaming = StreamingService(container.channels, TunerPool(2), source, container.metrics)
        object.__setattr__(container, "streaming", streaming)  # the container is frozen
        try:
            yield container
        finally:
            source.end.set()


@pytest.fixture
async def viewers(two_tuners: Container) -> AsyncIterator[Viewers]:
    async with (
        serving(two_tuners) as served,
        httpx.AsyncClient(base_url=served.url) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        yield Viewers(client, stack)


class Viewers:
    """Open streams, each kept open until :meth:`leave` or the end of the test."""

    def __init__(self, client: httpx.AsyncClient, stack: contextlib.AsyncExitStack) -> None:
        self.client = self._client = client
        self._stack = stack
        # The body iterators are kept: closing one (even by garbage collection after a
        # ``break``) closes the connection, which would let the viewer go early.
        self._open: dict[int, tuple[contextlib.AsyncExitStack, AsyncIterator[bytes]]] = {}

    async def tune(self, path: str) -> httpx.Response:
        """GET ``path`` as a stream; a 200 is left open, its first packet read."""
        own = contextlib.AsyncExitStack()
        response = await own.enter_async_context(self._client.stream("GET", path))
        if response.status_code != 200:
            await response.aread()
            await own.aclose()
            return response
        body = await own.enter_async_context(
            contextlib.aclosing(cast("AsyncGenerator[bytes, None]", response.aiter_raw()))
        )
        self._open[id(response)] = (own, body)
        self._stack.push_async_callback(own.aclose)
        data = b""
        async with asyncio.timeout(WAIT_SEC):
            while len(data) < len(TS_PACKET):
                data += await anext(body)
        assert data == TS_PACKET
        return response

    async def tune_all(self, paths: Sequence[str]) -> list[httpx.Response]:
        """Every path at once."""
        return list(await asyncio.gather(*(self.tune(path) for path in paths)))

    async def leave(self, response: httpx.Response) -> None:
        """Disconnect the viewer of ``response``."""
        own, _ = self._open.pop(id(response))
        await own.aclose()


def assert_all_tuners_in_use(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["x-hdhomerun-error"] == ALL_TUNERS_IN_USE
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:exstreamtv:problem:all-tuners-in-use"
    assert int(response.headers["retry-after"]) > 0


async def test_with_two_tuners_the_third_concurrent_channel_gets_805(
    two_tuners: Container, viewers: Viewers
) -> None:
    responses = await viewers.tune_all(["/auto/v1", "/tuner1/v2", "/iptv/channel/3.ts"])

    assert sorted(r.status_code for r in responses) == [200, 200, 503]
    refused = next(r for r in responses if r.status_code == 503)
    assert_all_tuners_in_use(refused)
    streaming = [r for r in responses if r.status_code == 200]
    assert all(r.headers["content-type"] == "video/mp2t" for r in streaming)
    status = two_tuners.streaming.tuners.status()
    assert status.in_use == 2
    assert status.channels == dict.fromkeys(status.channels, 1)


async def test_a_burst_of_viewers_never_takes_more_tuners_than_exist(
    two_tuners: Container, viewers: Viewers, source: HeldSource
) -> None:
    paths = [f"/auto/v{major}" for major in (1, 2, 3, 4, 5) for _ in range(3)]

    responses = await viewers.tune_all(paths)

    tuned = two_tuners.streaming.tuners.status().channels
    assert len(tuned) == 2
    for path, response in zip(paths, responses, strict=True):
        number = path.removeprefix("/auto/v")
        if number in tuned:
            assert response.status_code == 200, response.text
        else:
            assert_all_tuners_in_use(response)
    assert tuned == dict.fromkeys(tuned, 3)  # every viewer of a tuned channel got in
    assert sorted(number for number, _ in source.opened) == sorted(
        number for number in tuned for _ in range(3)
    )


async def test_viewers_of_one_channel_share_its_tuner_until_the_last_leaves(
    two_tuners: Container, viewers: Viewers, source: HeldSource
) -> None:
    tuners = two_tuners.streaming.tuners
    first, second = await viewers.tune_all(["/auto/v1", "/iptv/channel/1.ts"])
    other = await viewers.tune("/auto/v2")
    assert [first.status_code, second.status_code, other.status_code] == [200, 200, 200]
    assert tuners.status().channels == {"1": 2, "2": 1}
    assert_all_tuners_in_use(await viewers.tune("/auto/v3"))

    await viewers.leave(first)
    assert await source.next_closed() == "1"
    assert tuners.status().channels == {"1": 1, "2": 1}
    assert_all_tuners_in_use(await viewers.tune("/auto/v3"))

    await viewers.leave(second)
    assert await source.next_closed() == "1"
    assert tuners.status().channels == {"2": 1}
    assert (await viewers.tune("/auto/v3")).status_code == 200
    assert tuners.status().channels == {"2": 1, "3": 1}


async def test_hls_audience_shares_the_channel_tuner_with_mpegts_viewers(
    two_tuners: Container, viewers: Viewers, source: HeldSource
) -> None:
    hls = await viewers.client.get("/iptv/channel/4.m3u8")
    again = await viewers.client.get("/iptv/channel/4.m3u8")
    ts = await viewers.tune("/auto/v4")

    assert hls.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert again.status_code == 200 and ts.status_code == 200
    assert source.opened == [("4", "hls"), ("4", "hls"), ("4", "ts")]
    # one slot for the HLS audience (however many reloads), one for the TS viewer
    assert two_tuners.streaming.tuners.status().channels == {"4": 2}


async def test_hls_segments_are_served_relative_to_the_playlist(viewers: Viewers) -> None:
    playlist = await viewers.client.get("/iptv/channel/4.m3u8")
    url = httpx.URL(str(playlist.url)).join(playlist.text.splitlines()[-1])
    segment = await viewers.client.get(url)
    gone = await viewers.client.get("/iptv/channel/4/hls/6.ts")

    assert url.path == "/iptv/channel/4/hls/7.ts"
    assert segment.headers["content-type"] == "video/mp2t" and segment.content == TS_PACKET
    assert gone.status_code == 404


async def test_hls_playlist_is_refused_with_805_when_every_tuner_is_busy(
    two_tuners: Container, viewers: Viewers
) -> None:
    await viewers.tune_all(["/auto/v1", "/auto/v2"])

    refused = await viewers.client.get("/iptv/channel/3.m3u8")

    assert_all_tuners_in_use(refused)
    assert two_tuners.streaming.tuners.status().channels == {"1": 1, "2": 1}


async def test_an_hls_audience_that_stops_asking_gives_its_tuner_back(
    two_tuners: Container, viewers: Viewers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exstreamtv.services import streaming

    await viewers.client.get("/iptv/channel/1.m3u8")
    await viewers.client.get("/iptv/channel/2.m3u8")
    assert_all_tuners_in_use(await viewers.tune("/auto/v3"))

    monkeypatch.setattr(streaming, "HLS_LEASE_SECONDS", 0.0)  # both audiences went quiet

    assert (await viewers.tune("/auto/v3")).status_code == 200
    assert two_tuners.streaming.tuners.status().channels == {"3": 1}


async def test_every_tuner_is_given_back_when_the_streams_end(
    two_tuners: Container, viewers: Viewers, source: HeldSource
) -> None:
    await viewers.tune_all(["/auto/v1", "/auto/v2", "/auto/v2"])
    assert two_tuners.streaming.tuners.status().in_use == 2

    source.end.set()

    assert sorted([await source.next_closed() for _ in range(3)]) == ["1", "2", "2"]
    assert two_tuners.streaming.tuners.status().in_use == 0


async def until(condition: Callable[[], bool]) -> None:
    """Wait for the server to notice something (it has no event to await); at most 2 s."""
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110 - uvicorn's state offers no event to wait on
            await asyncio.sleep(0.01)


async def test_a_viewer_gone_before_the_stream_starts_gives_the_tuner_back(
    two_tuners: Container, source: HeldSource
) -> None:
    source.gate.clear()
    async with serving(two_tuners) as served:
        state = served.server.server_state
        _, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(b"GET /auto/v1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(WAIT_SEC):
            await source.opening.wait()  # the tuner is taken; the source is opening
        assert two_tuners.streaming.tuners.status().channels == {"1": 1}

        writer.close()
        await writer.wait_closed()
        await until(lambda: not state.connections)
        source.gate.set()
        await until(lambda: not state.tasks)

        assert two_tuners.streaming.tuners.status().in_use == 0

"""A channel built from each online source plays (frames decode), survives its source going
away (a slate fills the outage, then the programme comes back by itself) and never leaks a
source credential. A seekable item joined mid-way is seeked; a live channel never is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.libraries import LibraryKind, OnlineSecrets, OnlineSettings, SourceKind
from exstreamtv.services.container import Container
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter
from tests.media_servers.loopback import LoopbackServer
from tests.media_servers.test_remote_playback import TINY, _probe, _whole
from tests.online.conftest import ContainerFactory
from tests.online.fake_archive import FakeArchive
from tests.online.site import ACCOUNT, PASSWORD, Hit, MediaSite
from tests.online.test_online_scans import TOKEN, leaked
from tests.playback.test_session import check_packets, media_span
from tests.seeding import add_collection, items_schedule

JOIN_AT_MS = 1_200  # into the first programme: an item joined here is seeked by ~1 s


def _secrets(kind: SourceKind, site: str) -> OnlineSecrets:
    if kind is SourceKind.REMOTE:  # an MPEG-TS file: FFmpeg seeks in it with a byte range
        return OnlineSecrets(urls=(f"{site}/live/docs.ts?token={TOKEN}",))
    if kind is SourceKind.YOUTUBE:
        return OnlineSecrets(urls=(f"{site}/feed.xml",))
    if kind is SourceKind.IPTV:
        return OnlineSecrets(urls=(f"{site}/get.php?username={ACCOUNT}&password={PASSWORD}",))
    return OnlineSecrets()


async def _channel(container: Container, kind: SourceKind, site: str) -> AsyncIterator[bytes]:
    settings = OnlineSettings(query="prelinger", live_minutes=1, rate_per_minute=0)
    source = await container.online.create(
        kind, "Source", LibraryKind.OTHER, _secrets(kind, site), settings
    )
    library = await container.online.library(source.id)
    assert (await container.libraries.scan(library.id)).error is None
    items, _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 9)
    playable = [i.id for i in items if i.technical is not None][:1]
    collection = await add_collection(container, "Online", playable)
    schedule = await container.schedules.create(items_schedule("Online", collection))
    profile = await container.profiles.create(TINY)
    number = ChannelNumber(7)
    await container.channels.create(ChannelFields(number, "Seven", stream_profile_id=profile.id))
    await container.playouts.attach(number, schedule.id)
    now = container.clock.now()
    playing = await container.playouts.playing(number, now)
    assert playing is not None
    join = playing.entry.start + timedelta(milliseconds=JOIN_AT_MS)
    await asyncio.sleep(max(0.0, (join - now).total_seconds()))  # to join mid-programme
    return await container.live.open(await container.channels.channel(number))


async def _until(chunks: AsyncIterator[bytes], data: bytearray, done: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        async for chunk in chunks:
            data += chunk
            if done():
                return


def _ffmpeg(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.agent.startswith("Lavf")]


@pytest.mark.parametrize("kind", ["remote", "youtube", "archive_org", "iptv"])
async def test_a_channel_from_an_online_source_plays_survives_an_outage_and_leaks_nothing(
    kind: str,
    make_container: ContainerFactory,
    site: tuple[MediaSite, LoopbackServer],
    archive: tuple[FakeArchive, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    caplog.set_level(logging.INFO)
    source_kind = SourceKind(kind)
    web, web_server = site
    store, store_server = archive
    server = store_server if source_kind is SourceKind.ARCHIVE_ORG else web_server
    hits = (lambda: store.served) if source_kind is SourceKind.ARCHIVE_ORG else None

    def served() -> int:
        if hits is not None:
            return len(hits())
        return len(_ffmpeg(web.hits))

    sections: dict[str, Any] = {
        "online_sources": {"archive_org_url": store_server.url},
        "playout": {"horizon_hours": 1},  # 3 s programmes: 1200 rows, not 57,600
    }
    async with make_container(**sections) as container:
        chunks = await _channel(container, source_kind, web_server.url)
        data = bytearray()
        await _until(chunks, data, lambda: served() >= 1 and media_span(_whole(data)) > 2)
        capture = tmp_path / "online.ts"
        capture.write_bytes(_whole(bytes(data)))
        assert set(await _probe(capture)) == {"aac", "h264"}  # frames decode
        if source_kind is SourceKind.REMOTE:  # joined mid-item: FFmpeg seeked into the file
            ranges = [h.range for h in _ffmpeg(web.hits) if h.path == "/live/docs.ts"]
            assert any(r and not r.startswith("bytes=0-") for r in ranges), ranges
        if source_kind is SourceKind.IPTV:  # joined mid-block, yet never seeked
            ranges = [h.range for h in _ffmpeg(web.hits) if h.path.startswith("/live/")]
            assert ranges and all(r in (None, "bytes=0-") for r in ranges), ranges

        await server.stop()
        outage = len(data)
        await _until(chunks, data, lambda: media_span(_whole(data[outage:])) > 2)
        before = served()
        await server.start()
        await _until(chunks, data, lambda: served() > before)  # the programme is back
        await chunks.aclose()  # type: ignore[attr-defined]
        check_packets(_whole(bytes(data)))  # one unbroken stream through the outage
        for secret in (TOKEN, PASSWORD):
            assert not leaked(secret, caplog.records, container)

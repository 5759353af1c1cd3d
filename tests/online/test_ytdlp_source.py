"""A yt-dlp source for real, against a website on loopback (yt-dlp's generic extractor reads
an RSS feed as a playlist, and bare MP4 and HLS URLs as videos): what a scan stores, late
resolution with its expiry, a video that is gone, and local copies within their cap."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.libraries import (
    LibraryKind,
    OnlineSecrets,
    OnlineSettings,
    ScanStatus,
    SourceKind,
)
from exstreamtv.domain.media import MediaItem, MediaState, MetadataStatus
from exstreamtv.errors import SourceItemGone
from exstreamtv.services.container import Container
from exstreamtv.services.media_locations import MediaLocator
from exstreamtv.services.media_proxy import MediaProxy
from exstreamtv.services.online_sources import DEFAULT_TTL_SEC
from exstreamtv.sources.base import RemoteLibrary
from exstreamtv.sources.pace import Pace
from exstreamtv.sources.server_http import ServerHttp
from exstreamtv.sources.ytdlp import YtDlpClient
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter
from tests.media_servers.loopback import LoopbackServer
from tests.online.conftest import ContainerFactory
from tests.online.site import MediaSite
from tests.seeding import ManualClock, add_collection, add_show, items_schedule

COOKIES = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\tcookie-secret-4669\n"


def _extractions(site: MediaSite, path: str) -> int:
    """Requests yt-dlp made for ``path`` (a quick check before playing is not one)."""
    return sum(1 for h in site.requests_for(path) if "python-httpx" not in h.agent)


async def _locate(container: Container, item_id: int) -> MediaItem:
    """Where the live channels would play ``item_id`` from now."""
    proxy = MediaProxy(container.media_servers, container.clock)  # not started: no server item
    locator = MediaLocator(
        container.sessions, container.media_servers, container.catalog.item, proxy,
        container.online.locate,
    )  # fmt: skip
    return await locator.item(item_id)


async def _source(container: Container, urls: list[str], **options: object) -> int:
    settings = OnlineSettings(rate_per_minute=0, **options)  # type: ignore[arg-type]
    source = await container.online.create(
        SourceKind.YOUTUBE, "Strolls", LibraryKind.SHOWS,
        OnlineSecrets(urls=tuple(urls), cookies=COOKIES), settings,
    )  # fmt: skip
    library = await container.online.library(source.id)
    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED, result.error
    return library.id


async def test_a_feed_and_videos_are_read_with_yt_dlp_and_resolved_at_play_time(
    make_container: ContainerFactory,
    site: tuple[MediaSite, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, server = site
    clock = ManualClock()
    async with make_container(clock=clock) as container:
        library_id = await _source(container, [f"{server.url}/feed.xml", f"{server.url}/clip.mp4"])
        items, _ = await container.catalog.search(MediaFilter(library_id=library_id), 0, 9)
        by_title = {i.metadata.title: i for i in items}
        assert set(by_title) == {"Morning walk", "Harbour at dusk", "clip"}
        assert by_title["clip"].metadata.show == "Strolls"  # no playlist: the library's name
        harbour = by_title["Harbour at dusk"]
        assert harbour.metadata.plot == "Harbour at dusk from the feed"
        assert (harbour.metadata.show, harbour.metadata.kind.value) == ("Walks", "episode")
        assert harbour.technical is not None and harbour.technical.duration_ms == 3000
        walk = by_title["Morning walk"]
        assert walk.technical is not None and walk.technical.video_codec == "h264"  # probed
        async with container.engine.connect() as conn:
            stored = " ".join(
                str(row) for row in await conn.execute(text("SELECT * FROM media_sources"))
            )

        hls = "/hls/index.m3u8"
        before = _extractions(fake, hls)
        played = await _locate(container, harbour.id)
        assert played.path == f"{server.url}{hls}"
        resolved = _extractions(fake, hls)
        assert resolved > before  # resolved at play time
        assert (await _locate(container, harbour.id)).path == played.path
        assert _extractions(fake, hls) == resolved  # cached: not resolved again
        clock.current += timedelta(seconds=DEFAULT_TTL_SEC)  # nearer its end than the margin
        await _locate(container, harbour.id)
        assert _extractions(fake, hls) > resolved  # resolved again before it lapsed

        fake.gone.add("/clip.mp4")
        with pytest.raises(SourceItemGone, match="HTTP 404"):
            await _locate(container, walk.id)
        gone = await container.catalog.item(walk.id)
        assert (gone.state, gone.metadata.status) == (MediaState.MISSING, MetadataStatus.FAILED)
        assert gone.metadata.reason == "the video is gone (HTTP 404)"

    assert "cookie-secret-4669" not in stored
    assert all("cookie-secret-4669" not in r.getMessage() for r in caplog.records)


async def test_a_video_gone_on_air_leaves_every_channel_future_at_once(
    make_container: ContainerFactory, site: tuple[MediaSite, LoopbackServer]
) -> None:
    fake, server = site
    async with make_container() as container:
        library_id = await _source(container, [f"{server.url}/clip.mp4"])
        (clip,), _ = await container.catalog.search(MediaFilter(library_id=library_id), 0, 9)
        (quiz,) = await add_show(container, "Quiz", [25])
        collection = await add_collection(container, "Mixed", [quiz, clip.id])
        schedule = await container.schedules.create(items_schedule("Mixed", collection))
        await container.channels.create(ChannelFields(ChannelNumber(5), "Five"))
        await container.playouts.attach(ChannelNumber(5), schedule.id)

        async def future() -> set[int | None]:
            listed = await container.playouts.entries(ChannelNumber(5))
            return {e.entry.media_id for e in listed[1:]}  # after the programme on air

        assert clip.id in await future()
        fake.gone.add("/clip.mp4")
        with pytest.raises(SourceItemGone, match="HTTP 404"):
            await _locate(container, clip.id)
        for _ in range(200):  # rebuilt by a task of its own, off the streaming path
            if clip.id not in await future():
                break
            await asyncio.sleep(0.05)
        assert await future() == {quiz}
        info = await container.playouts.info(ChannelNumber(5))
    assert any("the video is gone (HTTP 404)" in w.message for w in info.warnings)


async def test_local_copies_are_kept_and_played_without_the_site(
    make_container: ContainerFactory, site: tuple[MediaSite, LoopbackServer], tmp_path: Path
) -> None:
    fake, server = site
    async with make_container() as container:
        library_id = await _source(
            container, [f"{server.url}/clip.mp4"], keep_local_copy=True, local_copy_max_mib=64
        )
        (clip,), _ = await container.catalog.search(MediaFilter(library_id=library_id), 0, 9)
        await server.stop()  # a flaky site: the copy plays anyway
        played = await _locate(container, clip.id)
        assert played.path.startswith(str(container.settings.data_dir / "online"))
        assert Path(played.path).stat().st_size == (fake.root / "clip.mp4").stat().st_size
        await server.start()

    http = ServerHttp("", label="t", name="t", headers={})
    client = YtDlpClient(
        "Walks", [f"{server.url}/clip.mp4"], http=http, pace=Pace(0),
        copies=tmp_path / "copies", copies_cap_bytes=1000,
    )  # fmt: skip
    library = RemoteLibrary("online", "Strolls", LibraryKind.OTHER)
    ids = [s.remote_id async for page in client.stamps(library) for s in page]
    (item,) = await client.items(library, ids)
    assert item.technical is not None  # still a playable video, streamed
    assert await client.copy_of(ids[0]) is None  # 1000 bytes is less than the clip
    assert list((tmp_path / "copies").glob("*")) == []
    await client.aclose()

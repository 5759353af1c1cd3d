"""Playing media-server items in a live channel with real FFmpeg: path mapping, direct
streams through the fake servers' stream endpoints, and a server that goes down and comes
back while the channel plays."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.libraries import LibraryKind, PathMapping, SourceKind
from exstreamtv.domain.profiles import StreamProfile
from exstreamtv.domain.schedules import FillerKind, FillerPreset, WeightedCollection
from exstreamtv.errors import SourceUnavailable
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.services.container import Container
from exstreamtv.services.media_locations import MediaLocator
from exstreamtv.services.media_proxy import MediaProxy
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter
from tests.media_servers.fake_jellyfin import TOKEN as JF_TOKEN
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.playback.test_session import check_packets, media_span
from tests.seeding import add_collection, items_schedule
from tests.support import make_clip

TINY = StreamProfile(
    "Tiny",
    width=160,
    height=120,
    fps=25,
    preset="ultrafast",
    video_bitrate_kbps=300,
    gop_seconds=1,
    audio_bitrate_kbps=64,
)


async def _synced_source(
    container: Container,
    kind: SourceKind,
    url: str,
    token: str,
    library_key: str,
    mappings: tuple[PathMapping, ...] = (),
) -> list[int]:
    source = await container.media_servers.create(kind, "Attic", url, SecretStr(token), mappings)
    (library,) = await container.media_servers.select_libraries(source.id, [library_key])
    await container.libraries.scan(library.id)
    items, _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 10)
    return [item.id for item in items]


async def _channel_playing(
    container: Container, item_ids: list[int], fallback: int | None = None
) -> AsyncIterator[bytes]:
    collection = await add_collection(container, "Remote", item_ids)
    schedule = await container.schedules.create(
        replace(items_schedule("Loop", collection), fallback=fallback)
    )
    profile = await container.profiles.create(TINY)
    number = ChannelNumber(5)
    await container.channels.create(ChannelFields(number, "Five", stream_profile_id=profile.id))
    await container.playouts.attach(number, schedule.id)
    return await container.live.open(await container.channels.channel(number))


async def _read(chunks: AsyncIterator[bytes], data: bytearray, done: object) -> None:
    async with asyncio.timeout(45):
        async for chunk in chunks:
            data += chunk
            if done():  # type: ignore[operator]
                return


def _whole(data: bytes | bytearray) -> bytes:
    return bytes(data[: len(data) // PACKET_SIZE * PACKET_SIZE])


async def _probe(path: Path) -> list[str]:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return sorted(done.stdout.split())


async def test_a_plex_item_streams_directly_and_survives_the_server_going_down(
    sqlite_container: Container,
    fake_plex: tuple[FakePlex, LoopbackServer],
    clip_cache: dict[float, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    container = sqlite_container
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.add(movies, "movie", "Clip", duration_ms=3_000, media=clip_cache[3.0])
    ids = await _synced_source(container, SourceKind.PLEX, server.url, TOKEN, movies.key)
    up = container.metrics.media_server_up.labels("1")
    chunks = await _channel_playing(container, ids)
    data = bytearray()

    await _read(chunks, data, lambda: fake.stream_requests >= 1 and media_span(_whole(data)) > 4)
    capture = tmp_path / "remote.ts"
    capture.write_bytes(_whole(bytes(data)))
    assert set(await _probe(capture)) == {"aac", "h264"}
    check_packets(_whole(bytes(data)))
    assert up._value.get() == 1

    await server.stop()
    before = len(data)
    await _read(chunks, data, lambda: up._value.get() == 0 and len(data) > before + 100_000)
    assert any("cannot be reached" in r.getMessage() for r in caplog.records)
    failures = container.metrics.media_server_failures.labels("1", "unreachable")
    assert failures._value.get() >= 1

    served = fake.stream_requests
    await server.start()  # the same port: the server is back
    await _read(chunks, data, lambda: fake.stream_requests > served)
    assert up._value.get() == 1
    check_packets(_whole(bytes(data)))  # the stream never broke: slates filled the outage
    await chunks.aclose()  # type: ignore[attr-defined]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_jellyfin_and_emby_items_stream_through_the_server(
    sqlite_container: Container,
    fake_jellyfin: tuple[FakeJellyfin, LoopbackServer],
    clip_cache: dict[float, Path],
) -> None:
    fake, server = fake_jellyfin
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    fake.catalogue.add(movies, "movie", "Clip", duration_ms=2_000, media=clip_cache[2.0])
    ids = await _synced_source(
        sqlite_container, SourceKind(fake.flavour), server.url, JF_TOKEN, movies.key
    )
    chunks = await _channel_playing(sqlite_container, ids)
    data = bytearray()
    await _read(chunks, data, lambda: fake.stream_requests >= 1 and media_span(_whole(data)) > 3)
    await chunks.aclose()  # type: ignore[attr-defined]
    check_packets(_whole(bytes(data)))
    stream = next(p for p in fake.requests if p.endswith("/stream"))
    assert stream.startswith("/emby/Videos/" if fake.flavour == "emby" else "/Videos/")


async def test_a_mapped_path_that_exists_is_played_from_disk(
    sqlite_container: Container,
    fake_plex: tuple[FakePlex, LoopbackServer],
    place_clip: object,
    clip_cache: dict[float, Path],
    tmp_path: Path,
) -> None:
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.add(movies, "movie", "Here", filename="Here (2020)/Here.mp4")
    fake.catalogue.add(movies, "movie", "Elsewhere", media=clip_cache[1.0])
    local = tmp_path / "mnt" / "movies"
    place_clip(local / "Here (2020)" / "Here.mp4", 1.0)  # type: ignore[operator]
    mapping = (PathMapping("/data/Movies/", str(local)),)
    ids = await _synced_source(
        sqlite_container, SourceKind.PLEX, server.url, TOKEN, movies.key, mapping
    )
    proxy = MediaProxy(sqlite_container.media_servers, sqlite_container.clock)
    locator = MediaLocator(
        sqlite_container.sessions,
        sqlite_container.media_servers,
        sqlite_container.catalog.item,
        proxy,
    )
    elsewhere, here = [await locator.item(i) for i in ids]  # by title
    assert (elsewhere.metadata.title, here.metadata.title) == ("Elsewhere", "Here")
    assert here.path == str(local / "Here (2020)" / "Here.mp4")
    part = next(i for i in movies.items.values() if i.title == "Elsewhere").part_id
    assert elsewhere.path.startswith("http://127.0.0.1:")
    assert TOKEN not in elsewhere.path and server.url not in elsewhere.path
    parts = [p for p in fake.requests if p.startswith("/library/parts/")]
    assert parts == [f"/library/parts/{part}/1579478991/file.mp4"]  # Here's file was not asked

    await server.stop()
    assert (await locator.item(here.id)).path == here.path  # local files need no server
    with pytest.raises(SourceUnavailable, match="cannot be reached"):
        await locator.item(elsewhere.id)
    await proxy.close()


async def _colours(data: bytes, work: Path) -> list[tuple[int, int, int]]:
    """The average colour of every video frame of an MPEG-TS capture."""
    capture = work / "colours.ts"
    capture.write_bytes(data)
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(capture),
            "-vf",
            "scale=1:1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    raw = done.stdout
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw) - 2, 3)]


async def test_the_fallback_filler_plays_while_the_server_is_down(
    sqlite_container: Container,
    fake_plex: tuple[FakePlex, LoopbackServer],
    clip_cache: dict[float, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="exstreamtv")
    container = sqlite_container
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.add(movies, "movie", "Blue", duration_ms=3_000, media=clip_cache[3.0])
    ids = await _synced_source(container, SourceKind.PLEX, server.url, TOKEN, movies.key)
    make_clip(tmp_path / "filler" / "Red (2020).mp4", 2.0, colour="red")
    local = await container.libraries.create(
        "Filler", LibraryKind.MOVIES, [str(tmp_path / "filler")]
    )
    await container.libraries.scan(local.id)
    (red,), _ = await container.catalog.search(MediaFilter(library_id=local.id), 0, 5)
    stand_in = await add_collection(container, "Stand-in", [red.id])
    preset = await container.schedules.create_preset(
        FillerPreset(0, "Stand-in", FillerKind.FALLBACK, (WeightedCollection(stand_in),))
    )
    chunks = await _channel_playing(container, ids, fallback=preset.id)
    data = bytearray()
    await _read(chunks, data, lambda: fake.stream_requests >= 1 and media_span(_whole(data)) > 2)

    await server.stop()
    start = len(data)
    await _read(
        chunks, data, lambda: any("fallback filler" in r.getMessage() for r in caplog.records)
    )
    assert media_span(_whole(data[start:])) < 12  # (the pacer keeps at most ~10 s ahead)
    outage = len(data)
    await _read(chunks, data, lambda: media_span(_whole(data[outage:])) > 12)
    colours = await _colours(_whole(data[outage:]), tmp_path)
    reds = [c for c in colours if c[0] > 150 and c[1] < 80 and c[2] < 80]
    assert len(reds) >= 25  # at least a second of the red stand-in was on air

    served = fake.stream_requests
    await server.start()

    def back() -> bool:
        told = any("back to its programme" in r.getMessage() for r in caplog.records)
        return told and fake.stream_requests > served + 1  # the HEAD check, then FFmpeg

    await _read(chunks, data, back)
    await chunks.aclose()  # type: ignore[attr-defined]
    check_packets(_whole(bytes(data)))
    stand_ins = [r for r in caplog.records if "playing the fallback filler" in r.getMessage()]
    assert len(stand_ins) == 1  # one line per outage, not one per filler item

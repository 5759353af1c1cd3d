"""Guide benchmark: 1,000 channels x 48 h of 22-minute episodes (~130k programmes).

Seeds a fresh SQLite database through the real repositories (media rows, channels, and
playout entries built by the real engine), then times the real HTTP app in process:

* uncached XMLTV (no fragment cached: load, fold, validate, render, gzip of every
  channel): to the last byte, target <= 0.5 s; to the first byte, target <= 50 ms;
* a cached XMLTV response (gzip): target <= 20 ms;
* one channel's playout rebuilt, then the guide: target <= 50 ms;
* ``lineup.json`` for 1,000 channels: target <= 50 ms;
* peak RSS increase over the whole run: target <= 150 MB.

    .venv/bin/python bench/guide.py [--channels 1000] [--hours 48] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import socket
import tempfile
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from exstreamtv.clock import SystemClock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    FileStamp,
    MediaKind,
    MediaMetadata,
    ScannedFile,
    TechnicalInfo,
)
from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import (
    ContentSource,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
)
from exstreamtv.runtime import tune_garbage_collector
from exstreamtv.scheduling.engine import BuildInputs, build
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository
from exstreamtv.web.app import create_app
from figures import Figure, add_json_option, report

EPISODE_MS = 22 * 60_000
SHOWS = 50
EPISODES = 40


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed_media(container: Container, root: Path) -> list[list[Playable]]:
    """SHOWS shows of EPISODES episodes each, as stored media rows."""
    now = datetime.now(UTC)
    async with transaction(container.sessions) as session:
        library = await LibraryRepository(session).create_local(
            "Bench", LibraryKind.SHOWS, [str(root)], now
        )
        files = [
            ScannedFile(
                f"{root}/Show {s}/S01E{e:02d}.mkv",
                FileStamp(1, 1),
                MediaMetadata(
                    MediaKind.EPISODE,
                    f"Episode {e}",
                    show=f"Show {s}",
                    season=1,
                    episode=e,
                    year=2000 + s,
                    plot="A plot.",
                    genres=("Drama",),
                ),
                TechnicalInfo(duration_ms=EPISODE_MS, video_codec="h264", audio_codec="aac"),
            )
            for s in range(SHOWS)
            for e in range(1, EPISODES + 1)
        ]
        await MediaRepository(session).save_scanned(library.id, files, {}, now)
        known = await MediaRepository(session).known_files(library.id)
    by_show: list[list[Playable]] = [[] for _ in range(SHOWS)]
    for index, scanned in enumerate(files):
        media_id = known[scanned.path].id
        meta = scanned.metadata
        by_show[index // EPISODES].append(
            Playable(media_id, EPISODE_MS, meta.title, meta.show, meta.season, meta.episode)
        )
    return by_show


async def seed_channels(container: Container, shows: list[list[Playable]], count: int,
                        hours: int, past: timedelta = timedelta(hours=1)) -> datetime:  # fmt: skip
    """``count`` channels with playouts from ``past`` ago to ``hours`` ahead; returns the
    first playout's start."""
    start = datetime.now(UTC).replace(microsecond=0) - past
    until = datetime.now(UTC) + timedelta(hours=hours)
    for n in range(1, count + 1):
        media = shows[n % SHOWS]
        item = ScheduleItem(ContentSource((1,), PlaybackOrder.SHUFFLE), PlayMode.ONE)
        schedule = Schedule(n, f"s{n}", ScheduleKind.ITEMS, items=(item,), seed=n)
        result = await asyncio.to_thread(
            build, BuildInputs(schedule, {1: media}), None, start, until
        )
        async with transaction(container.sessions) as session:
            channel = await ChannelRepository(session).create(
                ChannelFields(ChannelNumber(n), f"Channel {n}", group="Bench"), start
            )
            await PlayoutRepository(session).replace_from(
                channel.id, start, result.entries, result.cursors
            )
    return start


class Listening(uvicorn.Server):
    """uvicorn, saying when its socket listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a loopback port (in this process), so responses really
    stream: the first byte can be timed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            access_log=False, lifespan="off")  # fmt: skip
    server = Listening(config)
    task = asyncio.create_task(server.serve())
    await server.listening.wait()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def scheduled(
    container: Container, shows: list[list[Playable]], number: ChannelNumber
) -> ChannelNumber:
    """Give channel ``number`` a real schedule (its show, shuffled), so it can be rebuilt."""
    collection = await container.catalog.create_collection(
        Collection(0, f"Show of {number}", CollectionKind.MANUAL,
                   item_ids=tuple(p.id for p in shows[int(str(number)) % SHOWS]))
    )  # fmt: skip
    item = ScheduleItem(ContentSource((collection.id,), PlaybackOrder.SHUFFLE), PlayMode.ONE)
    schedule = await container.schedules.create(
        Schedule(0, f"Schedule of {number}", ScheduleKind.ITEMS, items=(item,))
    )
    await container.playouts.attach(number, schedule.id)
    return number


async def timed(
    client: httpx.AsyncClient, url: str, **headers: str
) -> tuple[float, float, int, bytes]:
    """Seconds to the first and to the last byte, the status, and the raw (still
    compressed) body.

    The client runs in the server's process (over loopback TCP), so it does nothing but
    receive: decoding is left until after the clock stops."""
    started, first = time.perf_counter(), 0.0
    chunks = []
    async with client.stream("GET", url, headers=headers) as response:
        async for chunk in response.aiter_raw():
            first = first or time.perf_counter() - started
            chunks.append(chunk)
    return first, time.perf_counter() - started, response.status_code, b"".join(chunks)


async def run(channels: int, hours: int, work: Path) -> list[Figure]:
    settings = Settings.model_validate(
        {"data_dir": work / "data", "demo": {"enabled": False},
         "playout": {"horizon_hours": hours}, "epg": {"cache_ttl_sec": 600}}
    )  # fmt: skip
    rss_before = peak_rss_mb()
    async with open_container(settings, clock=SystemClock()) as container:
        started = time.perf_counter()
        shows = await seed_media(container, work / "media")
        await seed_channels(container, shows, channels, hours)
        print(f"seeded {channels} channels in {time.perf_counter() - started:.1f}s")
        tune_garbage_collector()  # as `exstreamtv serve` does once start-up is done
        rss_seeded = peak_rss_mb()
        rebuilt = await scheduled(container, shows, ChannelNumber(channels // 2))
        async with (
            serving(create_app(container)) as url,
            httpx.AsyncClient(base_url=url, timeout=60) as client,
        ):
            await timed(client, "/lineup.json")  # warm: the first request loads the channels
            _, lineup_s, lineup_status, _ = await timed(client, "/lineup.json")
            gzip = {"accept-encoding": "gzip"}
            first_s, uncached_s, first, compressed = await timed(client, "/iptv/xmltv.xml", **gzip)
            _, cached_s, again, _ = await timed(client, "/iptv/xmltv.xml", **gzip)
            await container.playouts.build(rebuilt, BuildMode.RESET)
            _, changed_s, changed, _ = await timed(client, "/iptv/xmltv.xml", **gzip)
    assert (lineup_status, first, again, changed) == (200, 200, 200, 200)
    rss_growth = peak_rss_mb() - rss_seeded
    xml = zlib.decompress(compressed, zlib.MAX_WBITS | 16)
    print(f"programmes: {xml.count(b'<programme ')} ({len(xml) / 1e6:.0f} MB of XML, "
          f"{len(compressed) / 1e6:.1f} MB gzip); RSS at start {rss_before:.0f} MB")  # fmt: skip
    return [
        Figure("guide.uncached_s", f"XMLTV {channels} x {hours} h uncached", uncached_s,
               "s", 0.5),
        Figure("guide.uncached_first_byte_ms", "  its first byte", first_s * 1000, "ms", 50),
        Figure("guide.cached_ms", "XMLTV cached (gzip)", cached_s * 1000, "ms", 20),
        Figure("guide.one_change_ms", "one channel rebuilt, then the guide",
               changed_s * 1000, "ms", 50),
        Figure("guide.lineup_ms", f"lineup.json, {channels} channels", lineup_s * 1000,
               "ms", 50),
        Figure("guide.peak_rss_growth_mb", "peak RSS increase over the seeded database",
               rss_growth, "MB", 150),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=48)
    add_json_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-guide-") as work:
        figures = asyncio.run(run(args.channels, args.hours, Path(work)))
    report(figures, args.json)


if __name__ == "__main__":
    main()

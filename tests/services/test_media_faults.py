"""A scheduled file that turns to garbage while its channel is watched: the stream skips it
without touching the circuit breaker, the item is marked missing with FFmpeg's reason, the
channel's future leaves it and `/playout/info` names it (real FFmpeg, SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import FileStamp, MediaKind, MediaMetadata, ScannedFile
from exstreamtv.ffmpeg.probe import probe_file
from exstreamtv.formats.conformance import Conformance
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.services.container import Container
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.tables import MediaItemRow
from tests.seeding import add_channel, add_collection, items_schedule
from tests.support import build_settings, noise


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """An hour of playout: the items here last 3 s, and a rebuild is per entry."""
    return build_settings(tmp_path / "data", database_url, playout={"horizon_hours": 1})


async def catalogue(container: Container, files: list[Path], name: str = "L") -> list[int]:
    """Items for real files (probed), as a scan would store them in a library ``name`` of
    their folder; returns their ids."""
    now = container.clock.now()
    scanned = [
        ScannedFile(
            str(path),
            FileStamp(path.stat().st_size, path.stat().st_mtime_ns),
            MediaMetadata(MediaKind.EPISODE, path.stem, show="S", season=1, episode=n),
            await probe_file(path),
        )
        for n, path in enumerate(files, start=1)
    ]
    async with transaction(container.sessions) as session:
        library = await LibraryRepository(session).create_local(
            name, LibraryKind.SHOWS, [str(files[0].parent)], now
        )
        media = MediaRepository(session)
        await media.save_scanned(library.id, scanned, {}, now)
        known = await media.known_files(library.id)
    return [known[str(path)].id for path in files]


async def test_a_file_gone_bad_while_watched_is_skipped_marked_and_leaves_the_schedule(
    container: Container, place_clip: Callable[[Path, float], Path], tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    bad = place_clip(folder / "bad.mp4", 3.0)
    good = place_clip(folder / "good.mp4", 3.0)
    ids = await catalogue(container, [bad, good])
    collection = await add_collection(container, "S", ids)
    schedule = await container.schedules.create(items_schedule("S", collection))
    channel = await add_channel(container, "9")
    await container.playouts.attach(channel.number, schedule.id)
    bad.unlink()  # replaced on disk by garbage after it was scanned (a hard link: unlink first)
    bad.write_bytes(noise(200_000))

    checker = Conformance()
    tuned = await container.streaming.tune(channel.number)
    chunks: AsyncIterator[bytes] = aiter(tuned)

    async def missing_named() -> bool:
        info = await container.playouts.info(channel.number)
        return any(w.code == "missing_media" and "bad.mp4" in w.message for w in info.warnings)

    async with asyncio.timeout(60):
        async for chunk in chunks:
            checker.feed(chunk)
            if checker.report.packets > 2000 and await missing_named():
                break
    await chunks.aclose()  # type: ignore[attr-defined]

    assert container.supervisor.breaker_state("9") is BreakerState.CLOSED
    faults = container.metrics.registry.get_sample_value(
        "exstreamtv_stream_faults_total", {"channel": "9", "kind": "media"}
    )
    assert faults == 1
    async with container.sessions() as session:
        row = await session.get(MediaItemRow, ids[0])
    assert row is not None and row.state == "missing"
    assert row.missing_reason and "Invalid data" in row.missing_reason
    assert checker.report.ok, checker.report.summary()

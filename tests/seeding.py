"""Catalogue rows for playout tests, written straight through the repositories (no files,
no ffprobe), plus a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    FileStamp,
    MediaKind,
    MediaMetadata,
    ScannedFile,
    TechnicalInfo,
)
from exstreamtv.domain.schedules import (
    ContentSource,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
)
from exstreamtv.services.container import Container
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import KnownFile, MediaRepository

MIN = 60_000
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


@dataclass
class ManualClock:
    """A clock that only moves when the test says so."""

    current: datetime = T0
    ticks: float = field(default=0.0)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        self.ticks += 0.001
        return self.ticks

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


async def add_show(
    container: Container, show: str, minutes: Sequence[float], library: str | None = None
) -> list[int]:
    """Episodes 1..n of season 1 of ``show`` lasting ``minutes`` each; returns their ids."""
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        libraries = LibraryRepository(session)
        name = library or f"lib-{show}"
        lib = await libraries.by_name(name) or await libraries.create_local(
            name, LibraryKind.MIXED, [f"/media/{name}"], now
        )
        files = [
            ScannedFile(
                f"/media/{name}/{show}/e{n}.mkv",
                FileStamp(1, 1),
                MediaMetadata(MediaKind.EPISODE, f"{show} {n}", show=show, season=1, episode=n),
                TechnicalInfo(round(length * MIN)),
            )
            for n, length in enumerate(minutes, start=1)
        ]
        media = MediaRepository(session)
        await media.save_scanned(lib.id, files, {}, now)
        known: dict[str, KnownFile] = await media.known_files(lib.id)
    return [known[f.path].id for f in files]


async def add_collection(container: Container, name: str, item_ids: Sequence[int]) -> int:
    """A manual collection of ``item_ids`` (in order); returns its id."""
    collection = Collection(0, name, CollectionKind.MANUAL, item_ids=tuple(item_ids))
    return (await container.catalog.create_collection(collection)).id


def items_schedule(
    name: str, collection_id: int, order: PlaybackOrder = PlaybackOrder.SEASON_EPISODE
) -> Schedule:
    """One looping item that plays ``collection_id`` one programme at a time."""
    item = ScheduleItem(ContentSource((collection_id,), order), PlayMode.ONE)
    return Schedule(0, name, ScheduleKind.ITEMS, items=(item,))


async def add_channel(container: Container, number: str, name: str | None = None) -> Channel:
    fields = ChannelFields(ChannelNumber.parse(number), name or f"Channel {number}")
    return await container.channels.create(fields)

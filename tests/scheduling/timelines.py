"""Helpers for engine tests: tiny collections, and readable views of timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from exstreamtv.domain.playout import EntryKind, Playable, PlayoutEntry
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    PlaybackOrder,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    WeightedCollection,
)
from exstreamtv.scheduling.engine import BuildInputs, BuildResult, build

MIN = 60_000
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def episodes(count: int, minutes: int, *, show: str = "Show", first_id: int = 1) -> list[Playable]:
    return [
        Playable(first_id + n, minutes * MIN, f"{show} {n + 1}", show, 1, n + 1)
        for n in range(count)
    ]


def clips(seconds: Sequence[int], *, first_id: int = 900) -> list[Playable]:
    return [Playable(first_id + n, s * 1000, f"clip {n}") for n, s in enumerate(seconds)]


def source(
    *collection_ids: int, order: PlaybackOrder = PlaybackOrder.SEASON_EPISODE
) -> ContentSource:
    return ContentSource(tuple(collection_ids), order)


def preset(preset_id: int, kind: FillerKind, collection_id: int, **fields: object) -> FillerPreset:
    return FillerPreset(
        preset_id, f"{kind.value}-{preset_id}", kind, (WeightedCollection(collection_id),),
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def items_schedule(*items: ScheduleItem, tz: str = "UTC", fallback: int | None = None) -> Schedule:
    return Schedule(1, "test", ScheduleKind.ITEMS, tz, items=items, fallback=fallback)


def run(
    schedule: Schedule,
    collections: dict[int, list[Playable]],
    presets: Sequence[FillerPreset] = (),
    *,
    hours: float = 6,
    start: datetime = START,
) -> BuildResult:
    inputs = BuildInputs(schedule, collections, {p.id: p for p in presets})
    return build(inputs, None, start, start + timedelta(hours=hours))


def at(hour: int, minute: int = 0, *, day: datetime = START) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def local(entry: PlayoutEntry, tz: str) -> time:
    return entry.start.astimezone(ZoneInfo(tz)).time()


def shape(entries: Sequence[PlayoutEntry]) -> list[tuple[str, int | None, int]]:
    """(kind, media id, seconds) per entry: a compact, hand-checkable view."""
    return [(e.kind.value, e.media_id, e.duration_ms // 1000) for e in entries]


def contents(entries: Sequence[PlayoutEntry]) -> list[PlayoutEntry]:
    return [e for e in entries if e.kind is EntryKind.CONTENT]


def assert_contiguous(entries: Sequence[PlayoutEntry], start_ms: int) -> None:
    expected = start_ms
    for entry in entries:
        assert entry.start_ms == expected, entry
        assert entry.finish_ms > entry.start_ms, entry
        if entry.media_id is not None:
            assert entry.out_point_ms - entry.in_point_ms == entry.duration_ms, entry
        expected = entry.finish_ms

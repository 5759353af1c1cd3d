"""The demo channels' schedules and filler (pure values; ids come from the caller).

* **Demo Shows** (channel 1): a ``slots`` schedule in UTC, a slot every 30 minutes
  alternating *Color Bars Theater* (on the hour) and *Tone Patrol* (on the half hour),
  each flooding its slot in episode order; every episode is followed by the station
  ident (tail filler), and the ident also fills the end of each slot (fallback).
* **Demo Movies** (channel 2): an ``items`` schedule that floods the movies in shuffle
  order with the ident as pre-roll, and starts over with a new movie at midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    TimeSlot,
    WeightedCollection,
)

FILLER_COLLECTION = "Demo Filler"
IDENT_SECONDS = 10
SLOT_MINUTES = 30


@dataclass(frozen=True, slots=True)
class DemoFiller:
    """Ids of the demo's filler presets."""

    tail: int
    pre_roll: int
    fallback: int


def demo_presets(filler_collection_id: int) -> list[FillerPreset]:
    """The ident as tail (one ident after each programme), pre-roll and fallback filler."""
    ident = (WeightedCollection(filler_collection_id),)
    return [
        FillerPreset(
            0,
            "Demo Ident (tail)",
            FillerKind.TAIL,
            ident,
            tail_boundary_minutes=None,
            tail_fixed_seconds=IDENT_SECONDS,
        ),
        FillerPreset(0, "Demo Ident (pre-roll)", FillerKind.PRE_ROLL, ident),
        FillerPreset(0, "Demo Ident (fallback)", FillerKind.FALLBACK, ident),
    ]


def shows_schedule(shows: tuple[int, int], filler: DemoFiller) -> Schedule:
    """Slots every 30 minutes, alternating the two show collections ``shows``."""
    slots = tuple(
        TimeSlot(
            start=time(minute // 60, minute % 60),
            source=ContentSource((shows[n % 2],), PlaybackOrder.SEASON_EPISODE),
            mode=PlayMode.FLOOD,
            filler=FillerSet(tail=filler.tail),
        )
        for n, minute in enumerate(range(0, 24 * 60, SLOT_MINUTES))
    )
    return Schedule(
        0, "Demo Shows", ScheduleKind.SLOTS, "UTC", slots=slots, fallback=filler.fallback
    )


def movies_schedule(movies: int, filler: DemoFiller, seed: int) -> Schedule:
    """Movies in shuffle order with pre-roll, flooding until midnight UTC, then again."""
    source = ContentSource((movies,), PlaybackOrder.SHUFFLE)
    with_ident = FillerSet(pre_roll=filler.pre_roll)
    items = (
        ScheduleItem(source, PlayMode.FLOOD, filler=with_ident),
        ScheduleItem(source, PlayMode.ONE, fixed_start=time(0, 0), filler=with_ident),
    )
    return Schedule(
        0, "Demo Movies", ScheduleKind.ITEMS, "UTC", items=items, fallback=filler.fallback,
        seed=seed,
    )  # fmt: skip

"""From an understood sentence to a weekly slot grid: the plan of a new channel.

Every minute of the week (in the schedule's local time) gets the collections of the last
segment that covers it, or the rest-of-the-week content (what the sentence named for "the
rest of the time", else a mix of every segment's collections), so the channel is never
empty. A slot starts wherever that changes; equal starts on several weekdays are one slot.
Identical picks become one collection. The filler is what the sentence named, else the
library's shorts and idents, else its music videos (when the plan does not air them).

Pure: the understanding and the library's facets in, a :class:`ChannelPlan` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from exstreamtv.domain.channel_plans import (
    DAY_MINUTES,
    EVERY_DAY,
    ChannelPlan,
    ContentPick,
    LibraryFacets,
    PlannedSlot,
    Understanding,
)
from exstreamtv.domain.media import MediaKind
from exstreamtv.domain.schedules import (
    ContentSource,
    PlayMode,
    Schedule,
    ScheduleKind,
    TimeSlot,
)

WEEK_MINUTES = 7 * DAY_MINUTES
MAX_NAME = 60
SHORTS = ContentPick("Shorts and Idents", (MediaKind.OTHER,))
MUSIC_VIDEOS = ContentPick("Music Videos", (MediaKind.MUSIC_VIDEO,))


def plan_channel(
    found: Understanding, facets: LibraryFacets, sentence: str, *, mode: str = "rules"
) -> ChannelPlan:
    """The plan of ``found``; with no segment, a plan without collections or slots."""
    collections: list[ContentPick] = []

    def indices(picks: tuple[ContentPick, ...]) -> tuple[int, ...]:
        found_at = []
        for pick in picks:
            keys = [c.key for c in collections]
            if pick.key not in keys:
                collections.append(pick)
                keys.append(pick.key)
            found_at.append(keys.index(pick.key))
        return tuple(dict.fromkeys(found_at))

    segment_keys = [indices(segment.picks) for segment in found.segments]
    every = tuple(sorted({i for key in segment_keys for i in key}))
    rest = indices(found.rest) if found.rest else every
    # Each minute: (collections, which segment put them there; -1 for the rest), so the
    # times the sentence named stay slots even when the rest plays the same collections.
    week: list[tuple[tuple[int, ...], int]] = [(rest, -1)] * WEEK_MINUTES
    for number, (segment, key) in enumerate(zip(found.segments, segment_keys, strict=True)):
        for day in segment.weekdays:
            for start, end in segment.windows:
                for minute in range(start, min(end, start + WEEK_MINUTES)):
                    week[(day * DAY_MINUTES + minute) % WEEK_MINUTES] = (key, number)
    slots = _slots(week, collections) if collections else []
    filler, notes = _filler(found, facets, collections)
    if found.rest is None and found.segments and (rest, -1) in week:
        mix = " & ".join(collections[i].label for i in rest[:3])
        notes = (f"The sentence does not say what plays at other times: {mix}.", *notes)
    return ChannelPlan(
        sentence=sentence,
        name=found.name or _name(collections, segment_keys),
        collections=tuple(collections),
        slots=tuple(slots),
        filler=filler,
        notes=found.notes + notes,
        mode=mode,
    )


def _slots(
    week: list[tuple[tuple[int, ...], int]], collections: list[ContentPick]
) -> list[PlannedSlot]:
    starts: dict[tuple[int, tuple[int, ...]], set[int]] = {}
    for minute, (key, origin) in enumerate(week):
        if (key, origin) != week[minute - 1]:  # minute 0 compares with the end of Sunday
            day, at = divmod(minute, DAY_MINUTES)
            starts.setdefault((at, key), set()).add(day)
    if not starts:  # the same content all week
        starts[(0, week[0][0])] = set(EVERY_DAY)
    slots = []
    for (at, key), days in sorted(starts.items(), key=lambda x: (x[0][0], min(x[1]))):
        title = " & ".join(collections[i].label for i in key[:3])
        weekdays = frozenset() if days == EVERY_DAY else frozenset(days)
        slots.append(PlannedSlot(time(at // 60, at % 60), weekdays, key, title))
    return slots


def _filler(
    found: Understanding, facets: LibraryFacets, collections: list[ContentPick]
) -> tuple[ContentPick | None, tuple[str, ...]]:
    if found.filler is not None:
        return found.filler, ()
    if facets.kinds.get(MediaKind.OTHER, 0) > 0:
        return SHORTS, ()
    airs_videos = any(MediaKind.MUSIC_VIDEO in c.kinds for c in collections)
    if facets.kinds.get(MediaKind.MUSIC_VIDEO, 0) > 0 and not airs_videos:
        return MUSIC_VIDEOS, ()
    return None, (
        "The library has no short items (idents, trailers, music videos) to use as filler: "
        "time between programmes will show the offline slate.",
    )


def _name(collections: list[ContentPick], keys: list[tuple[int, ...]]) -> str:
    order = list(dict.fromkeys(i for key in keys for i in key)) or list(range(len(collections)))
    labels = [collections[i].label for i in order[:3]]
    return (" & ".join(labels) or "New Channel")[:MAX_NAME]


def as_schedule(
    plan: ChannelPlan,
    *,
    name: str,
    timezone: str,
    collection_ids: Sequence[int],
    fallback: int | None = None,
) -> Schedule:
    """The plan as a ``slots`` schedule over stored (or, for a preview, stand-in)
    collection ids, ``collection_ids[i]`` for ``plan.collections[i]``. Each slot floods
    its collections in rotation, in the order of its first collection, and the
    ``fallback`` filler preset pads what is left of a slot."""
    slots = tuple(
        TimeSlot(
            start=slot.start,
            source=ContentSource(
                tuple(collection_ids[i] for i in slot.collections),
                plan.collections[slot.collections[0]].order,
            ),
            weekdays=slot.weekdays,
            mode=PlayMode.FLOOD,
        )
        for slot in plan.slots
    )
    return Schedule(0, name, ScheduleKind.SLOTS, timezone, slots=slots, fallback=fallback)

"""A channel's fallback filler standing in for programmes whose media server is down.

:func:`outage_lookup` is the live channels' ``what_plays``: the usual
:func:`~exstreamtv.playback.channels.schedule_lookup`, except that when the item on air
cannot be reached (its media server is down), the channel plays items of its schedule's
fallback filler preset instead (one after the other, each from its start, never past the
end of the programme they replace). Items of the filler that cannot be reached either are
skipped. Without a fallback filler, or when none of it can play, the channel shows the
"Unavailable" slate, as for any missing item; either way the programme is asked for again
as soon as the stand-in ends, so playback returns by itself when the server is back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.domain.channels import Channel
from exstreamtv.domain.media import MediaItem
from exstreamtv.domain.playout import CUT_FADE_MS
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.playback.channels import NowLookup, schedule_lookup
from exstreamtv.playback.session import Segment, WhatPlays
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.schedules import FillerPresetRepository, ScheduleRepository

log = logging.getLogger(__name__)
ItemLookup = Callable[[int], Awaitable[MediaItem]]


class FallbackFiller:
    """The present items of a channel's fallback filler preset (none when it has none)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def items(self, channel: Channel) -> list[MediaItem]:
        if channel.schedule_id is None:
            return []
        async with self._sessions() as session:
            try:
                schedule = await ScheduleRepository(session).get(channel.schedule_id)
                if schedule.fallback is None:
                    return []
                preset = await FillerPresetRepository(session).get(schedule.fallback)
                collections = CollectionRepository(session)
                found: list[MediaItem] = []
                for weighted in preset.collections:
                    collection = await collections.get(weighted.collection_id)
                    found += await collections.items(collection)
            except NotFound:  # deleted meanwhile: no filler
                return []
        return [item for item in found if item.duration_ms > 0]


@dataclass(slots=True)
class _Outage:
    """Per-channel state of :func:`outage_lookup` (lives as long as the channel's session)."""

    unreachable: bool = False
    standing_in: bool = False  # the fallback filler is on air in place of the programme
    turn: int = 0


def outage_lookup(
    channel: Channel, now: NowLookup, item: ItemLookup, filler: FallbackFiller
) -> WhatPlays:
    """``what_plays`` for ``channel`` that plays its fallback filler during an outage."""
    state = _Outage()

    async def tracked(item_id: int) -> MediaItem:
        try:
            return await item(item_id)
        except SourceUnavailable:
            state.unreachable = True
            raise

    scheduled = schedule_lookup(channel, now, tracked)

    async def what_plays(at_time: datetime) -> Segment:
        state.unreachable = False
        segment = await scheduled(at_time)
        if not state.unreachable:
            if state.standing_in:
                state.standing_in = False
                log.info("channel %s: back to its programme after the fallback filler",
                         channel.number, extra={"channel": str(channel.number)})  # fmt: skip
            return segment
        return await _stand_in(at_time) or segment

    async def _stand_in(at_time: datetime) -> Segment | None:
        playing = await now(channel.number, at_time)
        if playing is None:
            return None
        remaining = playing.entry.finish_ms - playing.entry.start_ms - playing.offset_ms
        candidates = await filler.items(channel)
        for step in range(len(candidates)):
            candidate = candidates[(state.turn + step) % len(candidates)]
            try:
                located = await item(candidate.id)
            except (SourceUnavailable, NotFound):
                continue
            state.turn += step + 1
            if not state.standing_in:
                state.standing_in = True
                log.info(
                    "channel %s: the programme's media server cannot be reached; playing the"
                    " fallback filler until it is back",
                    channel.number, extra={"channel": str(channel.number)},
                )  # fmt: skip
            length = min(max(1, remaining), located.duration_ms)
            fade = min(CUT_FADE_MS, length // 2) if length < located.duration_ms else 0
            return Segment(
                located.path, 0, length, technical=located.technical, media_id=located.id,
                fade_out_ms=fade,
            )  # fmt: skip
        return None

    return what_plays

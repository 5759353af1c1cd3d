"""Catch-up segments made on request: one render per segment however many ask, the next
ones made ahead (not past what has aired, not when the FFmpeg pool is busy), in-order
segments continuing the previous one's splicer, a cache bounded in bytes, and refusals
when the cap is full, a render fails or the channel goes."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import cast

import pytest

from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.formats.splice import Splicer
from exstreamtv.playback.catchup_segments import AHEAD, PER_SPAN, CatchupSegments
from exstreamtv.playback.session import ChannelSession

FRAMES = {256: 3600}


@dataclass
class FakeRender:
    """Stands in for a replay session's render: ``size`` bytes once ``gate`` opens."""

    sequence: int
    splicer: Splicer
    continued: bool
    gate: asyncio.Event
    size: int
    fail: bool = False

    async def render(self) -> bytes:
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("FFmpeg exploded")
        return bytes([self.sequence % 256]) * self.size


@dataclass
class Renders:
    """The ``make`` callback: records every render it is asked for."""

    size: int = 100
    made: list[FakeRender] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    failing: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.gate.set()

    def make(self, sequence: int, splicer: Splicer | None) -> ChannelSession:
        render = FakeRender(
            sequence, splicer or Splicer(FRAMES), splicer is not None, self.gate, self.size,
            fail=sequence in self.failing,
        )  # fmt: skip
        self.made.append(render)
        return cast(ChannelSession, render)

    def sequences(self) -> list[int]:
        return [render.sequence for render in self.made]


async def settle(segments: CatchupSegments) -> None:
    """Let the renders started ahead finish (they are instant here)."""
    for _ in range(1000):
        if not segments.rendering:
            return
        await asyncio.sleep(0)
    raise AssertionError("the renders made ahead did not finish")


async def test_viewers_asking_for_one_segment_at_once_share_one_render() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders()
    renders.gate.clear()
    asked = [asyncio.create_task(segments.segment("7@1-2", 0, 1, renders.make)) for _ in range(5)]
    await asyncio.sleep(0.05)
    renders.gate.set()
    assert {len(data) for data in await asyncio.gather(*asked)} == {100}
    assert renders.sequences() == [0]
    await segments.segment("7@1-2", 0, 1, renders.make)  # from the cache
    assert renders.sequences() == [0]


async def test_the_next_segments_are_made_ahead_in_order_each_continuing_the_one_before() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders()
    await segments.segment("7@1-2", 0, 100, renders.make)
    await settle(segments)
    assert renders.sequences() == list(range(AHEAD + 1))
    assert [render.continued for render in renders.made] == [False] + [True] * AHEAD
    for before, after in itertools.pairwise(renders.made):
        assert after.splicer is not before.splicer  # a copy: a second render of it is clean

    await segments.segment("7@1-2", 1, 100, renders.make)  # made ahead: served at once
    await settle(segments)
    assert renders.sequences() == list(range(AHEAD + 2))


async def test_nothing_is_made_ahead_past_what_has_aired_or_when_the_pool_is_busy() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders()
    await segments.segment("7@1-2", 4, 5, renders.make)  # the last aired segment
    await settle(segments)
    assert renders.sequences() == [4]

    pressure = [0.5]
    busy, renders = CatchupSegments(lambda: pressure[0]), Renders()
    await busy.segment("7@1-2", 0, 100, renders.make)
    await settle(busy)
    assert renders.sequences() == [0]  # live channels come first


async def test_a_seek_starts_afresh_and_a_full_process_cap_refuses() -> None:
    pressure = [0.0]
    segments, renders = CatchupSegments(lambda: pressure[0]), Renders()
    await segments.segment("7@1-2", 40, 100, renders.make)
    assert renders.made[0].continued is False  # nothing before it was made
    pressure[0] = 1.0
    with pytest.raises(SourceUnavailable, match="cap"):
        await segments.segment("7@1-2", 10, 100, renders.make)
    assert await segments.segment("7@1-2", 41, 100, renders.make)  # made: still served


async def test_a_failed_render_is_a_refusal_and_is_tried_again_next_time() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders(failing={0})
    with pytest.raises(SourceUnavailable, match="segment 0"):
        await segments.segment("7@1-2", 0, 1, renders.make)
    renders.failing.clear()
    assert await segments.segment("7@1-2", 0, 1, renders.make)
    assert renders.sequences() == [0, 0]


async def test_the_cache_is_bounded_in_bytes_oldest_first() -> None:
    segments, renders = CatchupSegments(lambda: 0.0, cache_bytes=350), Renders()
    for sequence in range(6):
        await segments.segment("7@1-2", sequence * 10, 1000, renders.make)
        await settle(segments)
    assert segments.cached_bytes <= 350
    made = len(renders.made)
    await segments.segment("7@1-2", 0, 1000, renders.make)  # long gone: made again
    assert len(renders.made) > made


async def test_a_removed_channel_cancels_its_renders_and_drops_its_segments() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders()
    await segments.segment("7@1-2", 0, 1, renders.make)
    renders.gate.clear()
    waiting = asyncio.create_task(segments.segment("7@1-2", 5, 6, renders.make))
    await asyncio.sleep(0.05)
    other = asyncio.create_task(segments.segment("8@1-2", 0, 1, renders.make))
    await asyncio.sleep(0.05)

    segments.forget("7@")

    with pytest.raises(NotFound):
        await waiting
    assert segments.rendering == 1  # channel 8's
    renders.gate.set()
    assert await other == bytes([0]) * 100
    assert segments.cached_bytes == 100  # channel 8's only
    await segments.close()
    assert segments.cached_bytes == 0


async def test_a_seek_cancels_the_renders_no_one_waits_for_and_a_flood_is_refused() -> None:
    segments, renders = CatchupSegments(lambda: 0.0), Renders()
    await segments.segment("7@1-2", 0, 1000, renders.make)
    renders.gate.clear()  # what is made ahead (1 and 2) now hangs, unwanted
    await asyncio.sleep(0)
    assert segments.rendering == AHEAD

    asked = {
        sequence: asyncio.create_task(segments.segment("7@1-2", sequence, 1000, renders.make))
        for sequence in range(10, 10 + 10 * (PER_SPAN + 3), 10)
    }
    await asyncio.sleep(0.05)
    refused = [n for n, task in asked.items() if task.done() and task.exception() is not None]
    assert segments.rendering == PER_SPAN  # never more for one span
    assert len(refused) == len(asked) - PER_SPAN
    for sequence in refused:
        with pytest.raises(SourceUnavailable, match="being made already"):
            asked[sequence].result()
    renders.gate.set()
    served = [await task for task in asked.values() if not task.done() or not task.exception()]
    assert len(served) == PER_SPAN
    made = renders.sequences().count(1)
    await segments.segment("7@1-2", 1, 1000, renders.make)
    assert renders.sequences().count(1) == made + 1  # a cancelled render left nothing

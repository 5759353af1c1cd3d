"""HLS catch-up segments: made on request from the playout, kept a while, made one ahead.

A catch-up playlist lists every segment of its span up front (``playback/hls.py``
:func:`~exstreamtv.playback.hls.span_playlist`), so a player asks for them in order and
jumps when its viewer seeks. Segment ``n`` is a :meth:`ChannelSession.render` of its part
of the span, on a clock held at that part's start, with media time ``START_MEDIA_MS + n *
SEGMENT_MS``: timestamps run on across segments exactly as the grid says, wherever a
player starts, and the segment is spliced as the channel aired (same profile, filler,
slates). A render starts with a keyframe, so every segment decodes on its own.

* **Order.** A segment whose predecessor has just been made continues that render's
  splicer (a copy), so a player reading in order gets one stream: continuity counters
  and clocks run on. After a seek there is nothing to continue, and the render starts
  afresh (a player resets its demuxer on a seek).
* **Ahead.** Once a segment is asked for, the next :data:`AHEAD` are made too (one after
  the other, each continuing the one before), unless the FFmpeg pool is at least
  :data:`AHEAD_PRESSURE` full: live channels come first.
* **Shared.** Viewers asking for one segment at once share its render; made segments
  stay in a cache bounded by :data:`CACHE_BYTES` (least recently used out first).
* **Bounded.** At most :data:`PER_SPAN` renders of one span run at once (a span's
  audience holds one tuner, so this bounds them all): a request past that first cancels
  the span's renders that no one is waiting for (made ahead of a position the player
  seeked away from), and is refused (503) if that is not enough, so a client asking for
  a thousand segments at once cannot start a thousand renders.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.formats.splice import Splicer
from exstreamtv.playback.session import ChannelSession

log = logging.getLogger(__name__)
AHEAD = 2
AHEAD_PRESSURE = 0.5
PER_SPAN = AHEAD + 2  # in order: the one asked for and AHEAD; plus one for a seek
CACHE_BYTES = 64 * 1024 * 1024

SegmentKey = tuple[str, int]  # (the span's key, the segment's number)
MakeRender = Callable[[int, Splicer | None], ChannelSession]


@dataclass(frozen=True, slots=True)
class _Made:
    data: bytes
    splicer: Splicer  # as it was at the segment's end: the next one continues from it


class CatchupSegments:
    """Rendered catch-up segments of every span, and the renders running now."""

    def __init__(self, pressure: Callable[[], float], cache_bytes: int = CACHE_BYTES) -> None:
        self._pressure = pressure
        self._cache_bytes = cache_bytes
        self._made: OrderedDict[SegmentKey, _Made] = OrderedDict()
        self._size = 0
        self._making: dict[SegmentKey, asyncio.Task[_Made]] = {}
        self._waiting: dict[SegmentKey, int] = {}  # requests waiting for each render

    @property
    def rendering(self) -> int:
        """Segments being made now."""
        return len(self._making)

    @property
    def cached_bytes(self) -> int:
        return self._size

    async def segment(self, span_key: str, sequence: int, aired: int, make: MakeRender) -> bytes:
        """Segment ``sequence`` of the span named ``span_key``: from the cache, from its
        running render, or from a new one (``make(sequence, splicer)`` builds it); then
        the next ones are made ahead, up to the ``aired`` segments that have aired. Raises
        SourceUnavailable when no render can start (the FFmpeg cap) or it failed, NotFound
        when the channel was removed meanwhile."""
        made = await self._get(span_key, sequence, make)
        self._make_ahead(span_key, sequence, aired, make)
        return made.data

    def forget(self, prefix: str) -> None:
        """Drop every segment and render of the spans whose key starts with ``prefix``
        (a channel ``"7@"`` that was removed or disabled)."""
        for key in [key for key in self._made if key[0].startswith(prefix)]:
            self._size -= len(self._made.pop(key).data)
        for key, task in list(self._making.items()):
            if key[0].startswith(prefix):
                task.cancel()

    async def close(self) -> None:
        """Cancel every render (and so stop its FFmpeg)."""
        tasks = list(self._making.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._made.clear()
        self._size = 0

    async def _get(self, span_key: str, sequence: int, make: MakeRender) -> _Made:
        key = (span_key, sequence)
        made = self._made.get(key)
        if made is not None:
            self._made.move_to_end(key)
            return made
        task = self._making.get(key)
        if task is None:
            if self._pressure() >= 1.0:
                raise SourceUnavailable("catch-up cannot start: the FFmpeg process cap is reached")
            if self._running(span_key) >= PER_SPAN:
                self._cancel_unwanted(span_key)
            if self._running(span_key) >= PER_SPAN:
                raise SourceUnavailable(
                    f"{PER_SPAN} segments of this span are being made already; ask again soon"
                )
            task = self._start(key, make)
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:  # shielded: a player that gives up does not waste the render for the next one
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise NotFound(f"{span_key}: the channel was removed or disabled") from None
            raise
        finally:
            left = self._waiting.pop(key) - 1
            if left:
                self._waiting[key] = left

    def _running(self, span_key: str) -> int:
        return sum(1 for key in self._making if key[0] == span_key)

    def _cancel_unwanted(self, span_key: str) -> None:
        """Cancel the span's renders no request waits for (made ahead of a position the
        player has left)."""
        for key, task in list(self._making.items()):
            if key[0] == span_key and not self._waiting.get(key):
                task.cancel()
                del self._making[key]  # its done callback finds it gone

    def _start(self, key: SegmentKey, make: MakeRender) -> asyncio.Task[_Made]:
        task = asyncio.create_task(self._render(key, make), name=f"catchup-{key[0]}-{key[1]}")
        self._making[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    async def _render(self, key: SegmentKey, make: MakeRender) -> _Made:
        span_key, sequence = key
        before = self._making.get((span_key, sequence - 1))
        if before is not None:  # the one before is being made: continue from it
            await asyncio.wait([before])
        previous = self._made.get((span_key, sequence - 1))
        splicer = None if previous is None else copy.deepcopy(previous.splicer)
        session = make(sequence, splicer)
        try:
            data = await session.render()
        except NotFound:
            raise
        except Exception as err:
            log.exception("catch-up segment %d of %s could not be made", sequence, span_key)
            raise SourceUnavailable(f"segment {sequence} of {span_key} could not be made") from err
        made = _Made(data, session.splicer)
        self._keep(key, made)
        return made

    def _finished(self, key: SegmentKey, task: asyncio.Task[_Made]) -> None:
        if self._making.get(key) is task:
            del self._making[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure is the requester's answer, not a leak

    def _keep(self, key: SegmentKey, made: _Made) -> None:
        self._made[key] = made
        self._size += len(made.data)
        while self._size > self._cache_bytes and len(self._made) > 1:
            _, dropped = self._made.popitem(last=False)
            self._size -= len(dropped.data)

    def _make_ahead(self, span_key: str, sequence: int, aired: int, make: MakeRender) -> None:
        """Start the next :data:`AHEAD` aired segments that are neither made nor being made."""
        for ahead in range(sequence + 1, min(sequence + 1 + AHEAD, aired)):
            key = (span_key, ahead)
            if key in self._made or key in self._making:
                continue
            if self._pressure() >= AHEAD_PRESSURE or self._running(span_key) >= PER_SPAN:
                return
            self._start(key, make)

"""The pacer (work-ahead buffer → wall-clock rate) and the GOP cache of one channel.

FFmpeg runs unpaced (no ``-re``): it transcodes as fast as it can until this buffer is
``work_ahead`` seconds of media ahead of what viewers have been given, then the producer
stops reading its pipe and FFmpeg blocks on backpressure. That keeps an item boundary
invisible: the next FFmpeg starts while seconds of the last one are still buffered.

Packets leave at wall-clock rate, timed by the PCR (27 MHz; FFmpeg carries it on the video
PID): one PCR is mapped to the monotonic clock (:meth:`Pacer.anchor`) and a packet is due at
``base + (pcr - base_pcr) / 27e6``; packets without a PCR travel with the previous one. The
channel anchors the PCR of *now* (its wall clock) to the present moment, so the frame for
wall time *t* leaves at *t* for the whole session (up to 10 ms early: a timer wakes late,
never early, so packets due that soon go with the batch). Without an anchor the first
packet's PCR is due at once.

The GOP cache keeps the last PAT, the last PMT and the packets since the last video keyframe
(the random-access indicator on the video PID). A joining viewer gets those first, so it
decodes a picture at once instead of waiting up to a GOP for the next keyframe. PSI packets
inside the cached GOP are left out of that prelude: the cached PAT/PMT are the latest, so
the continuity counters the viewer sees stay consistent with the live edge that follows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping

from exstreamtv.domain.profiles import PMT_PID, VIDEO_PID
from exstreamtv.formats.mpegts import PACKET_SIZE, PAT_PID, PCR_HZ, pcr, pid, random_access
from exstreamtv.formats.splice import StreamEdge

_PCR_WRAP = (1 << 33) * 300
BATCH = 64 * 1024
# Packets due this soon go now: timers wake late, never early. Small, because every frame
# leaves this much before its guide time (40 ms put every picture a frame ahead).
EARLY_SEC = 0.01
GOP_CACHE_LIMIT = 8 * 1024 * 1024


def unwrap_pcr(value: int, last: int | None) -> int:
    """``value`` (a 33-bit-base PCR) on a line that does not wrap, nearest to ``last``."""
    if last is None:
        return value
    delta = (value - last) % _PCR_WRAP
    if delta > _PCR_WRAP // 2:
        delta -= _PCR_WRAP
    return last + delta


class GopCache:
    """The latest PAT, PMT and packets since the last video keyframe."""

    def __init__(self, limit: int = GOP_CACHE_LIMIT) -> None:
        self._pat: bytes | None = None
        self._pmt: bytes | None = None
        self._gop: list[bytes] = []
        self._size = 0
        self._limit = limit

    def add(self, packet: bytes) -> None:
        packet_pid = pid(packet)
        if packet_pid == PAT_PID:
            self._pat = packet
        elif packet_pid == PMT_PID:
            self._pmt = packet
        elif packet_pid == VIDEO_PID and random_access(packet):
            self._gop, self._size = [packet], len(packet)
        elif self._gop:
            self._size += len(packet)
            # A GOP too long to keep is dropped whole: a prelude with a hole in it would
            # break the continuity counters before the live edge even starts.
            if self._size > self._limit:
                self._gop, self._size = [], 0
            else:
                self._gop.append(packet)

    def prelude(self) -> bytes:
        """What a joining viewer gets first: PAT, PMT, then the GOP (empty before the first)."""
        if self._pat is None or self._pmt is None or not self._gop:
            return b""
        return b"".join([self._pat, self._pmt, *self._gop])


class Pacer:
    """A bounded work-ahead buffer released at wall-clock rate to ``release``.

    ``put`` waits while the buffer holds more than ``work_ahead`` seconds of media (measured
    by PCR): that wait is the producer's backpressure. ``run`` is the releasing task.
    """

    def __init__(
        self,
        release: Callable[[bytes], None],
        monotonic: Callable[[], float],
        *,
        work_ahead: float = 10.0,
        frames: Mapping[int, int] | None = None,
        audio: Mapping[int, str] | None = None,
    ) -> None:
        self._release = release
        self._monotonic = monotonic
        self._ahead_ticks = int(work_ahead * PCR_HZ)
        self._queue: deque[tuple[int | None, bytes]] = deque()
        self._last_put: int | None = None  # unwrapped PCR of the newest buffered packet
        self._last_out: int | None = None  # unwrapped PCR of the newest released packet
        self._base: tuple[float, int] | None = None  # (monotonic, pcr) of the mapping
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self.cache = GopCache()
        self.released = StreamEdge(frames or {}, audio)  # where what viewers got so far ends

    def anchor(self, monotonic: float, pcr_ticks: int) -> None:
        """Make the packet whose (unwrapped) PCR is ``pcr_ticks`` due at ``monotonic``."""
        self._base = (monotonic, pcr_ticks)

    def pending(self) -> bytes:
        """The packets buffered but not yet released, in order."""
        return b"".join(packet for _, packet in self._queue)

    @property
    def ahead(self) -> float:
        """Seconds of media buffered beyond what was released."""
        if self._last_put is None or self._last_out is None:
            return 0.0
        return max(0, self._last_put - self._last_out) / PCR_HZ

    async def put(self, packet: bytes) -> None:
        """Buffer ``packet``; waits while the buffer is full."""
        await self.put_batch(packet)

    async def put_batch(self, data: bytes) -> None:
        """Buffer whole packets (``len(data)`` a multiple of 188); waits first while the
        buffer is full."""
        while not self._room.is_set():
            await self._room.wait()
        for start in range(0, len(data), PACKET_SIZE):
            packet = data[start : start + PACKET_SIZE]
            found = pcr(packet) if pid(packet) == VIDEO_PID else None
            if found is not None:
                self._last_put = unwrap_pcr(found, self._last_put)
                if self._last_out is None:
                    self._last_out = self._last_put
                if self._last_put - self._last_out > self._ahead_ticks:
                    self._room.clear()
            self._queue.append((self._last_put, packet))
        self._drained.clear()
        self._arrived.set()

    def discard(self) -> StreamEdge:
        """Drop every packet not yet released; returns where the released stream stands."""
        self._queue.clear()
        self._last_put = self._last_out
        self._room.set()
        self._drained.set()
        return self.released.copy()

    async def drained(self) -> None:
        """Wait until every buffered packet has been released."""
        await self._drained.wait()

    async def run(self) -> None:
        """Release due packets in batches, for ever (cancel to stop)."""
        while True:
            if not self._queue:
                self._drained.set()
                self._arrived.clear()
                await self._arrived.wait()
                continue
            wait = self._due_in(self._queue[0][0])
            if wait > EARLY_SEC:
                await asyncio.sleep(wait - EARLY_SEC)
                continue
            self._release_due()

    def _due_in(self, stamp: int | None) -> float:
        """Seconds until a packet stamped ``stamp`` is due (≤ 0: now)."""
        if stamp is None:
            return 0.0
        if self._base is None:
            self._base = (self._monotonic(), stamp)
        started, base_pcr = self._base
        return started + (stamp - base_pcr) / PCR_HZ - self._monotonic()

    def _release_due(self) -> None:
        batch: list[bytes] = []
        size = 0
        while self._queue and size < BATCH and self._due_in(self._queue[0][0]) <= EARLY_SEC:
            stamp, packet = self._queue.popleft()
            if stamp is not None and (self._last_out is None or stamp > self._last_out):
                self._last_out = stamp
            self.cache.add(packet)
            self.released.note(packet)
            batch.append(packet)
            size += len(packet)
        if batch:
            self._release(b"".join(batch))
        if self._last_put is None or self._last_out is None:
            return
        if self._last_put - self._last_out <= self._ahead_ticks:
            self._room.set()

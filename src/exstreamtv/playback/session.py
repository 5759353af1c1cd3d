"""One channel's live stream: per-item FFmpeg processes spliced into one paced MPEG-TS.

The **producer** asks ``what_plays(at)`` what is on at its wall position, has the supervisor
spawn one FFmpeg for it (an item, or a slate when nothing is scheduled or the file is
missing), reads the pipe into the :class:`~exstreamtv.playback.pacer.Pacer` and, when that
process exits, starts the next one at once. Each process gets
``-output_ts_offset`` = the channel's running media time, so timestamps continue.

The next media time is the *observed* end of the previous process (the largest last PTS +
frame duration over its streams, rounded up to a video frame), not the scheduled boundary:
AAC audio overruns ``-t`` by up to one audio frame, and starting the next item at the
scheduled time would make audio timestamps go backwards. The wall position advances by
exactly the media produced, so the stream and the guide never drift apart; the (≤ one
frame) difference is absorbed by joining the next entry that much later.

Continuity counters are rewritten by one :class:`ContinuityRewriter` for the whole session;
each process's own PAT/PMT (identical PIDs, fixed by the profile) are kept.

Failures: a process that exits non-zero (a crash, ``kill -9``) is recorded with the
supervisor and a restart is asked through ``Supervisor.restart``; when it is denied, an error
slate plays instead of the item for a few seconds and the item is tried again afterwards.
Viewers are never left without bytes. The supervisor's watchdog is fed on every read; on a
stall the current process is stopped and the producer carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from exstreamtv.clock import Clock
from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.domain.profiles import AUDIO_PID, VIDEO_PID, StreamProfile
from exstreamtv.errors import LimitReached
from exstreamtv.ffmpeg.profiles import MediaInput, item_argv, slate_argv
from exstreamtv.formats.mpegts import (
    CLOCK_HZ,
    ContinuityRewriter,
    PacketSplitter,
    pes_timestamps,
    pid,
)
from exstreamtv.playback.pacer import Pacer
from exstreamtv.playback.supervisor import ManagedProcess, Supervisor
from exstreamtv.playback.viewers import VIEWER_QUEUE, FanOut

log = logging.getLogger(__name__)
START_MEDIA_MS = 10_000  # media time starts here, not at 0 (audio begins ~21 ms earlier)
ERROR_SLATE_MS = 5_000
MISSING_SLATE_MS = 3_000
_READ = 64 * 1024
_PTS_WRAP = 1 << 33


@dataclass(frozen=True, slots=True)
class Segment:
    """What to play from a wall position: ``path`` from ``seek_ms`` for ``duration_ms`` (until
    the entry ends), or, when ``path`` is ``None``, an offline slate titled ``title``."""

    path: str | None
    seek_ms: int
    duration_ms: int
    title: str = ""
    message: str = ""
    technical: TechnicalInfo | None = None


WhatPlays = Callable[[datetime], Awaitable[Segment]]


class EndTracker:
    """The observed end (90 kHz) of one process's output: max over streams of last PTS +
    one frame, rounded up to a whole video frame after ``start``."""

    def __init__(self, start: int, profile: StreamProfile) -> None:
        self._start = start
        self._video = CLOCK_HZ / profile.fps
        self._frames = {VIDEO_PID: self._video, AUDIO_PID: 1024 * CLOCK_HZ / profile.sample_rate}
        self._end: float = start

    def observe(self, packet: bytes | bytearray) -> None:
        stamps = pes_timestamps(packet)
        frame = self._frames.get(pid(packet)) if stamps else None
        if stamps is None or frame is None:
            return
        # Unwrap the 33-bit PTS relative to the start (a channel may run past 26.5 hours).
        pts = (
            self._start + ((stamps[0] - self._start + _PTS_WRAP // 2) % _PTS_WRAP) - _PTS_WRAP // 2
        )
        self._end = max(self._end, pts + frame)

    @property
    def end(self) -> int:
        frames = math.ceil((self._end - self._start) / self._video - 1e-6)
        return self._start + math.ceil(frames * self._video)


class ChannelSession:
    """The live stream of one channel, shared by all its viewers (see the module docstring).

    :meth:`start` launches the producer and the pacer; :meth:`subscribe` adds a viewer;
    when the last viewer leaves the session stops after ``idle_timeout`` seconds, and
    ``on_stopped`` is called once it has stopped (no FFmpeg of it remains).
    """

    def __init__(
        self,
        key: str,
        *,
        name: str,
        supervisor: Supervisor,
        clock: Clock,
        what_plays: WhatPlays,
        profile: StreamProfile,
        ffmpeg: str = "ffmpeg",
        idle_timeout: float = 10.0,
        work_ahead: float = 10.0,
        viewer_queue: int = VIEWER_QUEUE,
        on_stopped: Callable[[ChannelSession], None] | None = None,
        on_sent: Callable[[int], None] | None = None,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self.key, self._name = key, name
        self._supervisor, self._clock = supervisor, clock
        self._what_plays, self._profile, self._ffmpeg = what_plays, profile, ffmpeg
        self._idle_timeout = idle_timeout
        self._on_stopped = on_stopped
        self._viewers = FanOut(
            self._last_viewer_left, viewer_queue, on_sent=on_sent, on_dropped=on_dropped
        )
        self._pacer = Pacer(
            self._viewers.send, clock.monotonic, work_ahead=work_ahead, burst=profile.gop_seconds
        )
        self._rewriter = ContinuityRewriter()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle: asyncio.Task[None] | None = None
        self._current: ManagedProcess | None = None
        self._stalled = False
        self._stopping = False
        self.spawns = 0
        self.media_ms = START_MEDIA_MS

    @property
    def current_pid(self) -> int | None:
        return self._current.pid if self._current else None

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    @property
    def dropped_viewers(self) -> int:
        return self._viewers.dropped

    @property
    def stopped(self) -> bool:
        return self._stopping

    def start(self) -> None:
        """Start producing and pacing (no await: callers create and start atomically)."""
        self._supervisor.watch(self.key, self._on_stall)
        self._tasks = [
            asyncio.create_task(self._produce(), name=f"channel-{self.key}-producer"),
            asyncio.create_task(self._pacer.run(), name=f"channel-{self.key}-pacer"),
        ]

    def subscribe(self) -> AsyncIterator[bytes]:
        """A new viewer: PAT, PMT and the current GOP first, then the live edge."""
        if self._stopping:
            raise RuntimeError(f"channel {self.key} is stopping")
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        return aiter(self._viewers.add(self._pacer.cache.prelude()))

    async def stop(self) -> None:
        """Stop the producer (and its FFmpeg, through the supervisor) and end every viewer."""
        if self._stopping:
            return
        self._stopping = True
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
        self._idle = None
        self._supervisor.unwatch(self.key)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._viewers.close()
        if self._on_stopped is not None:
            self._on_stopped(self)

    # --- idle and watchdog -------------------------------------------------------------

    def _last_viewer_left(self) -> None:
        if not self._stopping and self._idle is None:
            self._idle = asyncio.create_task(self._stop_when_idle())

    async def _stop_when_idle(self) -> None:
        await asyncio.sleep(self._idle_timeout)
        self._idle = None
        if not self._viewers:
            await self.stop()

    async def _on_stall(self, channel: str) -> None:
        """The watchdog saw no output: stop the process; the producer carries on."""
        current = self._current
        if current is not None:
            log.warning("channel %s stalled: stopping its FFmpeg", channel)
            self._stalled = True
            await self._supervisor.stop(current)

    # --- the producer -----------------------------------------------------------------

    async def _produce(self) -> None:
        wall, failing = self._clock.now(), False
        while True:
            if failing:  # the restart was denied: an error slate, then the schedule again
                segment = Segment(None, 0, ERROR_SLATE_MS, self._name, "Technical difficulties")
            else:
                segment = await self._what_plays(wall)
                if segment.path is not None and not await asyncio.to_thread(
                    Path(segment.path).is_file
                ):
                    log.error("channel %s: media file %s is missing", self.key, segment.path)
                    segment = Segment(
                        None, 0, min(MISSING_SLATE_MS, max(segment.duration_ms, 1000)),
                        self._name, "This programme is unavailable",
                    )  # fmt: skip
            try:
                produced, status = await self._play(segment)
            except LimitReached:
                await asyncio.sleep(1.0)
                continue
            wall += timedelta(milliseconds=produced)
            failing = False
            if status == 0 or self._stalled:
                self._stalled = False
                if produced > 0:
                    self._supervisor.record_success(self.key)
                elif segment.duration_ms > 0:
                    await asyncio.sleep(0.5)  # nothing came out: do not spin
                continue
            self._supervisor.record_failure(self.key)
            failing = not self._supervisor.restart(self.key, "crash").allowed
            if produced == 0:
                await asyncio.sleep(0.5)

    def _argv(self, segment: Segment) -> tuple[list[str], str]:
        if segment.path is None:
            argv = slate_argv(
                self._ffmpeg, self._profile, title=segment.title or self._name,
                message=segment.message or "Off the air", duration_ms=segment.duration_ms,
                output_ts_offset_ms=self.media_ms,
            )  # fmt: skip
            return argv, "slate"
        source = MediaInput(segment.path, segment.technical)
        # Seek to a frame boundary of the profile: a seek between two frames makes the fps
        # filter start a frame late, which would leave a gap in the video after the splice.
        fps = self._profile.fps
        seek_ms = int(math.floor(segment.seek_ms * fps / 1000) * 1000 / fps)
        argv = item_argv(
            self._ffmpeg, self._profile, source, offset_ms=seek_ms,
            duration_ms=segment.duration_ms, output_ts_offset_ms=self.media_ms,
        )  # fmt: skip
        return argv, "item"

    async def _play(self, segment: Segment) -> tuple[int, int]:
        """Run one process to its end; returns (ms of media produced, exit status)."""
        argv, purpose = self._argv(segment)
        managed = await self._supervisor.spawn(self.key, argv, purpose=purpose)
        self._current, self.spawns = managed, self.spawns + 1
        start = self.media_ms * CLOCK_HZ // 1000
        tracker, splitter = EndTracker(start, self._profile), PacketSplitter()
        try:
            while chunk := await managed.stdout.read(_READ):
                self._supervisor.heartbeat(self.key)
                for packet in splitter.feed(chunk):
                    tracker.observe(packet)
                    self._rewriter.rewrite(packet)
                    await self._pacer.put(bytes(packet))
            status = await self._supervisor.reap(managed)
        except BaseException:
            await self._supervisor.stop(managed)
            raise
        finally:
            self._current = None
        end_ms = -(-tracker.end * 1000 // CLOCK_HZ)  # ceil: never overlap the next item
        produced = max(0, end_ms - self.media_ms)
        self.media_ms += produced
        if status != 0 and not self._stalled:
            log.warning(
                "channel %s: FFmpeg (%s) exited with %s: %s",
                self.key, purpose, status, managed.stderr.text()[-500:],
            )  # fmt: skip
        return produced, status

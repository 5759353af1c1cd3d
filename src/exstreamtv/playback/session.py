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
supervisor and a restart is asked through ``Supervisor.restart``; while it is denied (channel
cooldown, global throttle, open breaker) error slates of a few seconds play and the restart
is asked again after each, so the schedule comes back only through that one path (after an
open breaker, as its single half-open trial). An error slate never counts as a success.
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
from exstreamtv.domain.profiles import AUDIO_PID, VIDEO_PID, StreamProfile, VideoEncoder
from exstreamtv.errors import LimitReached
from exstreamtv.ffmpeg.profiles import MediaInput, item_argv, redact_argv, slate_argv
from exstreamtv.formats.mpegts import (
    CLOCK_HZ,
    ContinuityRewriter,
    PacketSplitter,
    pes_timestamps,
    pid,
)
from exstreamtv.metrics import Metrics
from exstreamtv.playback.hls import TARGET_SECONDS, SegmentRing
from exstreamtv.playback.pacer import Pacer
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.supervisor import ManagedProcess, Supervisor
from exstreamtv.playback.viewers import VIEWER_QUEUE, FanOut

log = logging.getLogger(__name__)
START_MEDIA_MS = 10_000  # media time starts here, not at 0 (audio begins ~21 ms earlier)
ERROR_SLATE_MS = 5_000
MISSING_SLATE_MS = 3_000
_READ = 64 * 1024
_PTS_WRAP = 1 << 33
_REMOTE = ("http://", "https://")  # a media server's direct stream, not a local file


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
        self.first_video: int | None = None  # unwrapped PTS of the first video frame

    def observe(self, packet: bytes | bytearray) -> None:
        stamps = pes_timestamps(packet)
        if stamps is None:
            return
        packet_pid = pid(packet)
        frame = self._frames.get(packet_pid)
        if frame is None:
            return
        # Unwrap the 33-bit PTS relative to the start (a channel may run past 26.5 hours).
        pts = (
            self._start + ((stamps[0] - self._start + _PTS_WRAP // 2) % _PTS_WRAP) - _PTS_WRAP // 2
        )
        self._end = max(self._end, pts + frame)
        if self.first_video is None and packet_pid == VIDEO_PID:
            self.first_video = pts

    @property
    def gap_seconds(self) -> float | None:
        """How late the first video frame starts after ``start`` (the splice point), in s."""
        return None if self.first_video is None else (self.first_video - self._start) / CLOCK_HZ

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
        metrics: Metrics | None = None,
        hls_target: float = TARGET_SECONDS,
    ) -> None:
        self.key, self._name = key, name
        self._metrics = metrics
        self._supervisor, self._clock = supervisor, clock
        self._what_plays, self._profile, self._ffmpeg = what_plays, profile, ffmpeg
        self._idle_timeout = idle_timeout
        self._on_stopped = on_stopped
        self._viewers = FanOut(
            self._last_viewer_left, viewer_queue, on_sent=on_sent, on_dropped=on_dropped
        )
        self._pacer = Pacer(
            self._release, clock.monotonic, work_ahead=work_ahead, burst=profile.gop_seconds
        )
        self._hls_target = hls_target
        self._ring: SegmentRing | None = None
        self._hls_seen = 0.0  # loop time of the latest HLS request
        self._segment_done = asyncio.Event()
        self._rewriter = ContinuityRewriter()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle: asyncio.Task[None] | None = None
        self._current: ManagedProcess | None = None
        self._stalled = False
        self._stopping = False
        self.spawns = 0
        self.media_ms = START_MEDIA_MS
        self._encoder: str | None = None  # libx264 once a hardware encoder failed
        self._last_codec: str | None = None  # the -c:v of the latest process (None: copy)
        self._last_error = ""

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

    def _release(self, data: bytes) -> None:
        """Paced bytes go to every MPEG-TS viewer and, once HLS was asked for, the ring."""
        self._viewers.send(data)
        ring = self._ring
        if ring is not None:
            done = ring.completed
            ring.feed_batch(data, self._clock.now())
            if ring.completed != done:
                self._segment_done.set()

    @property
    def hls_linger(self) -> float:
        """Seconds after its last request that an HLS viewer still counts as watching:
        three target durations, the longest a live player waits between playlist reloads."""
        return 3 * self._hls_target

    def touch_hls(self) -> SegmentRing:
        """An HLS request now: the channel's segment ring, created on first use and seeded
        with the GOP cache (so its first segment starts at the current keyframe)."""
        if self._stopping:
            raise RuntimeError(f"channel {self.key} is stopping")
        self._hls_seen = asyncio.get_running_loop().time()
        if self._ring is None:
            self._ring = SegmentRing(target_seconds=self._hls_target)
            self._ring.feed_batch(self._pacer.cache.prelude(), self._clock.now())
        if not self._viewers and self._idle is None:
            self._idle = asyncio.create_task(self._stop_when_idle())
        return self._ring

    async def playlist(self, segment_url: str) -> str | None:
        """The live HLS playlist, waiting for the first segment to be cut (callers bound the
        wait); ``None`` if the channel stops first. ``segment_url`` holds ``{sequence}``."""
        ring = self.touch_hls()
        while (text := ring.playlist(segment_url)) is None and not self._stopping:
            self._segment_done.clear()
            await self._segment_done.wait()
        self._hls_seen = asyncio.get_running_loop().time()  # the player has it from now on
        return text

    def segment(self, sequence: int) -> bytes | None:
        """A complete HLS segment still in the window (``None`` when gone or not cut yet)."""
        found = self.touch_hls().segment(sequence)
        return None if found is None else bytes(found.data)

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
        """Stop once there has been no MPEG-TS viewer for ``idle_timeout`` s and no HLS
        request for ``hls_linger + idle_timeout`` s."""
        loop = asyncio.get_running_loop()
        while True:
            wait = self._idle_timeout
            if self._ring is not None:
                wait = max(wait, self._hls_seen + self.hls_linger + wait - loop.time())
            await asyncio.sleep(wait)
            if self._viewers:
                self._idle = None
                return
            quiet = loop.time() - self._hls_seen
            if self._ring is None or quiet >= self.hls_linger + self._idle_timeout - 0.05:
                break
        self._idle = None
        await self.stop()

    async def _on_stall(self, channel: str) -> None:
        """The watchdog saw no output: stop the process; the producer carries on."""
        await self.interrupt("stalled")

    async def interrupt(self, reason: str) -> None:
        """Stop the current FFmpeg (not counted as a failure); the producer starts the next
        one at once and viewers stay connected. Callers have the supervisor's permission
        (the watchdog, or a restart ``Supervisor.restart`` allowed)."""
        current = self._current
        if current is not None:
            log.warning("channel %s %s: stopping its FFmpeg", self.key, reason)
            self._stalled = True
            await self._supervisor.stop(current)

    # --- the producer -----------------------------------------------------------------

    async def _produce(self) -> None:
        # A channel re-tuned while its breaker is open starts on the restart path too.
        wall = self._clock.now()
        failing = self._supervisor.breaker_state(self.key) is not BreakerState.CLOSED
        while True:
            if failing:  # every retry after a failure goes through the one restart path
                failing = not self._supervisor.restart(self.key, "crash").allowed
            if failing:  # denied (cooldown, throttle, open breaker): an error slate meanwhile
                segment = Segment(None, 0, ERROR_SLATE_MS, self._name, "Technical difficulties")
            else:
                segment = await self._what_plays(wall)
                if (
                    segment.path is not None
                    and not segment.path.startswith(_REMOTE)  # a server stream: FFmpeg tries it
                    and not await asyncio.to_thread(Path(segment.path).is_file)
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
            if status == 0 or self._stalled:
                self._stalled = False
                if produced > 0 and not failing:  # an error slate proves nothing
                    self._supervisor.record_success(self.key)
                elif produced == 0 and segment.duration_ms > 0:
                    await asyncio.sleep(0.5)  # nothing came out: do not spin
                continue
            if self._fell_back(status):
                continue  # the same moment again, now with libx264
            self._supervisor.record_failure(self.key)
            failing = True
            if produced == 0:
                await asyncio.sleep(0.5)

    def _fell_back(self, status: int) -> bool:
        """After a failed process that encoded with a hardware encoder, switch this session
        to libx264 for good (logged with the reason, counted in
        ``exstreamtv_encoder_fallbacks_total``) and return True; otherwise return False.

        Such a failure is not recorded with the supervisor: its cause is the encoder or
        device, not the channel's media, and the retry with libx264 is a fix rather than a
        repeat of what failed. The switch happens at most once per session (libx264 is never
        switched away from), so it cannot loop; if the software process fails too, that
        failure is recorded as usual and the circuit breaker judges the channel on it.
        """
        codec = self._last_codec
        if codec is None or codec == VideoEncoder.LIBX264.value:
            return False
        self._encoder = VideoEncoder.LIBX264.value
        lines = [line for line in self._last_error.splitlines() if line.strip()]
        reason = " / ".join(line.strip() for line in lines[-3:]) or f"exit status {status}"
        log.warning(
            "channel %s: hardware encoder %s failed (%s): using libx264 for the rest of "
            "this session", self.key, codec, reason,
        )  # fmt: skip
        if self._metrics is not None:
            self._metrics.encoder_fallbacks.labels(self.key).inc()
        return True

    def _measure(self, purpose: str, produced_ms: int, gap: float | None) -> None:
        """Slate seconds, and the timestamp gap at every splice after the first process."""
        if self._metrics is None:
            return
        if purpose == "slate":
            self._metrics.slate_seconds.labels(self.key).inc(produced_ms / 1000)
        if gap is not None and self.spawns > 1:
            self._metrics.transition_gap.observe(max(0.0, gap))

    def _argv(self, segment: Segment) -> tuple[list[str], str]:
        if segment.path is None:
            argv = slate_argv(
                self._ffmpeg, self._profile, title=segment.title or self._name,
                message=segment.message or "Off the air", duration_ms=segment.duration_ms,
                output_ts_offset_ms=self.media_ms, encoder=self._encoder,
            )  # fmt: skip
            self._last_codec = _video_codec(argv)
            return argv, "slate"
        remote = segment.path.startswith(_REMOTE)
        source = MediaInput(segment.path, segment.technical, remote=remote)
        # Seek to a frame boundary of the profile: a seek between two frames makes the fps
        # filter start a frame late, which would leave a gap in the video after the splice.
        fps = self._profile.fps
        seek_ms = int(math.floor(segment.seek_ms * fps / 1000) * 1000 / fps)
        argv = item_argv(
            self._ffmpeg, self._profile, source, offset_ms=seek_ms,
            duration_ms=segment.duration_ms, output_ts_offset_ms=self.media_ms,
            encoder=self._encoder,
        )  # fmt: skip
        self._last_codec = _video_codec(argv)
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
        self._measure(purpose, produced, tracker.gap_seconds)
        if status != 0 and not self._stalled:
            # A stream URL in FFmpeg's message carries a token: hide it.
            self._last_error = redact_argv([managed.stderr.text()[-500:]])[0]
            log.warning(
                "channel %s: FFmpeg (%s) exited with %s: %s",
                self.key, purpose, status, self._last_error,
            )  # fmt: skip
        return produced, status


def _video_codec(argv: list[str]) -> str | None:
    """The video encoder (``-c:v``) an FFmpeg argv uses; ``None`` when video is copied."""
    return argv[argv.index("-c:v") + 1] if "-c:v" in argv else None

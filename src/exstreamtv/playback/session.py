"""One channel's live stream: per-item FFmpeg processes spliced into one paced MPEG-TS.

The **producer** asks ``what_plays(at)`` what is on at its wall position, has the supervisor
spawn one FFmpeg for it (an item, or a slate when nothing is scheduled or the file is
missing), reads the pipe through the :class:`~exstreamtv.formats.splice.Splicer` into the
:class:`~exstreamtv.playback.pacer.Pacer` and, when that process exits, starts the next one
at once. Each process gets ``-output_ts_offset`` = the channel's running media time, so
timestamps continue; the splicer makes sure they never repeat or go back whatever FFmpeg
does at the edges.

**One clock.** The wall position and the media time advance together by exactly the media
produced, so ``wall - media`` is a constant of the session: the guide's wall time of any
frame is that constant plus its PTS. The pacer anchors the media time of *now* to the
present, so the frame for wall time *t* leaves at *t*. The first process starts at *now*,
with a keyframe (a transcode starts with one; a copy bridges to its next one), so a player
decodes at once; starting a GOP earlier to burst it would only delay the frames for now by
the time FFmpeg needs to produce that GOP (a second or more on a busy machine), and a
joining viewer gets the GOP before now from the cache anyway. When the producer falls
behind the wall clock (a starved CPU, a slow source), it skips ahead at the next item start
(media time and wall move together, so the pacer's mapping stays right) instead of letting
the stream lag the guide for the rest of the session.

**Faults** (``docs/architecture.md``, "Fault classes"):

* a lookup that raises (a database outage, an unexpected error) plays an error slate and is
  asked again after it; it never ends the producer. ``NotFound`` from the lookup means the
  channel itself is gone: a short "channel removed" slate, then the session stops;
* a process that cannot decode its file (:func:`~exstreamtv.playback.faults.classify_exit`)
  is a media fault: reported through ``on_media_fault``, remembered for this session, its
  slot filled by an "unavailable" slate; it never counts toward the circuit breaker;
* a crash, ``kill -9`` or a spawn failure is a process fault: recorded with the supervisor
  and retried only through ``Supervisor.restart``; while that is denied (cooldown,
  throttle, open breaker), error slates of a few seconds play and the restart is asked again
  after each. An error slate never counts as a success.

Whatever the producer task ends with, :meth:`ChannelSession.stop` closes every viewer,
removes the session (``on_stopped``) and leaves no FFmpeg behind. Viewers are never left
without bytes while the session lives. The supervisor's watchdog is fed on every read; on
a stall the current process is stopped and the producer carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from exstreamtv.clock import Clock
from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.domain.profiles import (
    AUDIO_PID,
    VIDEO_PID,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
)
from exstreamtv.errors import LimitReached, NotFound, ProbeFailed, ProcessError
from exstreamtv.ffmpeg.probe import next_keyframe
from exstreamtv.ffmpeg.profiles import (
    MUX_DELAY_MS,
    MediaInput,
    copies,
    item_argv,
    redact_argv,
    slate_argv,
)
from exstreamtv.formats.audio_frames import SAMPLES_PER_FRAME
from exstreamtv.formats.mpegts import CLOCK_HZ, PCR_HZ, PacketSplitter, pes_timestamps, pid
from exstreamtv.formats.splice import Splicer, StreamEdge, unwrap
from exstreamtv.metrics import Metrics
from exstreamtv.playback.faults import Fault, classify_exit, media_reason
from exstreamtv.playback.hls import TARGET_SECONDS, WINDOW, SegmentRing
from exstreamtv.playback.pacer import Pacer
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.supervisor import ManagedProcess, Supervisor
from exstreamtv.playback.viewers import MAX_LAG_SEC, VIEWER_QUEUE, FanOut

log = logging.getLogger(__name__)
START_MEDIA_MS = 10_000  # media time starts here, not at 0 (audio begins ~21 ms earlier)
ERROR_SLATE_MS = 5_000
MISSING_SLATE_MS = 3_000
UNAVAILABLE_SLATE_MS = 30_000  # a failed item's slot is re-asked this often
REMOVED_SLATE_MS = 2_000
LATE_SKIP_SEC = 3.0  # the producer skips ahead when it is this far behind the wall clock
FAILED_MEMORY = 256  # media faults remembered per session (and files that end early)
SHORT_BY_MS = 5_000  # a file this much shorter than its listing plays on; longer, a fault
_READ = 64 * 1024
_REMOTE = ("http://", "https://")  # a media server's direct stream, not a local file


@dataclass(frozen=True, slots=True)
class Segment:
    """What to play from a wall position: ``path`` from ``seek_ms`` for ``duration_ms`` (until
    the entry ends), or, when ``path`` is ``None``, an offline slate titled ``title``.
    ``media_id`` names the catalogue item behind ``path`` (for fault reports);
    ``fade_out_ms`` fades out the end of media cut short of its natural end; ``transcode``
    transcodes even under a copy profile."""

    path: str | None
    seek_ms: int
    duration_ms: int
    title: str = ""
    message: str = ""
    technical: TechnicalInfo | None = None
    media_id: int | None = None
    fade_out_ms: int = 0
    transcode: bool = False  # even under a copy profile (a join's bridge to a keyframe)
    plain: bool = False  # a slate without text (the rest of an item that ended early)


WhatPlays = Callable[[datetime], Awaitable[Segment]]
MediaFaultReport = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Played:
    """How one process ended: media produced (ms), exit status, whether this session
    stopped it (a stall or a granted restart), the tail of its stderr, and whether any
    picture came out."""

    produced_ms: int
    status: int
    interrupted: bool
    stderr: str
    pictures: bool = True


class EndTracker:
    """The observed end (90 kHz) of one process's output: where its last video frame ends
    (:class:`~exstreamtv.formats.splice.StreamEdge`; the last frame of any stream when
    there is no video), rounded up to a whole video frame after ``start`` (the media time
    the process was told to start at).

    The picture is the timeline: AAC's last frame ends up to 21 ms after the last video
    frame, and counting it would round up to one frame more than the item played, so
    the next item would start a frame late and skip its first frame (the splicer drops
    the next process's sound that overlaps it)."""

    def __init__(self, start: int, frames: Mapping[int, int], audio: Mapping[int, str]) -> None:
        self._start = start
        self._video = frames[VIDEO_PID]
        self._edge = StreamEdge(frames, audio)
        self.first_video: int | None = None  # unwrapped PTS of the first video frame

    def observe(self, packet: bytes | bytearray) -> None:
        self._edge.note(packet)
        if self.first_video is None and pid(packet) == VIDEO_PID:
            stamps = pes_timestamps(packet)
            if stamps is not None:  # a channel may run past 26.5 hours: unwrap near start
                self.first_video = unwrap(stamps[0], self._start)

    @property
    def gap_seconds(self) -> float | None:
        """How late the first video frame starts after ``start`` (the splice point), in s."""
        return None if self.first_video is None else (self.first_video - self._start) / CLOCK_HZ

    @property
    def end(self) -> int:
        edges = self._edge.last_end
        video = edges.get(VIDEO_PID)
        last = [video] if video is not None else list(edges.values())
        ends = [unwrap(end, self._start) for end in last]
        frames = math.ceil((max(ends, default=self._start) - self._start) / self._video - 1e-6)
        return self._start + max(0, frames) * self._video


class _Removed(Exception):
    """The channel no longer exists (its lookup said NotFound)."""


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
        ffprobe: str = "ffprobe",
        idle_timeout: float = 10.0,
        work_ahead: float = 10.0,
        viewer_queue: int = VIEWER_QUEUE,
        viewer_max_lag: float = MAX_LAG_SEC,
        on_stopped: Callable[[ChannelSession], None] | None = None,
        on_sent: Callable[[int], None] | None = None,
        on_dropped: Callable[[], None] | None = None,
        on_media_fault: MediaFaultReport | None = None,
        metrics: Metrics | None = None,
        hls_target: float = TARGET_SECONDS,
        hls_window: int = WINDOW,
        until: datetime | None = None,
        label: str | None = None,
        media_start_ms: int = START_MEDIA_MS,
        splicer: Splicer | None = None,
    ) -> None:
        self.key, self._name = key, name
        self.label = label or key  # the channel's number in metrics (a replay's key is not)
        self._until = until  # a replay ends here (wall time on its clock); live never ends
        self._metrics = metrics
        self._supervisor, self._clock = supervisor, clock
        self._what_plays, self._profile, self._ffmpeg = what_plays, profile, ffmpeg
        self._ffprobe = ffprobe
        self._idle_timeout = idle_timeout
        self._on_stopped = on_stopped
        self._on_media_fault = on_media_fault
        self._viewers = FanOut(
            self._last_viewer_left, viewer_queue, max_lag=viewer_max_lag,
            on_sent=on_sent, on_dropped=on_dropped,
        )  # fmt: skip
        codec = profile.audio_codec.value
        audio_frame = round(SAMPLES_PER_FRAME[codec] * CLOCK_HZ / profile.sample_rate)
        self._frames = {VIDEO_PID: round(CLOCK_HZ / profile.fps), AUDIO_PID: audio_frame}
        self._audio = {AUDIO_PID: codec}
        self._pacer = Pacer(
            self._release, clock.monotonic, work_ahead=work_ahead, frames=self._frames,
            audio=self._audio,
        )  # fmt: skip
        # A render continuing the previous one's output (the next catch-up segment) splices
        # on from where it ended: continuity counters and clocks run on across the two.
        self.splicer = splicer or Splicer(self._frames, audio=self._audio)
        self._hls_target = hls_target
        self._hls_window = hls_window  # segments a playlist lists: the DVR window
        self._ring: SegmentRing | None = None
        self._hls_seen = 0.0  # loop time of the latest HLS request
        self._hls_waiting = 0  # HLS requests waiting for the first segment
        self._segment_done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle: asyncio.Task[None] | None = None
        self._stopper: asyncio.Task[None] | None = None
        self._current: ManagedProcess | None = None
        self._interrupted = False
        self._stopping = False
        self._stopped = asyncio.Event()
        self.spawns = 0
        self.media_ms = media_start_ms
        self._rendered: bytearray | None = None  # render(): the output, not paced
        self._origin: datetime | None = None  # wall time of media time 0 (the constant)
        self._encoder: str | None = None  # libx264 once a hardware encoder failed
        self._last_codec: str | None = None  # the -c:v of the latest process (None: copy)
        self._slate_text = True  # False once drawtext failed (no usable font)
        self._failed: OrderedDict[str, str] = OrderedDict()  # media faults: path -> reason
        self._ends: OrderedDict[str, int] = OrderedDict()  # path -> a seek found past its end
        self._lookup_down: str | None = None  # the lookup's error while it keeps failing
        self.removed = False
        self.finished = False  # a replay that reached its end (no more media comes)

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

    @property
    def failed_media(self) -> dict[str, str]:
        """Files that failed to play in this session, with the reason (newest last)."""
        return dict(self._failed)

    def wall_of(self, media_ticks: int) -> datetime | None:
        """The guide's wall time of the frame whose PTS (unwrapped, 90 kHz) is given."""
        if self._origin is None:
            return None
        return self._origin + timedelta(seconds=media_ticks / CLOCK_HZ)

    def start(self) -> None:
        """Start producing and pacing (no await: callers create and start atomically)."""
        self._supervisor.watch(self.key, self._on_stall)
        producer = asyncio.create_task(self._produce(), name=f"channel-{self.key}-producer")
        producer.add_done_callback(self._producer_ended)
        self._tasks = [
            producer,
            asyncio.create_task(self._pacer.run(), name=f"channel-{self.key}-pacer"),
        ]

    async def render(self) -> bytes:
        """Make this replay (``until`` set, on a clock that stands still at its start) as
        fast as FFmpeg goes, with no viewers and no pacing, and return its MPEG-TS: an HLS
        catch-up segment. It is spliced exactly as the live stream is (the same lookups,
        slates, fault handling and watchdog). Raises NotFound when the channel is removed
        meanwhile; a process cap that stays full keeps it waiting (callers bound it)."""
        if self._until is None:
            raise RuntimeError("only a replay with an end can be rendered")
        self._rendered = bytearray()
        self._supervisor.watch(self.key, self._on_stall)
        try:
            await self._produce()
        finally:
            self._supervisor.unwatch(self.key)
            if self._current is not None:  # cancelled while a process ran
                await self._supervisor.stop(self._current)
        return bytes(self._rendered)

    def _release(self, data: bytes) -> None:
        """Paced bytes go to every MPEG-TS viewer."""
        self._viewers.send(data, self._clock.monotonic())

    @property
    def hls_linger(self) -> float:
        """Seconds after its last request that an HLS viewer still counts as watching:
        three target durations, the longest a live player waits between playlist reloads."""
        return 3 * self._hls_target

    def touch_hls(self) -> SegmentRing:
        """An HLS request now: the channel's segment ring, created on first use and seeded
        with the GOP cache and the work-ahead buffer (so its first segment starts at the
        keyframe on air, and the segments already produced are there at once)."""
        if self._stopping:
            raise RuntimeError(f"channel {self.key} is stopping")
        self._hls_seen = asyncio.get_running_loop().time()
        if self._ring is None:
            self._ring = SegmentRing(
                target_seconds=self._hls_target,
                window=self._hls_window,
                gop_seconds=self._profile.gop_seconds,
                independent=self._profile.mode is not ProfileMode.COPY,
                # Numbered from the clock (tenths of a second, and a segment lasts longer),
                # so a channel started again never reuses a sequence number a player saw.
                first_sequence=int(self._clock.now().timestamp() * 10),
                wall_of=self.wall_of,
            )
            self._feed_ring(self._pacer.cache.prelude() + self._pacer.pending())
        if not self._viewers and self._idle is None:
            self._idle = asyncio.create_task(self._stop_when_idle())
        return self._ring

    def _feed_ring(self, data: bytes) -> None:
        ring = self._ring
        if ring is None or not data:
            return
        done = ring.completed
        ring.feed_batch(data)
        if ring.completed != done:
            self._segment_done.set()

    async def playlist(self, segment_url: str) -> str | None:
        """The live HLS playlist, waiting for the first segment to be cut (callers bound the
        wait); ``None`` if the channel stops first. ``segment_url`` holds ``{sequence}``."""
        ring = self.touch_hls()
        self._hls_waiting += 1  # a player waiting for its first playlist is watching
        try:
            while (text := ring.playlist(segment_url)) is None and not self._stopping:
                self._segment_done.clear()
                await self._segment_done.wait()
        finally:
            self._hls_waiting -= 1
        self._hls_seen = asyncio.get_running_loop().time()  # the player has it from now on
        return text

    def segment(self, sequence: int) -> bytes | None:
        """A complete HLS segment still in the window (``None`` when gone or not cut yet)."""
        found = self.touch_hls().segment(sequence)
        return None if found is None else bytes(found.data)

    def subscribe(self) -> AsyncIterator[bytes]:
        """A new viewer: PAT, PMT and the current GOP first, then the live edge."""
        if self._stopping or self.finished:
            raise RuntimeError(f"channel {self.key} is stopping")
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        viewer = self._viewers.add(self._pacer.cache.prelude(), self._clock.monotonic())
        return aiter(viewer)

    async def stop(self) -> None:
        """Stop the producer (and its FFmpeg, through the supervisor), end every viewer and
        remove the session, whatever the producer ended with. Safe to call more than once
        and from any task; every caller returns once the session has stopped."""
        if self._stopping:
            if asyncio.current_task() not in self._tasks:
                await self._stopped.wait()
            return
        self._stopping = True
        try:
            if self._idle is not None and self._idle is not asyncio.current_task():
                self._idle.cancel()
            self._idle = None
            self._supervisor.unwatch(self.key)
            for task in self._tasks:
                task.cancel()
            outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    log.error("channel %s: a task ended with %r", self.key, outcome)
            current = self._current
            if current is not None:  # the producer was stopped between spawn and read
                await self._supervisor.stop(current)
        finally:
            self._viewers.close()
            self._segment_done.set()  # HLS requests waiting for a segment give up
            self._stopped.set()
            if self._on_stopped is not None:
                self._on_stopped(self)

    async def retire(self, reason: str) -> None:
        """The channel was removed or disabled: tell its viewers with a short slate, then
        stop. Returns once the session has stopped."""
        if self._stopping:
            await self.stop()
            return
        self.removed = True
        await self.interrupt(reason)  # the producer sees ``removed`` and plays the slate
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REMOVED_SLATE_MS / 1000 + 3):
                await self._stopped.wait()
        await self.stop()

    def _producer_ended(self, task: asyncio.Task[None]) -> None:
        """The producer only ends when the session stops or retires: if it ends otherwise
        (a bug), the session stops now instead of leaving viewers on a silent stream."""
        if self._stopping or task.cancelled() or self._stopper is not None:
            return
        if self.finished and task.exception() is None:  # a replay's HLS players finish
            return
        error = task.exception()
        if error is not None:
            log.error(
                "channel %s: the producer failed (%r); stopping the channel", self.key, error,
                exc_info=error,
            )  # fmt: skip
            self._count_fault("producer")
        self._stopper = asyncio.create_task(self.stop(), name=f"channel-{self.key}-stop")

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
            if self._hls_waiting:
                self._hls_seen = loop.time()
                continue
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
            self._interrupted = True
            await self._supervisor.stop(current)

    # --- the producer -----------------------------------------------------------------

    async def _produce(self) -> None:
        wall = self._clock.now()
        self._origin = wall - timedelta(milliseconds=self.media_ms)
        # The frame of *now* is due now (its PCR runs MUX_DELAY_MS behind its DTS).
        now_pcr = (self.media_ms - MUX_DELAY_MS) * PCR_HZ // 1000
        self._pacer.anchor(self._clock.monotonic(), now_pcr)
        # A channel re-tuned while its breaker is open starts on the restart path too.
        failing = self._supervisor.breaker_state(self.key) is not BreakerState.CLOSED
        while True:
            if self.removed and self._rendered is not None:
                raise NotFound(f"channel {self._name} was removed")
            if self.removed:
                await self._play_removed()
                return
            wall = self._catch_up(wall)
            if self._until is not None and wall >= self._until:
                await self._play_out()
                return
            if failing:  # every retry after a failure goes through the one restart path
                failing = not self._supervisor.restart(self.key, "crash").allowed
            if failing:  # denied (cooldown, throttle, open breaker): an error slate meanwhile
                segment = Segment(None, 0, ERROR_SLATE_MS, self._name, "Technical difficulties")
            else:
                try:
                    segment = await self._next_segment(wall)
                except _Removed:
                    self.removed = True
                    continue
            if self._until is not None:  # a replay stops at its end, whatever was airing
                left_ms = int((self._until - wall) / timedelta(milliseconds=1))
                segment = replace(segment, duration_ms=max(1, min(segment.duration_ms, left_ms)))
            if self._under_a_frame(segment.duration_ms):
                # Less than a frame (a join in an item's last frame, or the part of an item
                # listed past its last frame): no process could show it, so none runs. The
                # timestamps skip it, and players hold the last picture that much longer.
                self.media_ms += segment.duration_ms
                wall += timedelta(milliseconds=segment.duration_ms)
                await asyncio.sleep(0)  # a lookup that kept answering this never blocks
                continue
            try:
                played = await self._play(segment)
            except LimitReached:  # the process cap: the same moment again soon
                await asyncio.sleep(1.0)
                continue
            except (OSError, ProcessError):  # FFmpeg missing or unusable, no memory, no pids
                log.exception("channel %s: FFmpeg could not start", self.key)
                self._supervisor.record_failure(self.key)
                self._count_fault("spawn")
                failing = True
                await asyncio.sleep(1.0)
                continue
            wall += timedelta(milliseconds=played.produced_ms)
            failing = await self._judge(segment, played, failing)

    def _catch_up(self, wall: datetime) -> datetime:
        """Skip ahead when the producer is over ``LATE_SKIP_SEC`` behind the wall clock
        (media time moves with it, so the stream and the guide stay one timeline)."""
        late = self._clock.now() - wall
        if late <= timedelta(seconds=LATE_SKIP_SEC):
            return wall
        skip_ms = int(late / timedelta(milliseconds=1))
        log.warning("channel %s: %.1f s behind the guide; skipping ahead", self.key, skip_ms / 1000)
        self._count_fault("late")
        self.media_ms += skip_ms
        return wall + timedelta(milliseconds=skip_ms)

    async def _next_segment(self, wall: datetime) -> Segment:
        """What plays at ``wall``, with lookup failures, missing files and known-bad media
        replaced by slates. Raises :class:`_Removed` when the channel is gone."""
        try:
            segment = await self._what_plays(wall)
        except NotFound as err:
            log.warning("channel %s: %s; ending its streams", self.key, err)
            raise _Removed(str(err)) from err
        except Exception as err:
            if self._lookup_down is None:
                log.exception("channel %s: cannot look up what plays; error slates until it can",
                              self.key, extra={"channel": self.key})  # fmt: skip
                self._count_fault("lookup")
            self._lookup_down = repr(err)
            return Segment(None, 0, ERROR_SLATE_MS, self._name, "Technical difficulties")
        if self._lookup_down is not None:
            log.info("channel %s: lookups work again", self.key, extra={"channel": self.key})
            self._lookup_down = None
        if segment.path is not None and segment.path in self._failed:
            return self._unavailable(segment, UNAVAILABLE_SLATE_MS)
        if segment.path is not None and segment.seek_ms >= self._ends.get(segment.path, 1 << 62):
            return Segment(None, 0, segment.duration_ms, plain=True)  # nothing left to show
        if (
            segment.path is not None
            and not segment.path.startswith(_REMOTE)  # a server stream: FFmpeg tries it
            and not await asyncio.to_thread(Path(segment.path).is_file)
        ):
            await self._media_fault(segment, f"the file {segment.path} is missing")
            return self._unavailable(segment, MISSING_SLATE_MS)
        frame = math.ceil(1000 / self._profile.fps)
        if segment.path and segment.seek_ms > frame and copies(self._profile, segment.technical):
            return await self._join_on_time(segment, segment.path)
        return segment

    async def _join_on_time(self, segment: Segment, path: str) -> Segment:
        """A copy can only start at a keyframe, up to a source GOP before the join point
        (seconds early, and the session would keep that lag). So a mid-item join in copy
        mode transcodes from the join point to the next keyframe; the item's rest, asked
        for next, starts on that keyframe and is copied. When the keyframes cannot be read,
        the copy starts at the one before (logged)."""
        frame = math.ceil(1000 / self._profile.fps)
        try:
            keyframe = await next_keyframe(
                path, max(0, segment.seek_ms - frame), ffprobe=self._ffprobe,
                within_ms=segment.duration_ms + frame,
            )  # fmt: skip
        except ProbeFailed as err:
            log.warning("channel %s: keyframes of %s unreadable (%s); the copy starts at the "
                        "keyframe before the join", self.key, redact_argv([path])[0],
                        err)  # fmt: skip
            return segment
        if keyframe is None:  # none before the entry ends: transcode all of it
            return replace(segment, transcode=True)
        if keyframe - segment.seek_ms <= frame:  # on a keyframe (within a frame): copy it
            return replace(
                segment,
                seek_ms=keyframe,
                duration_ms=segment.duration_ms - max(0, keyframe - segment.seek_ms),
            )
        bridge = keyframe - segment.seek_ms
        return replace(segment, duration_ms=bridge, transcode=True, fade_out_ms=0)

    def _unavailable(self, segment: Segment, most_ms: int) -> Segment:
        """A slate standing in for ``segment`` (at most ``most_ms``, then asked again)."""
        length = min(most_ms, max(segment.duration_ms, 1000))
        return Segment(None, 0, length, self._name, "This programme is unavailable")

    async def _judge(self, segment: Segment, played: Played, failing: bool) -> bool:
        """Record how a process ended; returns whether the channel is now failing."""
        if played.interrupted:
            return failing
        fault = classify_exit(
            played.status, played.stderr, source=segment.path,
            produced_ms=played.produced_ms, requested_ms=segment.duration_ms,
            seek_ms=segment.seek_ms,
        )  # fmt: skip
        if fault is None and segment.seek_ms > 0 and not played.pictures and segment.path:
            # Past the last picture (at most the file's sound came out): the file ended.
            await self._ended_early(segment, segment.path, played.produced_ms)
            return failing
        if fault is None:
            if played.produced_ms > 0 and not failing:  # an error slate proves nothing
                self._supervisor.record_success(self.key)
            return failing
        # A hardware encoder or drawtext failing is the environment's, whatever the input.
        if self._fell_back(played.status) or self._dropped_slate_text(segment, played):
            return failing  # the same moment again, with libx264 or without text
        if fault is Fault.MEDIA and segment.path is not None:
            await self._media_fault(segment, media_reason(played.stderr, segment.path))
            return failing
        self._supervisor.record_failure(self.key)
        self._count_fault("process")
        if played.produced_ms == 0:
            await asyncio.sleep(0.5)
        return True

    async def _ended_early(self, segment: Segment, path: str, produced_ms: int) -> None:
        """A request from ``seek_ms`` into the file found its last picture behind it (listed
        lengths include a longer sound track, a container's rounding, or a lie): the rest of
        the slot plays a plain slate, on the guide's time, and later requests past that
        point run no process. A file short by more than ``SHORT_BY_MS`` is truncated: a
        media fault."""
        if produced_ms > 0:  # its sound after the last picture played: the slate follows it
            segment = replace(segment, duration_ms=max(0, segment.duration_ms - produced_ms))
        self._ends[path] = min(segment.seek_ms, self._ends.get(path, segment.seek_ms))
        self._ends.move_to_end(path)
        while len(self._ends) > FAILED_MEMORY:
            self._ends.popitem(last=False)
        if segment.duration_ms > SHORT_BY_MS:
            minutes, seconds = divmod(segment.seek_ms // 1000, 60)
            short = f"{segment.duration_ms / 1000:.0f} s before its listed end"
            await self._media_fault(segment, f"the file ends at {minutes}:{seconds:02d}, {short}")
            return
        if not self._under_a_frame(segment.duration_ms):  # a frame or more: say so
            log.info("channel %s: %s ends %d ms before its listed end", self.key,
                     redact_argv([path])[0], segment.duration_ms)  # fmt: skip

    def _under_a_frame(self, ms: int) -> bool:
        return ms * self._profile.fps < 1000

    async def _media_fault(self, segment: Segment, reason: str) -> None:
        """The file behind ``segment`` cannot be played: remember it for this session (its
        slot plays an "unavailable" slate), say so once, count it, and report it (the
        catalogue marks it and schedules leave it)."""
        path = segment.path
        if path is None or path in self._failed:
            return
        self._failed[path] = reason
        while len(self._failed) > FAILED_MEMORY:
            self._failed.popitem(last=False)
        shown = redact_argv([path])[0]
        log.warning(
            "channel %s: media fault in %s: %s; playing something else", self.key, shown,
            reason, extra={"channel": self.key},
        )  # fmt: skip
        self._count_fault("media")
        if segment.media_id is not None and self._on_media_fault is not None:
            try:
                await self._on_media_fault(segment.media_id, reason)
            except Exception:
                log.exception("channel %s: could not report media %s as failed",
                              self.key, segment.media_id)  # fmt: skip

    def _count_fault(self, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.producer_faults.labels(self.label, kind).inc()

    async def _play_out(self) -> None:
        """A replay reached its end: the viewers get what is buffered, then their streams
        end and the session stops (a render just returns its output)."""
        if self._rendered is None:
            await self._pacer.drained()
        self.finished = True
        if self._rendered is None:
            self._stopper = asyncio.create_task(self.stop(), name=f"channel-{self.key}-stop")

    async def _play_removed(self) -> None:
        """A short "channel removed" slate, then the session stops.

        The work-ahead buffer (programme the viewers have not seen yet) is dropped, and the
        slate is spliced right after the last packet they were sent, so it follows what
        they are watching now, on the same clocks."""
        self._interrupted = False
        sent = self._pacer.discard()
        if sent.last_end:
            self.splicer.rewind(sent)
            self.media_ms = -(-max(sent.last_end.values()) * 1000 // CLOCK_HZ)
        slate = Segment(None, 0, REMOVED_SLATE_MS, self._name, "This channel was removed")
        with contextlib.suppress(LimitReached, OSError, ProcessError):
            await self._play(slate)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REMOVED_SLATE_MS / 1000 + 2):
                await self._pacer.drained()
        self._stopper = asyncio.create_task(self.stop(), name=f"channel-{self.key}-stop")

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
        log.warning(
            "channel %s: hardware encoder %s failed (%s): using libx264 for the rest of "
            "this session", self.key, codec, f"exit status {status}",
        )  # fmt: skip
        if self._metrics is not None:
            self._metrics.encoder_fallbacks.labels(self.label).inc()
        return True

    def _dropped_slate_text(self, segment: Segment, played: Played) -> bool:
        """A slate failed on drawtext (no usable font): plain slates from now on."""
        if segment.path is not None or not self._slate_text:
            return False
        if "drawtext" not in played.stderr and "font" not in played.stderr.lower():
            return False
        log.warning("channel %s: slates cannot draw text (%s); plain slates from now on",
                    self.key, played.stderr.strip().splitlines()[-1:])  # fmt: skip
        self._slate_text = False
        return True

    def _measure(self, purpose: str, produced_ms: int, gap: float | None) -> None:
        """Slate seconds, and the timestamp gap at every splice after the first process."""
        if self._metrics is None:
            return
        if purpose == "slate":
            self._metrics.slate_seconds.labels(self.label).inc(produced_ms / 1000)
        if gap is not None and self.spawns > 1:
            self._metrics.transition_gap.observe(max(0.0, gap))

    def _argv(self, segment: Segment) -> tuple[list[str], str]:
        if segment.path is None:
            argv = slate_argv(
                self._ffmpeg, self._profile, title=segment.title or self._name,
                message=segment.message or "Off the air", duration_ms=segment.duration_ms,
                output_ts_offset_ms=self.media_ms, encoder=self._encoder,
                with_text=self._slate_text and not segment.plain,
            )  # fmt: skip
            self._last_codec = _video_codec(argv)
            return argv, "slate"
        remote = segment.path.startswith(_REMOTE)
        source = MediaInput(segment.path, segment.technical, remote=remote)
        # Seek to a frame boundary of the profile: a seek between two frames makes the fps
        # filter start a frame late, which would leave a gap in the video after the splice.
        # The frame on air at the seek is shown whole, so the request grows by as much as
        # the seek moved back: FFmpeg drops a last frame that is less than half inside the
        # requested length, and the item would lose its last picture. A copy seeks to the
        # keyframe itself (rounded up): a seek before it would go back a whole GOP.
        fps = self._profile.fps
        seek_ms, duration_ms = segment.seek_ms, segment.duration_ms
        if segment.transcode or not copies(self._profile, segment.technical):
            seek_ms = int(math.floor(seek_ms * fps / 1000) * 1000 / fps)
            duration_ms += segment.seek_ms - seek_ms
        argv = item_argv(
            self._ffmpeg, self._profile, source, offset_ms=seek_ms,
            duration_ms=duration_ms, output_ts_offset_ms=self.media_ms,
            encoder=self._encoder, fade_out_ms=min(segment.fade_out_ms, duration_ms),
            transcode=segment.transcode,
        )  # fmt: skip
        self._last_codec = _video_codec(argv)
        return argv, "item"

    async def _play(self, segment: Segment) -> Played:
        """Run one process to its end (raises LimitReached or OSError when none starts)."""
        argv, purpose = self._argv(segment)
        managed = await self._supervisor.spawn(self.key, argv, purpose=purpose)
        self._current, self.spawns, self._interrupted = managed, self.spawns + 1, False
        start = self.media_ms * CLOCK_HZ // 1000
        tracker = EndTracker(start, self._frames, self._audio)
        splitter = PacketSplitter()
        self.splicer.begin()
        try:
            while chunk := await managed.stdout.read(_READ):
                self._supervisor.heartbeat(self.key)
                for packet in splitter.feed(chunk):
                    await self._forward(self.splicer.feed(packet), tracker)
            await self._forward(self.splicer.finish(), tracker)
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
        # A stream URL in FFmpeg's message carries a token: hide it.
        stderr = redact_argv([managed.stderr.text()[-2000:]])[0]
        if status != 0 and not self._interrupted:
            log.warning(
                "channel %s: FFmpeg (%s) exited with %s: %s",
                self.key, purpose, status, stderr[-500:],
            )  # fmt: skip
        return Played(produced, status, self._interrupted, stderr, tracker.first_video is not None)

    async def _forward(self, packets: list[bytearray], tracker: EndTracker) -> None:
        """Spliced packets to the end tracker, the HLS ring and the pacer."""
        if not packets:
            return
        for packet in packets:
            tracker.observe(packet)
        data = b"".join(packets)
        if self._rendered is not None:
            self._rendered += data
            return
        # Into the pacer first: it may wait for room, and an HLS ring made meanwhile is
        # seeded from what the pacer holds, so feeding it before would lose this batch.
        await self._pacer.put_batch(data)
        self._feed_ring(data)


def _video_codec(argv: list[str]) -> str | None:
    """The video encoder (``-c:v``) an FFmpeg argv uses; ``None`` when video is copied."""
    return argv[argv.index("-c:v") + 1] if "-c:v" in argv else None

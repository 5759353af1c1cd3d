"""Live channels: the stream source behind tuning, one shared :class:`ChannelSession` each.

``LiveChannels`` satisfies ``exstreamtv.services.streaming.StreamSource`` structurally (this
layer may not import the services). A session is created and registered with no ``await``
in between, so two viewers tuning at once share one producer; it removes itself when it
stops (idle timeout, or :meth:`close`).

What is on comes from two injected lookups (the services layer wires them to
``PlayoutService.now`` and ``CatalogService.item``); :func:`schedule_lookup` turns them into
the session's ``what_plays``. The stream profile comes from a third, ``profile_for``
(wired to ``ProfileService.for_channel``), awaited before a session is created; the running
sessions are checked again after it, so a viewer who tuned meanwhile is not given a second.

**Replays** (catch-up and start-over) are the same sessions on a
:class:`~exstreamtv.clock.DelayedClock`: a session whose clock reads the span's start when
it begins asks the same ``what_plays`` for the past, so a replay is spliced exactly as the
channel aired (same profile, filler and slates) and ends at the span's end. Viewers asking
for the same span within :data:`REPLAY_JOIN_SEC` of its first share its producer (they
get its GOP cache, so they start within a GOP of the start); later ones get their own
from the start, since a replay that has moved on is not what they asked for.

**Catch-up over HLS** is made segment by segment on request, as fast as FFmpeg goes, by
the same sessions on a clock held at each segment's start
(``playback/catchup_segments.py``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

from exstreamtv.clock import Clock, DelayedClock, HeldClock
from exstreamtv.domain.catchup import SEGMENT_MS, CatchupSpan
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.media import MediaItem
from exstreamtv.domain.playout import NowPlaying, from_ms
from exstreamtv.domain.profiles import DEFAULT_PROFILE, StreamProfile
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.formats.splice import Splicer
from exstreamtv.metrics import Metrics
from exstreamtv.playback.catchup_segments import CatchupSegments
from exstreamtv.playback.hls import TARGET_SECONDS, WINDOW
from exstreamtv.playback.restarts import RestartDecision
from exstreamtv.playback.session import (
    START_MEDIA_MS,
    ChannelSession,
    MediaFaultReport,
    Segment,
    WhatPlays,
)
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.playback.viewers import MAX_LAG_SEC

OFFLINE_MS = 30_000  # an offline slate with no known end is re-asked this often
REPLAY_JOIN_SEC = 10.0  # a replay this young is shared by a viewer of the same span

NowLookup = Callable[[ChannelNumber, datetime], Awaitable[NowPlaying | None]]
ItemLookup = Callable[[int], Awaitable[MediaItem]]
ProfileLookup = Callable[[Channel], Awaitable[StreamProfile]]


def fixed_profile(profile: StreamProfile) -> ProfileLookup:
    """A ``profile_for`` that gives every channel ``profile``."""

    async def profile_for(channel: Channel) -> StreamProfile:
        return profile

    return profile_for


def schedule_lookup(channel: Channel, now: NowLookup, item: ItemLookup) -> WhatPlays:
    """``what_plays`` for ``channel``: the entry on air at a moment, joined at its offset.

    Nothing scheduled (or an offline entry) is an offline slate; an item that no longer
    exists, or whose media server cannot be reached, is a short "Unavailable" slate, after
    which the item is asked for again (the session shows the error slate for a missing file
    itself).
    """

    async def what_plays(at: datetime) -> Segment:
        playing = await now(channel.number, at)
        if playing is None:
            return Segment(None, 0, OFFLINE_MS, channel.name, "Off the air")
        remaining = max(1, playing.entry.finish_ms - playing.entry.start_ms - playing.offset_ms)
        if playing.entry.media_id is None:
            return Segment(None, 0, remaining, channel.name, "Off the air")
        try:
            media = await item(playing.entry.media_id)
        except (NotFound, SourceUnavailable):  # gone, or its media server is down
            return Segment(None, 0, min(remaining, 5_000), channel.name, "Unavailable")
        return Segment(
            media.path, playing.seek_ms, remaining, technical=media.technical, media_id=media.id,
            fade_out_ms=playing.entry.fade_out_ms,
        )  # fmt: skip

    return what_plays


class LiveChannels:
    """One :class:`ChannelSession` per channel number, shared by every viewer."""

    def __init__(
        self,
        supervisor: Supervisor,
        clock: Clock,
        *,
        now: NowLookup,
        item: ItemLookup,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        profile_for: ProfileLookup | None = None,
        idle_timeout: float = 10.0,
        what_plays: Callable[[Channel], WhatPlays] | None = None,
        metrics: Metrics | None = None,
        viewer_max_lag: float = MAX_LAG_SEC,
        on_media_fault: MediaFaultReport | None = None,
        hls_dvr_minutes: float = 0.0,
    ) -> None:
        self._supervisor, self._clock = supervisor, clock
        # The live HLS window: at least WINDOW segments, or the DVR minutes' worth.
        self._hls_window = max(WINDOW, math.ceil(hls_dvr_minutes * 60 / TARGET_SECONDS))
        self._ffmpeg, self._ffprobe, self._idle_timeout = ffmpeg, ffprobe, idle_timeout
        self._profile_for = profile_for or fixed_profile(DEFAULT_PROFILE)
        self._what_plays = what_plays or (lambda channel: schedule_lookup(channel, now, item))
        self._sessions: dict[str, ChannelSession] = {}
        self._replays: dict[str, tuple[float, ChannelSession]] = {}  # key -> (born, session)
        self._latest: dict[str, str] = {}  # span key -> key of its newest replay
        self._serial = 0
        self._retiring: set[ChannelSession] = set()
        self._metrics = metrics
        self._viewer_max_lag = viewer_max_lag
        self._on_media_fault = on_media_fault
        self.catchup_segments = CatchupSegments(lambda: supervisor.pool_pressure)

    @property
    def sessions(self) -> dict[str, ChannelSession]:
        """The running sessions by channel number (read-only use)."""
        return self._sessions

    async def open(self, channel: Channel) -> AsyncIterator[bytes]:
        """Subscribe a viewer to ``channel``'s live MPEG-TS, starting the channel if needed.

        Raises SourceUnavailable when the FFmpeg cap is full.
        """
        return (await self._session(channel)).subscribe()

    async def playlist(self, channel: Channel, segment_url: str) -> str:
        """``channel``'s live HLS playlist, starting the channel if needed and waiting for its
        first segment (callers bound the wait). Raises SourceUnavailable when the FFmpeg cap
        is full or the channel stopped before a segment was cut."""
        session = await self._session(channel)
        text = await session.playlist(segment_url)
        if text is None:
            raise SourceUnavailable(f"channel {channel.number} stopped before HLS started")
        return text

    def replay_key(self, number: str, span: CatchupSpan) -> str:
        """The key a viewer of ``span`` of channel ``number`` is served under: a young replay
        of that span (to share), else a new one. No await: the caller takes a tuner under
        it at once, and a concurrent viewer given the same new key shares the replay."""
        key = self._latest.get(span.key(number))
        if key is not None and key in self._replays:
            born, session = self._replays[key]
            if not session.stopped and self._clock.monotonic() - born < REPLAY_JOIN_SEC:
                return key
        return f"{span.key(number)}#{self._serial + 1}"

    @property
    def replays(self) -> dict[str, ChannelSession]:
        """The running replays by key (read-only use)."""
        return {key: session for key, (_, session) in self._replays.items()}

    def replaying(self, number: str) -> list[str]:
        """Keys of the replays of channel ``number`` running now."""
        return [key for key in self._replays if key.startswith(f"{number}@")]

    async def replay(self, channel: Channel, span: CatchupSpan, key: str) -> AsyncIterator[bytes]:
        """Subscribe a viewer to the replay ``key`` (from :meth:`replay_key`) of ``span``,
        starting it if needed. Raises SourceUnavailable when the FFmpeg cap is full."""
        return (await self._replay_session(channel, span, key)).subscribe()

    async def catchup_segment(
        self, channel: Channel, span: CatchupSpan, sequence: int, aired: int
    ) -> bytes:
        """HLS segment ``sequence`` of ``span`` (``span.segment(sequence)``), made if it is
        not cached; the next ones, up to the ``aired`` segments, are made ahead. Raises
        SourceUnavailable when the FFmpeg cap is full or the render failed."""
        number = str(channel.number)
        profile = await self._profile_for(channel)
        what_plays = self._what_plays(channel)

        def make(at: int, splicer: Splicer | None) -> ChannelSession:
            part = span.segment(at)
            return ChannelSession(
                f"{span.key(number)}/{at}", name=channel.name, supervisor=self._supervisor,
                clock=HeldClock(self._clock, from_ms(part.start_ms)), what_plays=what_plays,
                profile=profile, ffmpeg=self._ffmpeg, ffprobe=self._ffprobe,
                metrics=self._metrics, on_media_fault=self._on_media_fault,
                until=from_ms(part.end_ms), label=number,
                media_start_ms=START_MEDIA_MS + at * SEGMENT_MS, splicer=splicer,
            )  # fmt: skip

        data = await self.catchup_segments.segment(span.key(number), sequence, aired, make)
        sent = self._sent(number)
        if sent is not None:
            sent(len(data))
        return data

    async def _replay_session(
        self, channel: Channel, span: CatchupSpan, key: str
    ) -> ChannelSession:
        """The replay ``key``, started if it is not running or has reached its end."""
        running = self._replays.get(key)
        if running is None or running[1].stopped or running[1].finished:
            if self._supervisor.pool_pressure >= 1.0:
                raise SourceUnavailable(
                    f"channel {channel.number} cannot replay: the FFmpeg process cap is reached"
                )
            profile = await self._profile_for(channel)
            running = self._replays.get(key)  # a viewer of the same span started it meanwhile
            if running is None or running[1].stopped or running[1].finished:
                start = from_ms(span.start_ms)
                clock = DelayedClock(self._clock, self._clock.now() - start)
                number = str(channel.number)
                session = ChannelSession(
                    key, name=channel.name, supervisor=self._supervisor, clock=clock,
                    what_plays=self._what_plays(channel), profile=profile,
                    ffmpeg=self._ffmpeg, ffprobe=self._ffprobe, idle_timeout=self._idle_timeout,
                    on_stopped=self._forget_replay, on_sent=self._sent(number),
                    on_dropped=self._dropped(number), metrics=self._metrics,
                    viewer_max_lag=self._viewer_max_lag, on_media_fault=self._on_media_fault,
                    until=from_ms(span.end_ms), label=number,
                )  # fmt: skip
                self._serial += 1
                running = self._replays[key] = (self._clock.monotonic(), session)
                self._latest[span.key(number)] = key
                session.start()
        return running[1]

    def _forget_replay(self, session: ChannelSession) -> None:
        running = self._replays.get(session.key)
        if running is not None and running[1] is session:
            del self._replays[session.key]
        span = session.key.partition("#")[0]
        if self._latest.get(span) == session.key:
            del self._latest[span]

    def segment(self, number: ChannelNumber, sequence: int) -> bytes | None:
        """A segment of a running channel's HLS window, or ``None`` (not running, or the
        segment left the window)."""
        session = self._sessions.get(str(number))
        if session is None or session.stopped:
            return None
        return session.segment(sequence)

    async def _session(self, channel: Channel) -> ChannelSession:
        """The running session of ``channel``, started if there is none."""
        key = str(channel.number)
        session = self._sessions.get(key)
        if session is None or session.stopped or session.removed:
            if self._supervisor.pool_pressure >= 1.0:
                raise SourceUnavailable(
                    f"channel {key} cannot start: the FFmpeg process cap is reached"
                )
            profile = await self._profile_for(channel)
            started = self._sessions.get(key)  # another viewer may have started it meanwhile
            if started is not None and not started.stopped and not started.removed:
                return started
            if started is not None and not started.stopped:  # found itself removed: let it end
                self._retiring.add(started)
            session = ChannelSession(
                key, name=channel.name, supervisor=self._supervisor, clock=self._clock,
                what_plays=self._what_plays(channel), profile=profile,
                ffmpeg=self._ffmpeg, ffprobe=self._ffprobe, idle_timeout=self._idle_timeout,
                on_stopped=self._forget,
                on_sent=self._sent(key), on_dropped=self._dropped(key), metrics=self._metrics,
                viewer_max_lag=self._viewer_max_lag, on_media_fault=self._on_media_fault,
                hls_window=self._hls_window,
            )  # fmt: skip
            self._sessions[key] = session
            session.start()
        return session

    def _sent(self, key: str) -> Callable[[int], None] | None:
        return None if self._metrics is None else self._metrics.stream_bytes.labels(key).inc

    def _dropped(self, key: str) -> Callable[[], None] | None:
        return None if self._metrics is None else self._metrics.viewers_dropped.labels(key).inc

    @property
    def running(self) -> int:
        """Channels streaming now, those ending after a removal included, replays and
        catch-up segments being made."""
        running = len(self._sessions) + len(self._retiring) + len(self._replays)
        return running + self.catchup_segments.rendering

    def viewer_count(self) -> int:
        """Viewers of every running channel and replay."""
        replays = (session for _, session in self._replays.values())
        return sum(session.viewers for session in (*self._sessions.values(), *replays))

    async def restart(self, number: ChannelNumber, reason: str) -> RestartDecision | None:
        """Restart a streaming channel's FFmpeg, only if ``Supervisor.restart`` allows it
        (global throttle, cooldown, breaker). The process is stopped the way the watchdog
        stops a stalled one, and the producer starts the next at once; viewers stay.
        Returns the supervisor's decision, or ``None`` when the channel is not streaming."""
        key = str(number)
        session = self._sessions.get(key)
        if session is None or session.stopped:
            return None
        decision = self._supervisor.restart(key, reason)
        if decision.allowed:
            await session.interrupt(f"restarting ({reason})")
        return decision

    async def retire(self, number: ChannelNumber, reason: str) -> None:
        """``number`` was removed or disabled: its number is free for a new session at once,
        while the old one plays a short "removed" slate to its viewers and stops."""
        replays = [self._replays[key][1] for key in self.replaying(str(number))]
        self.catchup_segments.forget(f"{number}@")
        await asyncio.gather(*(replay.stop() for replay in replays))
        session = self._sessions.pop(str(number), None)
        if session is None:
            return
        self._retiring.add(session)
        try:
            await session.retire(reason)
        finally:
            self._retiring.discard(session)

    async def close(self) -> None:
        """Stop every channel (and so every FFmpeg of theirs)."""
        running = [
            *self._sessions.values(), *self._retiring,
            *(session for _, session in self._replays.values()),
        ]  # fmt: skip
        await asyncio.gather(*(session.stop() for session in running))
        await self.catchup_segments.close()

    def _forget(self, session: ChannelSession) -> None:
        self._retiring.discard(session)
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]

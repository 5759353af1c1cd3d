"""Catch-up and start-over: replay a channel's past from its playout.

A request names a span (``domain/catchup.py`` reads it); it is refused before any tuner is
taken when catch-up is off (404), the span does not parse, starts in the future or is
empty (422), or its start is older than the kept history, was never built, or its file
has gone missing since it aired (410, with the reason). A file that went missing further
into the span plays as an "Unavailable" slate there, as it would live. Otherwise the
replay takes a tuner like a live channel (``StreamingService.catch_up``) and is shared by
the viewers of the same span who come within seconds of each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.catchup import MAX_SPAN, CatchupSpan, check_window, parse_span
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.errors import InvalidInput, NotFound
from exstreamtv.playback.hls import span_playlist
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.streaming import StreamingService, Tuned

MAX_SPAN_MS = int(MAX_SPAN.total_seconds() * 1000)


class CatchupService:
    """Replays of the past on the same machinery as the live channels."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        playouts: PlayoutService,
        streaming: StreamingService,
    ) -> None:
        self.days = settings.catchup.days
        self._clock = clock
        self._playouts = playouts
        self._streaming = streaming

    @property
    def enabled(self) -> bool:
        return self.days > 0

    async def span(
        self, number: ChannelNumber, start: str, end: str | None, duration: str | None
    ) -> CatchupSpan:
        """The span asked for, checked against the kept history and the media (see the
        module docstring for the refusals)."""
        if not self.enabled:
            raise NotFound("catch-up is off on this server (catchup.days is 0)")
        span = parse_span(start, end, duration)
        check_window(span, to_ms(self._clock.now()), self.days)
        await self._playouts.aired(number, from_ms(span.start_ms))
        return span

    async def open(
        self,
        number: ChannelNumber,
        start: str,
        end: str | None = None,
        duration: str | None = None,
    ) -> Tuned:
        """The replay of ``number`` from ``start`` as MPEG-TS, holding a tuner."""
        channel = await self._streaming.enabled(number)
        span = await self.span(number, start, end, duration)
        return await self._streaming.catch_up(channel, span)

    async def playlist(
        self,
        number: ChannelNumber,
        start: str,
        end: str | None,
        duration: str | None,
        segment_url: Callable[[CatchupSpan], str],
    ) -> str:
        """The span from ``start`` as an HLS playlist (``segment_url(span)`` holds
        ``{sequence}``) on its fixed grid, dated as it aired: ``VOD`` once the span has
        aired, ``EVENT`` while it is still airing (start-over). A span whose first segment
        has not wholly aired yet is answered once it has (at most one segment's length)."""
        channel = await self._streaming.enabled(number)
        span = await self.span(number, start, end, duration)
        first = span.segment(0)
        wait_ms = first.end_ms - to_ms(self._clock.now())
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        text = span_playlist(span, to_ms(self._clock.now()), segment_url(span))
        return self._streaming.catch_up_playlist(channel, span, text)

    async def segment(
        self, number: ChannelNumber, start_ms: int, end_ms: int, sequence: int
    ) -> bytes:
        """Segment ``sequence`` of the catch-up playlist of ``[start_ms, end_ms)``, made
        from the playout on request. NotFound when catch-up is off or the segment has not
        aired yet; 422/410 as for the span; 503 when it cannot be made."""
        if not self.enabled:
            raise NotFound("catch-up is off on this server (catchup.days is 0)")
        channel = await self._streaming.enabled(number)
        span = CatchupSpan(start_ms, end_ms)
        if span.duration_ms <= 0 or span.duration_ms > MAX_SPAN_MS:
            raise InvalidInput("end: must be after start, and within a day of it")
        now_ms = to_ms(self._clock.now())
        check_window(span, now_ms, self.days)
        span.segment(sequence)  # InvalidInput past the span's end
        aired = span.aired_segments(now_ms)
        if sequence >= aired:
            raise NotFound(f"segment {sequence} of this span has not aired yet")
        return await self._streaming.catch_up_segment(channel, span, sequence, aired)

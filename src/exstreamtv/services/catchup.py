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

from collections.abc import Callable

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.catchup import CatchupSpan, check_window, parse_span
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.errors import NotFound
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.streaming import StreamingService, Tuned


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
        """The replay from ``start`` as an HLS playlist (``segment_url(span)`` holds
        ``{sequence}``): a window that moves with the replay, dated with the times it aired
        (``EXT-X-PROGRAM-DATE-TIME``), ending with ``EXT-X-ENDLIST`` at the span's end."""
        channel = await self._streaming.enabled(number)
        span = await self.span(number, start, end, duration)
        return await self._streaming.catch_up_playlist(channel, span, segment_url(span))

    def segment(self, number: ChannelNumber, start_ms: int, end_ms: int, sequence: int) -> bytes:
        """One segment of the HLS replay of ``[start_ms, end_ms)`` (NotFound when gone)."""
        if not self.enabled:
            raise NotFound("catch-up is off on this server (catchup.days is 0)")
        span = CatchupSpan(start_ms, end_ms)
        return self._streaming.catch_up_segment(str(number), span, sequence)

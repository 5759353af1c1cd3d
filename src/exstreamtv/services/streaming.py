"""Tuning a channel: tuner accounting around a stream source.

The tuner is taken *before* any byte is sent, so a refusal is a proper HTTP answer (404
for an unknown or disabled channel, 503 + ``X-HDHomeRun-Error: 805`` when every tuner is
busy), and it is given back when the viewer goes away, however the response ends.

The stream itself comes from a :class:`StreamSource`: the server uses
``exstreamtv.playback.channels.LiveChannels`` (one shared producer per channel).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.metrics import Metrics
from exstreamtv.playback.tuners import TunerPool, TunersBusy
from exstreamtv.services.channels import ChannelService


class StreamSource(Protocol):
    async def open(self, channel: Channel, *, hls: bool) -> AsyncIterator[bytes]:
        """Start streaming ``channel``; raises (before yielding) when it cannot."""
        ...


@dataclass(slots=True)
class Tuned:
    """A viewer's stream; iterate it exactly once (the tuner is released at the end)."""

    chunks: AsyncIterator[bytes]
    _release: TunerPool
    _key: str

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.chunks:
                yield chunk
        finally:
            self._release.release(self._key)


class StreamingService:
    def __init__(
        self, channels: ChannelService, tuners: TunerPool, source: StreamSource, metrics: Metrics
    ) -> None:
        self._channels = channels
        self.tuners = tuners
        self._source = source
        self._metrics = metrics

    async def tune(self, number: ChannelNumber, *, hls: bool = False) -> Tuned:
        """Take a tuner for ``number`` and open its stream (raises NotFound, TunersBusy,
        SourceUnavailable; the tuner is released on any failure)."""
        channel = await self._channels.channel(number)
        if not channel.enabled:
            self._metrics.tune_refusals.labels("disabled").inc()
            raise NotFound(f"channel {number} is disabled")
        key = str(channel.number)
        try:
            self.tuners.acquire(key)
        except TunersBusy:
            self._metrics.tune_refusals.labels("tuners_busy").inc()
            raise
        try:
            chunks = await self._source.open(channel, hls=hls)
        except BaseException as err:
            self.tuners.release(key)
            if isinstance(err, SourceUnavailable):
                self._metrics.tune_refusals.labels("unavailable").inc()
            raise
        return Tuned(chunks, self.tuners, key)

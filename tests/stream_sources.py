"""Stream sources for tests where no FFmpeg should run."""

from __future__ import annotations

from collections.abc import AsyncIterator

from exstreamtv.domain.catchup import CatchupSpan
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.errors import SourceUnavailable


class RefusingSource:
    """Refuses every tune with a 503, after the channel and tuner checks have run."""

    async def open(self, channel: Channel) -> AsyncIterator[bytes]:
        raise SourceUnavailable(f"channel {channel.number} cannot be streamed in this test")

    async def playlist(self, channel: Channel, segment_url: str) -> str:
        raise SourceUnavailable(f"channel {channel.number} cannot be streamed in this test")

    def segment(self, number: ChannelNumber, sequence: int) -> bytes | None:
        return None

    async def retire(self, number: ChannelNumber, reason: str) -> None:
        return None

    def replay_key(self, number: str, span: CatchupSpan) -> str:
        return span.key(number)

    def replaying(self, number: str) -> list[str]:
        return []

    async def replay(self, channel: Channel, span: CatchupSpan, key: str) -> AsyncIterator[bytes]:
        raise SourceUnavailable(f"channel {channel.number} cannot be replayed in this test")

    async def catchup_segment(
        self, channel: Channel, span: CatchupSpan, sequence: int, aired: int
    ) -> bytes:
        raise SourceUnavailable(f"channel {channel.number} cannot be replayed in this test")

"""Tuning a channel: tuner accounting around a stream source.

The tuner is taken *before* any byte is sent, so a refusal is a proper HTTP answer (404
for an unknown or disabled channel, 503 + ``X-HDHomeRun-Error: 805`` when every tuner is
busy), and it is given back when the viewer goes away, however the response ends.

HLS has no connection to watch: a player just fetches the playlist again every few seconds.
So an HLS audience holds one viewer slot on its channel's tuner from its first playlist
request until no playlist has been asked for during ``HLS_LEASE_SECONDS`` (three target
durations, the longest a live player waits between reloads). Expired leases are swept
before every tune, so an abandoned HLS player never keeps a tuner from someone else.

A catch-up replay (:meth:`StreamingService.catch_up`) takes a tuner like a channel does:
one per running replay, shared by the viewers that share it, refused the same way. The
players of a span's catch-up playlist hold one tuner under the HLS lease rules, renewed by
every playlist and segment request (a VOD player fetches its playlist once, then only
segments).

The stream itself comes from a :class:`StreamSource`: the server uses
``exstreamtv.playback.channels.LiveChannels`` (one shared producer per channel).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from exstreamtv.domain.catchup import CatchupSpan
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.metrics import Metrics
from exstreamtv.playback.hls import TARGET_SECONDS
from exstreamtv.playback.tuners import TunerPool, TunersBusy, TunerSlot
from exstreamtv.services.channels import ChannelService

HLS_LEASE_SECONDS = 3 * TARGET_SECONDS
FIRST_SEGMENT_TIMEOUT = 15.0
RENDER_TIMEOUT = 30.0  # a catch-up segment (6 s of media) made on request


class StreamSource(Protocol):
    async def open(self, channel: Channel) -> AsyncIterator[bytes]:
        """Start streaming ``channel`` as MPEG-TS; raises (before yielding) when it cannot."""
        ...

    async def playlist(self, channel: Channel, segment_url: str) -> str:
        """``channel``'s live HLS playlist (starting it if needed and waiting for its first
        segment); raises when it cannot."""
        ...

    def segment(self, number: ChannelNumber, sequence: int) -> bytes | None:
        """One HLS segment of a running channel, or ``None``."""
        ...

    def replay_key(self, number: str, span: CatchupSpan) -> str:
        """The replay a viewer of ``span`` joins (or starts): its tuner's key."""
        ...

    async def catchup_segment(
        self, channel: Channel, span: CatchupSpan, sequence: int, aired: int
    ) -> bytes:
        """HLS segment ``sequence`` of ``span``, made if needed (and the next ones, up to
        ``aired``, ahead); raises when it cannot."""
        ...

    def replaying(self, number: str) -> list[str]:
        """Keys of the running replays of channel ``number``."""
        ...

    async def replay(self, channel: Channel, span: CatchupSpan, key: str) -> AsyncIterator[bytes]:
        """Start (or join) the replay ``key`` of ``span`` as MPEG-TS; raises (before
        yielding) when it cannot."""
        ...

    async def retire(self, number: ChannelNumber, reason: str) -> None:
        """``number`` was removed or disabled: end its streams (after a short slate)."""
        ...


@dataclass(slots=True)
class Tuned:
    """A viewer's stream; iterate it exactly once (the tuner is released at the end)."""

    chunks: AsyncIterator[bytes]
    _slot: TunerSlot
    _started: float = 0.0
    _metrics: Metrics | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            first = True
            async for chunk in self.chunks:
                if first and self._metrics is not None:
                    elapsed = asyncio.get_running_loop().time() - self._started
                    self._metrics.join_latency.labels("ts").observe(elapsed)
                first = False
                yield chunk
        finally:
            self._slot.release()


class StreamingService:
    def __init__(
        self, channels: ChannelService, tuners: TunerPool, source: StreamSource, metrics: Metrics
    ) -> None:
        self._channels = channels
        self.tuners = tuners
        self._source = source
        self._metrics = metrics
        # channel -> (loop time of its latest playlist request, the audience's tuner slot)
        self._hls: dict[str, tuple[float, TunerSlot]] = {}

    async def tune(self, number: ChannelNumber) -> Tuned:
        """Take a tuner for ``number`` and open its MPEG-TS (raises NotFound, TunersBusy,
        SourceUnavailable; the tuner is released on any failure)."""
        started = asyncio.get_running_loop().time()
        channel = await self._enabled(number)
        slot = self._acquire(str(channel.number))
        try:
            chunks = await self._source.open(channel)
        except BaseException as err:
            self._refused(slot, err)
            raise
        return Tuned(chunks, slot, started, self._metrics)

    async def catch_up(self, channel: Channel, span: CatchupSpan) -> Tuned:
        """Take a tuner for a replay of ``span`` of ``channel`` (checked and enabled by the
        caller) and open it (raises TunersBusy, SourceUnavailable; the tuner is released on
        any failure)."""
        started = asyncio.get_running_loop().time()
        key = self._source.replay_key(str(channel.number), span)
        slot = self._acquire(key)
        try:
            chunks = await self._source.replay(channel, span, key)
        except BaseException as err:
            self._refused(slot, err)
            raise
        return Tuned(chunks, slot, started, self._metrics)

    async def hls_playlist(self, number: ChannelNumber, segment_url: str) -> str:
        """The live HLS playlist of ``number`` (``segment_url`` holds ``{sequence}``).

        The first request of an HLS audience takes a tuner (raises TunersBusy like a tune);
        later ones renew its lease. Raises NotFound and SourceUnavailable too."""
        channel = await self._enabled(number)
        return await self._leased_playlist(
            str(channel.number), lambda: self._source.playlist(channel, segment_url)
        )

    def catch_up_playlist(self, channel: Channel, span: CatchupSpan, text: str) -> str:
        """Hand out ``text``, the playlist of ``span`` of ``channel`` (checked and enabled
        by the caller), to a player: its audience takes a tuner, or renews its lease (raises
        TunersBusy)."""
        self._lease(self._catchup_key(channel, span))
        return text

    async def catch_up_segment(
        self, channel: Channel, span: CatchupSpan, sequence: int, aired: int
    ) -> bytes:
        """Segment ``sequence`` of the catch-up playlist of ``span`` (checked by the
        caller): renews the audience's lease, or takes a tuner again after it lapsed (a
        paused player). Raises TunersBusy, SourceUnavailable (the render failed or took
        over :data:`RENDER_TIMEOUT` s) and NotFound (the channel went meanwhile)."""
        key = self._catchup_key(channel, span)
        late = f"segment {sequence} of {key} was not made in time"
        async with self._leased(key, RENDER_TIMEOUT, late):
            return await self._source.catchup_segment(channel, span, sequence, aired)

    @staticmethod
    def _catchup_key(channel: Channel, span: CatchupSpan) -> str:
        return f"{span.key(str(channel.number))}#hls"

    def _lease(self, key: str) -> TunerSlot:
        """The HLS audience of ``key``: its tuner, taken now (TunersBusy) or renewed."""
        lease = self._hls.get(key)
        slot = self._acquire(key) if lease is None or lease[1].released else lease[1]
        self._hls[key] = (asyncio.get_running_loop().time(), slot)
        return slot

    @contextlib.asynccontextmanager
    async def _leased(self, key: str, within: float, late: str) -> AsyncIterator[TunerSlot]:
        """Work for the HLS audience of ``key`` within ``within`` s under its lease
        (:meth:`_lease`). When it fails or runs out of time (SourceUnavailable ``late``), a
        lease this request took is given back; one it renewed stays with its audience."""
        fresh = key not in self._hls
        slot = self._lease(key)
        try:
            async with asyncio.timeout(within):
                yield slot
        except TimeoutError as err:
            if fresh and self._drop_lease(key, slot):
                self._refused(slot, None)
            raise SourceUnavailable(late) from err
        except BaseException as err:
            if fresh and self._drop_lease(key, slot):
                self._refused(slot, err)
            raise

    async def _leased_playlist(self, key: str, fetch: Callable[[], Awaitable[str]]) -> str:
        """``fetch()`` under the HLS lease of tuner key ``key`` (see the module docstring)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        late = f"channel {key} produced no HLS segment in time"
        async with self._leased(key, FIRST_SEGMENT_TIMEOUT, late) as slot:
            text = await fetch()
        if not slot.released:  # retired meanwhile: no lease to renew
            self._hls[key] = (loop.time(), slot)
        self._metrics.join_latency.labels("hls").observe(loop.time() - started)
        return text

    def _drop_lease(self, key: str, slot: TunerSlot) -> bool:
        """Forget ``key``'s HLS lease if it is still ``slot``'s; returns whether it was."""
        lease = self._hls.get(key)
        if lease is None or lease[1] is not slot:
            return False
        del self._hls[key]
        return True

    async def retire(self, number: ChannelNumber, reason: str) -> None:
        """``number`` was deleted, disabled or renumbered: its tuners (live, replays and
        catch-up HLS audiences) are freed and its HLS leases dropped at once, and its
        viewers get a short "removed" slate, then the end of their streams. A channel that
        is not streaming is left alone."""
        key = str(number)
        catch_up = [held for held in self._hls if held.startswith(f"{key}@")]
        for held in (key, *catch_up):
            self._hls.pop(held, None)
        for held in (key, *catch_up, *self._source.replaying(key)):
            self.tuners.release_channel(held)
        await self._source.retire(number, reason)

    def hls_segment(self, number: ChannelNumber, sequence: int) -> bytes:
        """One segment of a running channel's HLS window; raises NotFound when it is not
        (or no longer) there."""
        data = self._source.segment(number, sequence)
        if data is None:
            raise NotFound(f"segment {sequence} of channel {number} is not available")
        return data

    def sweep(self) -> int:
        """Release the tuners of HLS audiences that stopped asking; returns how many."""
        now = asyncio.get_running_loop().time()
        gone = [key for key, (seen, _) in self._hls.items() if now - seen >= HLS_LEASE_SECONDS]
        for key in gone:
            self._hls.pop(key)[1].release()
        return len(gone)

    async def enabled(self, number: ChannelNumber) -> Channel:
        """``number``'s channel; NotFound (counted as a refusal) when it is disabled."""
        return await self._enabled(number)

    async def _enabled(self, number: ChannelNumber) -> Channel:
        channel = await self._channels.channel(number)
        if not channel.enabled:
            self._metrics.tune_refusals.labels("disabled").inc()
            raise NotFound(f"channel {number} is disabled")
        return channel

    def _acquire(self, key: str) -> TunerSlot:
        self.sweep()
        try:
            return self.tuners.acquire(key)
        except TunersBusy:
            self._metrics.tune_refusals.labels("tuners_busy").inc()
            raise

    def _refused(self, slot: TunerSlot, err: BaseException | None) -> None:
        """Give the tuner back after a failed open; ``None`` or SourceUnavailable count as
        an "unavailable" refusal."""
        slot.release()
        if err is None or isinstance(err, SourceUnavailable):
            self._metrics.tune_refusals.labels("unavailable").inc()

"""The guide: the M3U lineup and the XMLTV document, from the same playout rows the
stream plays, validated before anything is served.

Generation (load, fold, validate, render, gzip) runs in a worker thread and streams:
gzip chunks are handed to the response as they are made, and the finished document is
cached (compressed) until the TTL passes or a channel or playout changes
(:class:`GuideChanges`). A guide that fails validation raises
:class:`XMLTVValidationError` (HTTP 503 with Retry-After) and is counted by reason;
there is no fallback to an unvalidated guide.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel
from exstreamtv.domain.guide import (
    GuideChannel,
    GuideMedia,
    GuidePolicy,
    Programme,
    ProgrammeKind,
)
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.media import MediaItem, MediaKind
from exstreamtv.domain.playout import PlayoutEntry, to_ms
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.guide_folding import programmes_from_entries
from exstreamtv.formats.live_guide import with_listings
from exstreamtv.formats.m3u import render_m3u
from exstreamtv.formats.xmltv import render_xmltv, validate_guide
from exstreamtv.metrics import Metrics
from exstreamtv.services.changes import GuideChanges
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.listings import ListingRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

log = logging.getLogger(__name__)
CACHE_ENTRIES = 8  # one per distinct base URL / token; bounded
CHUNK_BYTES = 64 * 1024
MEDIA_CHUNK = 5000


def channel_id(channel: Channel) -> str:
    """The stable XMLTV id / M3U tvg-id: it follows the channel's row, not its number or
    name, so renumbering a channel never remaps it in Plex."""
    return f"ch{channel.id}.exstreamtv"


@dataclass(frozen=True, slots=True)
class GuideLinks:
    """How the URLs in the lineup look: base URL, stream flavour and access token."""

    base_url: str
    hls: bool = False
    token: str | None = None

    def query(self) -> str:
        return f"?{urlencode({'token': self.token})}" if self.token else ""

    def stream(self, number: str) -> str:
        suffix = "m3u8" if self.hls else "ts"
        return f"{self.base_url}/iptv/channel/{number}.{suffix}{self.query()}"

    def logo(self, channel: Channel) -> str:
        return f"{self.base_url}/iptv/logos/{channel.number}.png{self.query()}"

    @property
    def guide(self) -> str:
        return f"{self.base_url}/iptv/xmltv.xml{self.query()}"


@dataclass(slots=True)
class GuideDocument:
    """A generated XMLTV document: gzip bytes, complete once ``finished``."""

    etag: str
    last_modified: datetime
    chunks: list[bytes] = field(default_factory=list)
    finished: bool = False
    ready: asyncio.Condition = field(default_factory=asyncio.Condition)
    failed: BaseException | None = None
    version: int = 0
    made_at: float = 0.0

    async def gzip_stream(self) -> AsyncIterator[bytes]:
        """The gzip bytes, following generation as it happens (all at once when complete)."""
        if self.finished:
            yield b"".join(self.chunks)
            return
        sent = 0
        while True:
            async with self.ready:
                await self.ready.wait_for(partial(self._has_more, sent))
            while sent < len(self.chunks):
                yield self.chunks[sent]
                sent += 1
            if self._complete(sent):
                return

    def _has_more(self, sent: int) -> bool:
        return len(self.chunks) > sent or self.finished

    def _complete(self, sent: int) -> bool:
        return self.finished and sent >= len(self.chunks)

    async def plain_stream(self) -> AsyncIterator[bytes]:
        """The document uncompressed, for clients that do not accept gzip."""
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        async for chunk in self.gzip_stream():
            if data := inflate.decompress(chunk):
                yield data
        if tail := inflate.flush():
            yield tail


class GuideService:
    """Lineup and XMLTV for the current channels and playouts."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        changes: GuideChanges,
        *,
        on_generated: Callable[[], None] | None = None,
    ) -> None:
        """``on_generated`` is called after each guide passes validation; it must return at
        once (metadata health starts its own background cycle)."""
        self._sessions = sessions
        self._on_generated = on_generated
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._changes = changes
        self._cache: OrderedDict[GuideLinks, GuideDocument] = OrderedDict()
        self._channels: tuple[int, list[Channel]] | None = None
        self._policy = GuidePolicy(
            fold_gaps_shorter_than_ms=settings.epg.fold_gaps_shorter_than_minutes * 60_000,
            offline_title=settings.epg.offline_title,
            pre_roll_starts_programme=settings.epg.guide_starts_with_pre_roll,
        )

    async def lineup(self, links: GuideLinks) -> list[GuideChannel]:
        """The enabled channels as the guide and M3U present them."""
        return [self._guide_channel(c, links) for c in await self._enabled_channels()]

    async def m3u(self, links: GuideLinks) -> str:
        """The playlist; raises (and counts) :class:`XMLTVValidationError` for an invalid
        lineup, as the guide would."""
        channels = await self.lineup(links)
        try:
            self._check_lineup(channels)
        except XMLTVValidationError as err:
            self._refused(err)
            raise
        return render_m3u(channels, guide_url=links.guide)

    async def xmltv(self, links: GuideLinks) -> GuideDocument:
        """The cached document for ``links``, or a new one being generated.

        Raises :class:`XMLTVValidationError` before any byte is produced when the lineup or
        a programme is invalid.
        """
        cached = self._cache.get(links)
        if cached is not None and self._fresh(cached):
            self._cache.move_to_end(links)
            return cached
        return await self._generate(links)

    async def enabled_lineup(self, links: GuideLinks) -> list[tuple[Channel, GuideChannel]]:
        """The enabled channels in number order, each with its lineup entry."""
        return [(c, self._guide_channel(c, links)) for c in await self._enabled_channels()]

    @property
    def policy(self) -> GuidePolicy:
        """How playout entries fold into programmes (from the ``epg`` settings)."""
        return self._policy

    def _fresh(self, document: GuideDocument) -> bool:
        """Usable from the cache: complete or in progress, unchanged data, within the TTL."""
        age = self._clock.monotonic() - document.made_at
        return (
            document.failed is None
            and document.version == self._changes.version
            and age < self._settings.epg.cache_ttl_sec
        )

    async def _generate(self, links: GuideLinks) -> GuideDocument:
        started = self._clock.monotonic()  # the whole generation is timed (Section H)
        version = self._changes.version
        channels = await self._enabled_channels()
        lineup = [self._guide_channel(c, links) for c in channels]
        programmes, unmatched = await self._programmes(channels, lineup)
        try:
            await asyncio.to_thread(self._validate, lineup, programmes, unmatched)
        except XMLTVValidationError as err:
            self._refused(err)
            raise
        now = self._clock.now()
        document = GuideDocument(
            etag=_etag(version, links, now), last_modified=now, version=version,
            made_at=self._clock.monotonic(),
        )  # fmt: skip
        self._remember(links, document)
        task = asyncio.create_task(self._render(document, lineup, programmes, started))
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
        if self._on_generated is not None:
            self._on_generated()
        return document

    def _refused(self, err: XMLTVValidationError) -> None:
        self._metrics.guide_validation_failures.labels(err.reason).inc()
        log.warning("guide refused: %s", err.message, extra={"channel": err.channel or "-"})

    def _remember(self, links: GuideLinks, document: GuideDocument) -> None:
        self._cache[links] = document
        self._cache.move_to_end(links)
        while len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)

    async def _render(
        self,
        document: GuideDocument,
        lineup: list[GuideChannel],
        programmes: list[Programme],
        started: float,
    ) -> None:
        loop = asyncio.get_running_loop()

        def publish(chunk: bytes) -> None:
            async def add() -> None:
                async with document.ready:
                    document.chunks.append(chunk)
                    document.ready.notify_all()

            asyncio.run_coroutine_threadsafe(add(), loop).result()

        try:
            await asyncio.to_thread(_compress_into, render_xmltv(lineup, programmes), publish)
        except Exception as err:  # the top of a task: log, count, fail the waiting responses
            log.exception("guide rendering failed")
            document.failed = err
        finally:
            async with document.ready:
                document.finished = True
                document.ready.notify_all()
        self._metrics.guide_generation.observe(self._clock.monotonic() - started)

    def _validate(
        self, lineup: list[GuideChannel], programmes: list[Programme], unmatched: list[str]
    ) -> None:
        self._check_lineup(lineup)
        self._check_mismatch(lineup, unmatched)
        validate_guide(
            lineup, programmes, episode_num_required=self._settings.epg.episode_num_required
        )

    def _check_mismatch(self, lineup: Sequence[GuideChannel], unmatched: list[str]) -> None:
        """Refuse the guide when too many lineup.json channels have no guide data.

        A channel with a schedule but no playout rows in the horizon (a failed or expired
        build) has nothing real to show; Plex would map it to nothing. Channels without a
        schedule are honestly offline and do not count.
        """
        threshold = self._settings.epg.plex_xmltv_mismatch_ratio_threshold
        if lineup and len(unmatched) / len(lineup) > threshold:
            shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
            raise XMLTVValidationError(
                f"{len(unmatched)} of {len(lineup)} channels have a schedule but no guide data "
                f"(channels {shown}); above the {threshold:.0%} mismatch threshold",
                reason="lineup_mismatch",
                channel=unmatched[0],
            )

    def _check_lineup(self, lineup: Sequence[GuideChannel]) -> None:
        validate_guide(lineup, (), episode_num_required=False)

    async def _enabled_channels(self) -> list[Channel]:
        """Enabled channels in number order, cached until a channel or playout changes."""
        version = self._changes.version
        if self._channels is not None and self._channels[0] == version:
            return self._channels[1]
        async with self._sessions() as session:
            channels = [c for c in await ChannelRepository(session).all() if c.enabled]
        self._channels = (version, channels)
        return channels

    async def _programmes(
        self, channels: list[Channel], lineup: list[GuideChannel]
    ) -> tuple[list[Programme], list[str]]:
        """The programmes of every channel, and the numbers of channels that have a
        schedule but no playout rows in the horizon."""
        now = self._clock.now()
        start, end = (
            now - timedelta(hours=1),
            now + timedelta(hours=self._settings.playout.horizon_hours),
        )
        async with self._sessions() as session:
            entries = await PlayoutRepository(session).all_entries(start, end)
            ids = sorted({e.media_id for es in entries.values() for e in es if e.media_id})
            media: dict[int, GuideMedia] = {}
            for at in range(0, len(ids), MEDIA_CHUNK):  # bounded query parameters
                found = await MediaRepository(session).by_ids(ids[at : at + MEDIA_CHUNK])
                media.update((item.id, guide_media(item)) for item in found)
            listings = await live_listings(session, media, start, end)
        window = (to_ms(start), to_ms(end))
        return await asyncio.to_thread(
            self._fold, channels, lineup, entries, media, window, listings=listings
        )

    def _fold(
        self,
        channels: list[Channel],
        lineup: list[GuideChannel],
        entries: dict[int, list[PlayoutEntry]],
        media: dict[int, GuideMedia],
        window: tuple[int, int],
        *,
        listings: Mapping[int, Sequence[Listing]],
    ) -> tuple[list[Programme], list[str]]:
        start_ms, end_ms = window
        programmes: list[Programme] = []
        unmatched: list[str] = []
        for channel, guide in zip(channels, lineup, strict=True):
            rows = entries.get(channel.id, [])
            folded = programmes_from_entries(guide.id, rows, media, self._policy)
            folded = with_listings(folded, rows, listings)  # relayed live: its own guide
            if not folded and channel.schedule_id is not None:
                unmatched.append(guide.number)
            programmes.extend(folded or [_offline(guide.id, start_ms, end_ms, self._policy)])
        return programmes, unmatched

    def _guide_channel(self, channel: Channel, links: GuideLinks) -> GuideChannel:
        number = str(channel.number)
        return GuideChannel(
            id=channel_id(channel),
            number=number,
            name=channel.name,
            group=channel.group,
            logo_url=links.logo(channel),
            stream_url=links.stream(number),
        )


def _offline(guide_id: str, start_ms: int, end_ms: int, policy: GuidePolicy) -> Programme:
    """A channel with no playout yet is shown as offline over the horizon (a channel with no
    programmes at all would make the guide invalid)."""
    return Programme(guide_id, start_ms, end_ms, policy.offline_title, kind=ProgrammeKind.OFFLINE)


async def live_listings(
    session: AsyncSession, media: Mapping[int, GuideMedia], start: datetime, end: datetime
) -> dict[int, list[Listing]]:
    """The listings overlapping ``[start, end)`` of the live items among ``media`` (a
    relayed channel's own guide, shown in place of the relay's programme)."""
    live = [i for i, m in media.items() if m.kind == MediaKind.LIVE.value]
    return await ListingRepository(session).between(live, start, end)


def guide_media(item: MediaItem) -> GuideMedia:
    """What the guide shows of ``item``."""
    meta = item.metadata
    return GuideMedia(
        title=meta.title,
        kind=meta.kind.value,
        show=meta.show,
        season=meta.season,
        episode=meta.episode,
        year=meta.year,
        plot=meta.plot,
        genres=meta.genres,
        content_rating=meta.content_rating,
        poster_url=None,
    )


def _etag(version: int, links: GuideLinks, made: datetime) -> str:
    digest = hashlib.sha256(f"{version}|{links}|{made.isoformat()}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def _compress_into(chunks: Iterator[bytes], publish: Callable[[bytes], None]) -> None:
    """Gzip the rendered chunks, handing ~64 KiB of compressed bytes at a time to ``publish``."""
    # Level 1: XMLTV compresses ~20:1 even so, at a third of level 6's CPU time.
    gzip = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    pending = bytearray()
    for chunk in chunks:
        pending += gzip.compress(chunk)
        if len(pending) >= CHUNK_BYTES:
            publish(bytes(pending))
            pending.clear()
    pending += gzip.flush()
    publish(bytes(pending))

"""The guide: the M3U lineup and the XMLTV document, from the same playout rows the
stream plays, validated before anything is served.

The XMLTV document is joined from per-channel fragments (``services/guide_fragments.py``)
over the guide window (:class:`GuideWindow`: from the start of the previous hour,
``epg.guide_hours`` ahead), so a change re-renders only the channels it touched. A
request gets a :class:`GuideDocument` that streams gzip as the fragments come: cached
ones at once, the others rendered in worker threads a few batches ahead of the reader.
Nothing of it runs on the event loop, and nothing holds the whole guide in memory.

Validation. The lineup, the lineup/guide mismatch and every fragment already known are
checked before the response starts, and so are the first fragments rendered: a guide
whose unknown fragments hold at most ``HOLD_PROGRAMMES`` programmes is validated whole
before its first byte. A fault is :class:`XMLTVValidationError` (HTTP 503 with
Retry-After), counted by reason. Only a larger cold guide starts streaming before all of
it is known: a fault found then ends the transfer unfinished (no ``</tv>``, no gzip
trailer, an incomplete chunked body), so no client takes it for a guide, and the next
request is refused with the 503 up front. There is never a fallback to an unvalidated
guide.

A document is reused (same object, same ETag) until a change touches its window, its
window moves (hourly), or ``epg.cache_ttl_sec`` passes; then media edits (counted by the
library's change stamp) renew every fragment.

A generation is timed (``exstreamtv_guide_generation_seconds``, the Section H baseline)
from the request that made a new document until its first stream got through every
fragment; then metadata health takes its turn. The web UI's grid
(``services/guide_grid.py``) folds the same rows with the same :attr:`GuideService.policy`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel
from exstreamtv.domain.guide import GuideChannel, GuidePolicy, GuideWindow
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.gzip_parts import DeflatedPart, GzipJoin, deflate_part
from exstreamtv.formats.m3u import render_m3u
from exstreamtv.formats.xmltv import TAIL, XmltvWriter, validate_lineup
from exstreamtv.metrics import Metrics
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.guide_fragments import (
    Edition,
    FragmentKey,
    FragmentRenderer,
    Listed,
)
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

log = logging.getLogger(__name__)
CACHE_ENTRIES = 8  # documents: one per distinct base URL / token; bounded
CHUNK_BYTES = 64 * 1024
PLAIN_STEP = 256 * 1024  # uncompressed bytes inflated per step for non-gzip clients
_SENT_PER_CHUNK = 64  # fragments joined into one chunk when a document is sent again
HOLD_PROGRAMMES = 1000
"""Programmes rendered before the response starts, so that a small guide (or a small
change) is validated whole before its first byte."""
_TAIL = deflate_part(TAIL.encode())


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

    def catchup(self, number: str) -> str:
        """The catch-up template an IPTV app fills in: ``{utc}``/``{utcend}`` become the
        programme's start and end in Unix seconds (``docs/clients.md``)."""
        token = f"&{urlencode({'token': self.token})}" if self.token else ""
        return (
            f"{self.base_url}/iptv/channel/{number}/catchup.ts?start={{utc}}&end={{utcend}}{token}"
        )


class GuideDocument:
    """An XMLTV document: the lineup's part, then each channel's fragment, streamed.

    ``failed`` is set when a stream ended on a fault (or a rendering error); such a
    document is never reused. Once a stream got through every fragment, the document keeps
    what it sent (the very bytes the fragment cache holds, plus its trailer) while it is
    the service's latest: the next requests for it only send them.
    """

    def __init__(
        self,
        renderer: FragmentRenderer,
        *,
        etag: str,
        last_modified: datetime,
        edition: Edition,
        channels: Sequence[Listed],
        head: DeflatedPart,
        version: int,
        lineup: int,
        made_at: float,
        on_fault: Callable[[XMLTVValidationError], None],
        on_complete: Callable[[GuideDocument], None],
    ) -> None:
        self.etag = etag
        self.last_modified = last_modified
        self.edition = edition
        self.channels = channels
        self.version = version
        self.lineup = lineup
        self.made_at = made_at
        self.failed: BaseException | None = None
        self._renderer = renderer
        self.head = head
        self._on_fault = on_fault
        self._on_complete: Callable[[GuideDocument], None] | None = on_complete
        self._sent: list[bytes] | None = None

    def forget_sent(self) -> None:
        """Drop the kept bytes (another document is the latest now)."""
        self._sent = None

    async def hold(self, stale: Sequence[Listed], programmes: int) -> None:
        """Render the ``stale`` channels (those without a cached fragment, in lineup order)
        until they hold ``programmes`` programmes or all are done; raise the first fault
        among them. What is rendered here is cached (or still rendering) for the streams
        that follow."""
        source = self._renderer.fragments(stale, self.edition)
        rendered = 0
        try:
            async for _listed, fragment in source:
                if fragment.fault is not None:
                    raise fragment.fault
                rendered += fragment.programmes
                if rendered >= programmes:
                    return
        finally:
            await source.aclose()

    async def gzip_stream(self) -> AsyncIterator[bytes]:
        """The gzip bytes: the lineup's part at once, then chunks of about ``CHUNK_BYTES``
        as the fragments come.

        Raises the :class:`XMLTVValidationError` of a fragment that fails (the response
        then ends unfinished), or a rendering error."""
        try:
            async for chunk in self._gzip():
                yield chunk
        except Exception as err:
            self.failed = err
            raise

    async def _gzip(self) -> AsyncIterator[bytes]:
        sent = self._sent
        if sent is not None:
            for at in range(0, len(sent), _SENT_PER_CHUNK):
                yield b"".join(sent[at : at + _SENT_PER_CHUNK])
            return
        join = GzipJoin()
        parts = [join.header, join.add(self.head)]
        # The lineup's part goes at once: the fragments held before the response are
        # validated, and a client (or a DVR's timeout) sees the guide begin.
        yield parts[0] + parts[1]
        pending = bytearray()
        async for _listed, fragment in self._renderer.fragments(self.channels, self.edition):
            if fragment.fault is not None:
                self._on_fault(fragment.fault)
                raise fragment.fault
            if fragment.part is not None:
                data = join.add(fragment.part)
                parts.append(data)
                pending += data
            if len(pending) >= CHUNK_BYTES:
                yield bytes(pending)
                pending.clear()
        end = join.add(_TAIL) + join.trailer()
        parts.append(end)
        pending += end
        complete, self._on_complete = self._on_complete, None
        if complete is not None:  # the first stream that got through every fragment
            if sum(map(len, parts)) <= self._renderer.cache.budget:  # never past the cache's
                self._sent = parts
            complete(self)
        yield bytes(pending)

    async def plain_stream(self) -> AsyncIterator[bytes]:
        """The document uncompressed, for clients that do not accept gzip: inflated
        :data:`PLAIN_STEP` bytes at a time, the loop running between steps (a gzip chunk
        of a large guide inflates to tens of megabytes, far past what one callback may
        take)."""
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        async for chunk in self.gzip_stream():
            data = inflate.decompress(chunk, PLAIN_STEP)
            while data:
                yield data
                await asyncio.sleep(0)
                data = inflate.decompress(inflate.unconsumed_tail, PLAIN_STEP)
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
        """``on_generated`` is called once a new guide has been streamed whole (every
        fragment validated), not while it is being rendered; it must return at once
        (metadata health starts its own background cycle)."""
        self._sessions = sessions
        self._on_generated = on_generated
        self._settings = settings
        self._catchup_days = settings.catchup.days
        self._clock = clock
        self._metrics = metrics
        self._changes = changes
        self._documents: OrderedDict[GuideLinks, GuideDocument] = OrderedDict()
        self._channels: tuple[int, list[Channel]] | None = None
        self._media_stamp: tuple[int, datetime | None] | None = None
        self._run = clock.now().isoformat()  # ETags never repeat across restarts
        self._edition: Edition | None = None
        self._covered: tuple[GuideWindow, int, set[int]] | None = None
        self._policy = GuidePolicy(
            fold_gaps_shorter_than_ms=settings.epg.fold_gaps_shorter_than_minutes * 60_000,
            offline_title=settings.epg.offline_title,
            pre_roll_starts_programme=settings.epg.guide_starts_with_pre_roll,
        )
        self.fragments = FragmentRenderer(
            sessions,
            changes,
            self._policy,
            cache_bytes=int(settings.epg.fragment_cache_mib * 1024 * 1024),
            episode_num_required=settings.epg.episode_num_required,
        )

    async def close(self) -> None:
        """Stop renders still running."""
        await self.fragments.close()

    async def lineup(self, links: GuideLinks) -> list[GuideChannel]:
        """The enabled channels as the guide and M3U present them."""
        return [self._guide_channel(c, links) for c in await self._enabled_channels()]

    async def m3u(self, links: GuideLinks) -> str:
        """The playlist; raises (and counts) :class:`XMLTVValidationError` for an invalid
        lineup, as the guide would."""
        channels = await self.lineup(links)
        try:
            validate_lineup(channels)
        except XMLTVValidationError as err:
            self._refused(err)
            raise
        return render_m3u(channels, guide_url=links.guide, catchup_days=self._catchup_days)

    def window(self) -> GuideWindow:
        """The window the guide lists now."""
        days = self._catchup_days
        past = min(self._settings.catchup.guide_past_hours, days * 24) if days else 1
        return GuideWindow.at(to_ms(self._clock.now()), self._settings.epg.guide_hours, past)

    async def xmltv(self, links: GuideLinks) -> GuideDocument:
        """The current document for ``links``: the cached one while nothing it shows
        changed, else a new one.

        Raises :class:`XMLTVValidationError` before any byte is produced when the lineup,
        the mismatch threshold, a known fragment or one rendered before the response
        fails (see the module docstring).
        """
        window = self.window()
        cached = self._documents.get(links)
        if cached is not None and self._reusable(cached, window):
            self._documents.move_to_end(links)
            return cached
        try:
            document = await self._document(links, window)
        except XMLTVValidationError as err:
            self._refused(err)
            raise
        self._remember(links, document)
        return document

    async def enabled_lineup(self, links: GuideLinks) -> list[tuple[Channel, GuideChannel]]:
        """The enabled channels in number order, each with its lineup entry."""
        return [(c, self._guide_channel(c, links)) for c in await self._enabled_channels()]

    @property
    def policy(self) -> GuidePolicy:
        """How playout entries fold into programmes (from the ``epg`` settings)."""
        return self._policy

    def _reusable(self, document: GuideDocument, window: GuideWindow) -> bool:
        """Still right: not failed, same window, lineup and epoch, within the TTL, and no
        channel of it changed in its window since it was made."""
        changes = self._changes
        age = self._clock.monotonic() - document.made_at
        if (
            document.failed is not None
            or document.edition != Edition(window, changes.epoch)
            or document.lineup != changes.lineup
            or age >= self._settings.epg.cache_ttl_sec
        ):
            return False
        return not any(
            changes.changed_since(listed.channel_id, document.version, window.end_ms)
            for listed in document.channels
        )

    async def _document(self, links: GuideLinks, window: GuideWindow) -> GuideDocument:
        started = self._clock.monotonic()  # the whole generation is timed (Section H)
        await self._check_media()
        changes = self._changes
        version, lineup_version = changes.version, changes.lineup
        channels = await self._enabled_channels()
        previous = self._documents.get(links)
        if previous is not None and previous.lineup == lineup_version:  # lineup's alone: kept
            listed, head = previous.channels, previous.head
        else:
            listed = [Listed(c.id, self._guide_channel(c, links)) for c in channels]
            guides = [item.guide for item in listed]
            validate_lineup(guides)
            head = await asyncio.to_thread(
                lambda: deflate_part(XmltvWriter().head(guides).encode())
            )
        await self._check_mismatch(channels, window)
        edition = Edition(window, changes.epoch)
        if edition == self._edition:  # one object per edition: fragments compare by identity
            edition = self._edition
        self._edition = edition
        versions, stale = [], []
        for item in listed:
            known = self.fragments.valid(item, FragmentKey(item.channel_id, edition))
            if known is None:
                stale.append(item)
            elif known.fault is not None:
                raise known.fault
            versions.append(version if known is None else known.version)
        document = GuideDocument(
            self.fragments, etag=_etag(self._run, links, edition, lineup_version, versions),
            last_modified=self._clock.now(), edition=edition, channels=listed, head=head,
            version=version, lineup=lineup_version, made_at=started,
            on_fault=self._refused, on_complete=self._generated,
        )  # fmt: skip
        await document.hold(stale, HOLD_PROGRAMMES)
        return document

    async def _check_media(self) -> None:
        """Renew every fragment when the library's media changed (titles, say)."""
        async with self._sessions() as session:
            stamp = await MediaRepository(session).stamp()
        if self._media_stamp is not None and stamp != self._media_stamp:
            self._changes.bump()
        self._media_stamp = stamp

    async def _check_mismatch(self, channels: Sequence[Channel], window: GuideWindow) -> None:
        """Refuse the guide when too many lineup.json channels have no guide data.

        A channel with a schedule but no playout rows in the window (a failed or expired
        build) has nothing real to show; Plex would map it to nothing. Channels without a
        schedule are honestly offline and do not count.
        """
        listed = await self._channels_with_entries(channels, window)
        unmatched = [
            str(c.number) for c in channels if c.schedule_id is not None and c.id not in listed
        ]
        threshold = self._settings.epg.plex_xmltv_mismatch_ratio_threshold
        if channels and len(unmatched) / len(channels) > threshold:
            shown = ", ".join(unmatched[:5]) + (" ..." if len(unmatched) > 5 else "")
            raise XMLTVValidationError(
                f"{len(unmatched)} of {len(channels)} channels have a schedule but no guide "
                f"data (channels {shown}); above the {threshold:.0%} mismatch threshold",
                reason="lineup_mismatch",
                channel=unmatched[0],
            )

    async def _channels_with_entries(
        self, channels: Sequence[Channel], window: GuideWindow
    ) -> set[int]:
        """The ids of ``channels`` with an entry in ``window``: for the same window, only
        the channels whose playout changed since the last answer are asked again."""
        changes, known = self._changes, self._covered
        version = changes.version  # before reading: a change meanwhile is asked next time
        start, end = from_ms(window.start_ms), from_ms(window.end_ms)
        async with self._sessions() as session:
            repo = PlayoutRepository(session)
            if known is None or known[0] != window:
                found = await repo.channels_with_entries(start, end)
            else:
                _, seen, before = known
                changed = [
                    c.id for c in channels if changes.changed_since(c.id, seen, window.end_ms)
                ]
                found = before - set(changed)
                if changed:
                    found |= await repo.channels_with_entries(start, end, changed)
        self._covered = (window, version, found)
        return found

    def _generated(self, document: GuideDocument) -> None:
        """A new guide went out whole: its generation is timed (from the request that made
        it), it is the one whose bytes are kept (memory stays within the fragment cache's:
        they are the same bytes, bar the lineup's part), and metadata health takes its
        turn."""
        self._metrics.guide_generation.observe(self._clock.monotonic() - document.made_at)
        for other in self._documents.values():
            if other is not document:
                other.forget_sent()
        if self._on_generated is not None:
            self._on_generated()

    def _refused(self, err: XMLTVValidationError) -> None:
        self._metrics.guide_validation_failures.labels(err.reason).inc()
        log.warning("guide refused: %s", err.message, extra={"channel": err.channel or "-"})

    def _remember(self, links: GuideLinks, document: GuideDocument) -> None:
        self._documents[links] = document
        self._documents.move_to_end(links)
        while len(self._documents) > CACHE_ENTRIES:
            self._documents.popitem(last=False)

    async def _enabled_channels(self) -> list[Channel]:
        """Enabled channels in number order, cached until a channel changes."""
        lineup = self._changes.lineup
        if self._channels is not None and self._channels[0] == lineup:
            return self._channels[1]
        async with self._sessions() as session:
            channels = [c for c in await ChannelRepository(session).all() if c.enabled]
        self._channels = (lineup, channels)
        return channels

    def _guide_channel(self, channel: Channel, links: GuideLinks) -> GuideChannel:
        number = str(channel.number)
        return GuideChannel(
            id=channel_id(channel),
            number=number,
            name=channel.name,
            group=channel.group,
            logo_url=links.logo(channel),
            stream_url=links.stream(number),
            catchup_url=links.catchup(number) if self._catchup_days else None,
        )


def _etag(run: str, links: GuideLinks, edition: Edition, lineup: int, versions: list[int]) -> str:
    made = f"{run}|{links}|{edition}|{lineup}|{versions}"
    return f'"{hashlib.sha256(made.encode()).hexdigest()[:32]}"'

"""Per-channel guide fragments: one channel's programmes over the guide window, folded
from its playout rows, validated, rendered as XMLTV and deflated, cached by (channel,
playout version, window).

A guide is joined from fragments (``services/guide.py``), so a change re-renders only the
channels it touched: :class:`GuideChanges` says which, and from when (a build that
appends beyond the window's end changes nothing the fragment shows).

- **Off the event loop.** Rows and media become values in worker threads (see
  ``PlayoutRepository.guide_entries``); folding, validation, rendering and compression run
  in one worker thread per batch of channels.
- **Bounded memory.** The cache holds compressed fragments up to ``epg.fragment_cache_mib``
  and drops the least recently used beyond it; :meth:`FragmentRenderer.fragments` renders
  at most ``LOOKAHEAD`` batches ahead of its reader, so a guide larger than the cache is
  streamed, never held.
- **No double work.** A fragment being rendered for one reader is awaited by the others,
  and what a programme shows (a media item's checked and escaped elements) is rendered
  once per change epoch, not once per batch: one writer, whose memos are bounded by
  ``MEDIA_MEMO``, serves every batch until the epoch changes.
- **Relayed live channels.** A channel relaying a live item that has listings (its
  source's own guide, stored by scans) shows them in place of the relay's programme
  (``formats/live_guide.py``). They are read with the batch's rows, never memoised: a scan
  that changes them reports each channel relaying the item to :class:`GuideChanges`
  (``listings_changed``), which makes that channel's fragment stale like a playout change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.domain.guide import GuideChannel, GuideMedia, GuidePolicy, GuideWindow, Programme
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.playout import from_ms
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.guide_folding import GuideEntry, Span, describe, fold, offline_span
from exstreamtv.formats.gzip_parts import DeflatedPart, deflate_part
from exstreamtv.formats.live_guide import relayed, with_listings
from exstreamtv.formats.xmltv import GuideStats, XmltvWriter
from exstreamtv.services.changes import GuideChanges
from exstreamtv.store.listings import ListingRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

log = logging.getLogger(__name__)
FIRST_BATCH = 8  # channels: small, so the first fragments come at once
MAX_BATCH = 64
LOOKAHEAD = 2  # batches rendered ahead of a reader
MEDIA_MEMO = 20_000  # guide descriptions of media kept between batches
FRAGMENT_OVERHEAD = 400  # bytes a cached fragment costs beyond its compressed text


@dataclass(frozen=True, slots=True)
class Listed:
    """A channel as the guide lists it: its row id and its guide entry."""

    channel_id: int
    guide: GuideChannel


@dataclass(frozen=True, slots=True)
class Edition:
    """What a guide is made for: its window, and the change epoch (a bump renews all)."""

    window: GuideWindow
    epoch: int


@dataclass(frozen=True, slots=True)
class FragmentKey:
    """What a fragment was made for: a channel in an edition."""

    channel_id: int
    edition: Edition


@dataclass(frozen=True, slots=True)
class Fragment:
    """A channel's ``<programme>`` elements over a window, deflated (``part``), with their
    counts; or the fault that refuses them. ``version`` is the change version its rows
    were read at."""

    key: FragmentKey
    version: int
    part: DeflatedPart | None
    stats: GuideStats | None
    fault: XMLTVValidationError | None = None

    @property
    def weight(self) -> int:
        """Bytes it holds in the cache (about)."""
        return FRAGMENT_OVERHEAD + (len(self.part.data) if self.part is not None else 0)

    @property
    def programmes(self) -> int:
        return self.stats.programmes if self.stats is not None else 0


class FragmentCache:
    """Fragments by channel id, least recently used first, within a byte budget."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._fragments: OrderedDict[int, Fragment] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._fragments)

    def get(self, channel_id: int) -> Fragment | None:
        found = self._fragments.get(channel_id)
        if found is not None:
            self._fragments.move_to_end(channel_id)
        return found

    def clear(self) -> None:
        """Drop every fragment (each is rendered again when next asked for)."""
        self._fragments.clear()
        self.bytes = 0

    def put(self, fragment: Fragment) -> None:
        """Keep ``fragment`` (replacing its channel's), then drop the least recently used
        until the cache fits its budget."""
        channel_id = fragment.key.channel_id
        old = self._fragments.pop(channel_id, None)
        if old is not None:
            self.bytes -= old.weight
        self._fragments[channel_id] = fragment
        self.bytes += fragment.weight
        while self.bytes > self.budget and self._fragments:
            _, dropped = self._fragments.popitem(last=False)
            self.bytes -= dropped.weight


class FragmentRenderer:
    """Makes and caches fragments (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        changes: GuideChanges,
        policy: GuidePolicy,
        *,
        cache_bytes: int,
        episode_num_required: bool,
    ) -> None:
        self._sessions = sessions
        self._changes = changes
        self._policy = policy
        self._required = episode_num_required
        self.cache = FragmentCache(cache_bytes)
        self._inflight: dict[FragmentKey, asyncio.Future[Fragment]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._media: OrderedDict[int, GuideMedia] = OrderedDict()
        self._media_epoch = -1
        self._writer = XmltvWriter(MEDIA_MEMO)
        self.renders = 0
        """Fragments rendered since start-up (each one channel's)."""

    def valid(self, listed: Listed, key: FragmentKey) -> Fragment | None:
        """The cached fragment of ``listed`` if it is still right for ``key``."""
        found = self.cache.get(listed.channel_id)
        if found is None:
            return None
        made_for = found.key.edition
        # Identity first: every fragment of a document's edition shares its object.
        if made_for is not key.edition and made_for != key.edition:
            return None
        if self._changes.changed_since(listed.channel_id, found.version, key.edition.window.end_ms):
            return None
        return found

    async def fragments(
        self, channels: Sequence[Listed], edition: Edition
    ) -> AsyncGenerator[tuple[Listed, Fragment]]:
        """Each channel's fragment, in order: cached ones at once, the others rendered in
        batches at most ``LOOKAHEAD`` ahead of the reader. Raises what rendering raised
        (a database error, say); a fault is in the fragment, not raised."""
        pending: dict[int, asyncio.Future[Fragment]] = {}
        ends: deque[int] = deque()  # where each launched batch's look ended, oldest first
        cursor, size = 0, FIRST_BATCH
        for index, listed in enumerate(channels):
            while ends and ends[0] <= index:
                ends.popleft()
            while cursor < len(channels) and len(ends) < LOOKAHEAD:
                cursor = self._launch(channels, max(cursor, index), size, edition, pending)
                ends.append(cursor)
                size = min(size * 2, MAX_BATCH)
            future = pending.pop(listed.channel_id, None)
            if future is None:
                ready = self.valid(listed, FragmentKey(listed.channel_id, edition))
                if ready is not None:
                    yield listed, ready
                    continue
                # Stale since the look ahead passed it (or dropped from a full cache).
                self._launch(channels, index, 1, edition, pending)
                future = pending.pop(listed.channel_id)
            yield listed, await future

    def _launch(
        self,
        channels: Sequence[Listed],
        start: int,
        size: int,
        edition: Edition,
        pending: dict[int, asyncio.Future[Fragment]],
    ) -> int:
        """Start rendering up to ``size`` channels needing it from ``start`` on; their
        futures go to ``pending``. Returns the index after the last channel looked at."""
        jobs: list[Listed] = []
        index = start
        while index < len(channels) and len(jobs) < size:
            listed = channels[index]
            index += 1
            key = FragmentKey(listed.channel_id, edition)
            if listed.channel_id in pending or self.valid(listed, key) is not None:
                continue
            running = self._inflight.get(key)
            if running is not None:
                pending[listed.channel_id] = running
                continue
            future = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieve)
            self._inflight[key] = pending[listed.channel_id] = future
            jobs.append(listed)
        if jobs:
            task = asyncio.create_task(self._render(jobs, edition), name="guide-fragments")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return index

    async def _render(self, jobs: list[Listed], edition: Edition) -> None:
        keys = [FragmentKey(job.channel_id, edition) for job in jobs]
        try:
            version = self._changes.version  # before reading: a later change is noticed
            entries, media, listings = await self._load(jobs, edition)
            rendered = await asyncio.to_thread(
                _render_all, jobs, keys, entries=entries, media=media, listings=listings,
                policy=self._policy, required=self._required, writer=self._writer,
            )  # fmt: skip
            # In a thread of its own: zlib runs without the GIL, so this batch is compressed
            # while the next one is rendered.
            made = await asyncio.to_thread(_compress_all, rendered, version)
        except BaseException as err:
            for key in keys:
                future = self._inflight.pop(key, None)
                if future is not None and not future.done():
                    future.set_exception(err)
            if not isinstance(err, Exception):
                raise
            log.exception("rendering guide fragments failed")
            return
        for fragment in made:
            self.renders += 1
            key = fragment.key
            if not self._changes.changed_since(key.channel_id, version, edition.window.end_ms):
                self.cache.put(fragment)
            future = self._inflight.pop(key, None)
            if future is not None and not future.done():
                future.set_result(fragment)

    async def _load(
        self, jobs: list[Listed], edition: Edition
    ) -> tuple[dict[int, list[GuideEntry]], dict[int, GuideMedia], dict[int, list[Listing]]]:
        """The jobs' entries over the window, the guide description of their media, and
        the listings of the live items among them."""
        if edition.epoch != self._media_epoch:
            self._media.clear()
            self._writer = XmltvWriter(MEDIA_MEMO)  # batches in flight keep the old one
            self._media_epoch = edition.epoch
        window = edition.window
        start, end = from_ms(window.start_ms), from_ms(window.end_ms)
        async with self._sessions() as session:
            entries = await PlayoutRepository(session).guide_entries(
                start, end, [job.channel_id for job in jobs]
            )
            wanted = {e[3] for es in entries.values() for e in es if e[3] is not None}
            missing = sorted(wanted - self._media.keys())
            self._media.update(await MediaRepository(session).guide_media(missing))
            media = {m: self._media[m] for m in wanted if m in self._media}
            listings = await ListingRepository(session).live(media, start, end)
        for media_id in media:
            self._media.move_to_end(media_id)
        while len(self._media) > MEDIA_MEMO:
            self._media.popitem(last=False)
        return entries, media, listings

    async def close(self) -> None:
        """Cancel renders still running (shutdown) and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


Rendered = tuple[FragmentKey, str | XMLTVValidationError, GuideStats | None]
"""A channel's ``<programme>`` text and counts, or the fault that refuses them."""


def _render_all(
    jobs: list[Listed],
    keys: list[FragmentKey],
    *,
    entries: dict[int, list[GuideEntry]],
    media: dict[int, GuideMedia],
    listings: dict[int, list[Listing]],
    policy: GuidePolicy,
    required: bool,
    writer: XmltvWriter,
) -> list[Rendered]:
    """Fold, check and render each job's programmes (in a worker thread)."""
    made: list[Rendered] = []
    for job, key in zip(jobs, keys, strict=True):
        window = key.edition.window
        rows = entries.get(job.channel_id, ())
        spans = fold(rows, policy) or [offline_span(window.start_ms, window.end_ms)]
        guide_id = job.guide.id

        def described(span: Span, guide_id: str = guide_id) -> Programme:
            return describe(guide_id, span, media, policy)

        try:
            if listings and relayed(rows, listings):  # its source's own guide in the relay's
                shown = with_listings([described(span) for span in spans], rows, listings)
                text, stats = writer.checked_programmes(
                    job.guide, shown, episode_num_required=required
                )
            else:
                text, stats = writer.listing(
                    job.guide, spans, described, episode_num_required=required
                )
        except XMLTVValidationError as fault:
            made.append((key, fault, None))
            continue
        made.append((key, text, stats))
    return made


def _compress_all(rendered: list[Rendered], version: int) -> list[Fragment]:
    """Each rendered text deflated as a fragment (in a worker thread)."""
    return [
        Fragment(key, version, None, None, text)
        if isinstance(text, XMLTVValidationError)
        else Fragment(key, version, deflate_part(text.encode()), stats)
        for key, text, stats in rendered
    ]


def _retrieve(future: asyncio.Future[Fragment]) -> None:
    """Mark a failure as seen: a reader that went away must not leave it unreported."""
    if not future.cancelled():
        with contextlib.suppress(BaseException):
            future.exception()

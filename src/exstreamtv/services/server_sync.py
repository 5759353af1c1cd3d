"""Syncing one media-server or online library into our media model (called by the scan).

1. List every item's id and change stamp (cheap pages) and diff against the store with the
   local scan's :func:`~exstreamtv.services.library.plan_scan`. A source that can list only
   what changed (Plex, :class:`~exstreamtv.sources.base.ChangeFeed`) is asked for the items
   changed since the newest stamp we hold, and counted: when the count shows that nothing
   was removed, that short list is the whole diff; otherwise every item is listed.
2. Fetch full items only for new or changed ids (batches, a few in parallel) and save them
   in batches, each its own transaction, with progress as the local scan reports it.
3. Mark items the source no longer lists missing (never deleted: a playout that is airing
   may reference them) and reappeared ones present.
4. Mirror the source's collections and playlists as manual collections named
   ``"<title> (<source>)"``. Collections and playlists are shared by every library of a
   source, so this step runs for one library of a source at a time (scans of two libraries
   of one source run together and never race to create the same collection).

A failure (source down, token refused, a malformed page) raises before step 3, so a failed
sync never marks anything missing. Items the source listed but would not describe, and
collections or playlists it would not let us read, are recorded as scan problems.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.guide import HOUR_MS, GuideWindow
from exstreamtv.domain.libraries import Library, MediaSource, ScanProblem
from exstreamtv.domain.listings import first_change
from exstreamtv.domain.media import FileStamp, MediaState, ScannedFile
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.errors import Conflict, SourceResponseInvalid, SourceUnavailable
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.library import ScanPlan, ScanProgress, plan_scan
from exstreamtv.sources.base import (
    Catalogue,
    ChangeFeed,
    ListingSource,
    Mirrored,
    RemoteItem,
    RemoteLibrary,
    RemoteStamp,
)
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.listings import ListingRepository
from exstreamtv.store.media import KnownFile, MediaRepository
from exstreamtv.store.media_sources import KnownRemote, MediaSourceRepository
from exstreamtv.store.playouts import PlayoutRepository

FETCH_BATCH = 50
PARALLEL_FETCHES = 4
MAX_ITEMS = 1_000_000  # per library: a server that pages forever is refused, not followed
# A changed-items listing starts this long before the newest stamp we hold: an item changed
# while the previous listing ran may carry an older stamp than items listed after it.
CURSOR_SLACK_SEC = 3600
NOT_RETURNED = "the source listed it but did not return its details (removed meanwhile?)"
NOT_PLAYABLE = "the source lists no playable file"

Opened = tuple[MediaSource, Catalogue]
Opener = Callable[[int], Awaitable[Opened]]
Sealer = Callable[[MediaSource, str], Awaitable[str]]


@dataclass(slots=True)
class _Claims:
    """Which stored row each path belongs to during one sync (paths are unique per library)."""

    known: dict[str, KnownRemote]
    seen: set[str]
    taken: set[str] = field(default_factory=set)
    reclaimed: set[int] = field(default_factory=set)
    by_path: dict[str, KnownRemote] = field(init=False)
    owner: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_path = {k.path: k for k in self.known.values()}
        self.owner = {k.id: remote_id for remote_id, k in self.known.items()}

    def place(self, item: RemoteItem) -> tuple[str, KnownRemote | None]:
        """The path to store ``item`` under and the row it updates (``None``: a new row).

        A new id whose file is a stored row whose id the server no longer lists is that
        row (Plex gives a re-added item a new id): it is updated, not duplicated. Items
        sharing one file path get distinct stored paths."""
        path = item.path or f"remote:{item.remote_id}"
        row = self.known.get(item.remote_id)
        holder = self.by_path.get(path)
        gone = holder is not None and self.owner[holder.id] not in self.seen
        if row is None and holder is not None and gone and holder.id not in self.reclaimed:
            self.reclaimed.add(holder.id)
            row = holder
        if path in self.taken or (holder is not None and (row is None or holder.id != row.id)):
            path = f"{path}#{item.remote_id}"
        self.taken.add(path)
        return path, row


class ServerSync:
    """Implements ``LibraryService``'s ``RemoteSync`` for media servers and online sources.

    ``open`` gives a library's source and its client (by source id); ``seal`` turns an
    item's stream key into what is stored (online sources keep theirs sealed: their URLs
    may carry credentials)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        open_source: Opener,
        clock: Clock,
        *,
        seal: Sealer | None = None,
        guide_hours: int = 48,
        changes: GuideChanges | None = None,
    ) -> None:
        self._sessions, self._open, self._clock, self._seal = sessions, open_source, clock, seal
        self._guide_hours = guide_hours
        self._guide = changes or GuideChanges()
        # Entries live while a sync holds or waits for them (no lifecycle to forget them).
        self._shared: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def sync(self, library: Library, progress: ScanProgress) -> None:
        """Sync ``library`` from its source; raises SourceUnavailable (or its subclass
        SourceResponseInvalid) with a message naming the source and the reason."""
        if library.source_id is None or library.external_id is None:
            raise SourceUnavailable(f"library {library.name!r} is not linked to a source library")
        source, client = await self._open(library.source_id)
        remote = RemoteLibrary(library.external_id, library.name, library.kind, library.paths)
        async with self._sessions() as session:
            known = await MediaSourceRepository(session).known_items(library.id)
        plan, listed = await self._plan(client, remote, source, known, progress)
        claims = _Claims(known, listed)
        wanted = [s.remote_id for s in plan.to_read]
        problems = await self._fetch_and_save(
            client, remote, source, library.id, wanted, claims, progress
        )
        vanished = [i for i in plan.vanished if i not in claims.reclaimed]
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            media = MediaRepository(session)
            await media.mark_missing(vanished, now, f"no longer listed by {source.name!r}")
            await media.mark_present(plan.reappeared, now)
            await LibraryRepository(session).replace_problems(library.id, problems)
        progress.bump(missing=len(vanished), processed=len(plan.reappeared))
        lock = self._shared.setdefault(source.id, asyncio.Lock())
        async with lock:
            later = await self._collections(client, remote, source)
        if isinstance(client, ListingSource):
            later += await self._listings(client, remote, source, library.id)
        if later:
            async with transaction(self._sessions) as session:
                await LibraryRepository(session).replace_problems(library.id, [*problems, *later])

    async def _listings(
        self, client: ListingSource, remote: RemoteLibrary, source: MediaSource, library_id: int
    ) -> list[ScanProblem]:
        """Store the live items' listings from the guide window's start (the start of the
        previous hour) to the horizon, and report the channels relaying an item whose
        listings changed to the guide (a cached guide fragment of theirs is stale)."""
        now = to_ms(self._clock.now())
        start = GuideWindow.at(now, self._guide_hours).start_ms
        window = (start, now + self._guide_hours * HOUR_MS)
        listings, problems = await client.listings(remote, window)
        async with transaction(self._sessions) as session:
            ids = await MediaSourceRepository(session).item_ids(source.id, listings)
            found = {ids[k]: v for k, v in listings.items() if k in ids}
            before = await ListingRepository(session).replace(library_id, found)
        changed = {
            item_id: at
            for item_id in before.keys() | found.keys()
            if (at := first_change(before.get(item_id, ()), found.get(item_id, ()), start))
            is not None
        }
        if changed:
            async with self._sessions() as session:
                relays = await PlayoutRepository(session).channels_playing(
                    changed, from_ms(min(changed.values()))
                )
            for channel_id, items in relays.items():
                self._guide.listings_changed(channel_id, min(changed[i] for i in items))
        return list(problems)

    async def _plan(
        self,
        client: Catalogue,
        remote: RemoteLibrary,
        source: MediaSource,
        known: dict[str, KnownRemote],
        progress: ScanProgress,
    ) -> tuple[ScanPlan[RemoteStamp], set[str]]:
        """What to fetch, revive and mark missing, and the ids the source lists."""
        cursor = _cursor(known)
        if isinstance(client, ChangeFeed) and cursor is not None:
            changes = await self._changes(client, remote, source, known, cursor)
            if changes is not None:
                progress.bump(total=changes.unchanged + len(changes.to_read))
                progress.bump(unchanged=changes.unchanged, processed=changes.unchanged)
                return changes, set(known) | {s.remote_id for s in changes.to_read}
        listed: dict[str, RemoteStamp] = {}  # by id: a server repeating items across pages
        async for page in client.stamps(remote):
            before = len(listed)
            listed.update((stamp.remote_id, stamp) for stamp in page)
            progress.bump(total=len(listed) - before)
            self._check_listing(source, remote, page, len(listed), before)
        plan = plan_scan(list(listed.values()), known, key=attrgetter("remote_id"))
        progress.bump(unchanged=plan.unchanged, processed=plan.unchanged)
        return plan, set(listed)

    async def _changes(
        self,
        client: ChangeFeed,
        remote: RemoteLibrary,
        source: MediaSource,
        known: dict[str, KnownRemote],
        cursor: int,
    ) -> ScanPlan[RemoteStamp] | None:
        """The plan from the items changed since ``cursor``, or ``None`` when the count says
        something was removed (only a full listing can tell what)."""
        changed: dict[str, RemoteStamp] = {}
        async for page in client.changed(remote, max(0, cursor - CURSOR_SLACK_SEC)):
            before = len(changed)
            changed.update((stamp.remote_id, stamp) for stamp in page)
            self._check_listing(source, remote, page, len(changed), before)
        total = await client.count(remote)
        present = sum(1 for k in known.values() if k.state is MediaState.PRESENT)
        revived = sum(1 for i in changed if i in known and known[i].state is MediaState.MISSING)
        new = sum(1 for i in changed if i not in known)
        if present + revived + new != total:
            return None
        plan = plan_scan(
            list(changed.values()),
            {i: known[i] for i in changed if i in known},
            key=attrgetter("remote_id"),
        )
        unchanged = total - len(plan.to_read) - len(plan.reappeared)
        return ScanPlan(plan.to_read, plan.reappeared, [], unchanged)

    @staticmethod
    def _check_listing(
        source: MediaSource, remote: RemoteLibrary, page: list[RemoteStamp], now: int, before: int
    ) -> None:
        if page and now == before:
            raise SourceResponseInvalid(
                f"{source.name!r} sent the same items again while listing {remote.title!r};"
                " its paging is broken"
            )
        if now > MAX_ITEMS:
            raise SourceResponseInvalid(
                f"{source.name!r} lists more than {MAX_ITEMS} items in {remote.title!r}; refused"
            )

    async def _fetch_and_save(  # noqa: PLR0917 - one sync's state
        self,
        client: Catalogue,
        remote: RemoteLibrary,
        source: MediaSource,
        library_id: int,
        wanted: Sequence[str],
        claims: _Claims,
        progress: ScanProgress,
    ) -> list[ScanProblem]:
        problems: list[ScanProblem] = []
        step = FETCH_BATCH * PARALLEL_FETCHES
        for start in range(0, len(wanted), step):
            ids = wanted[start : start + step]
            batches = [ids[i : i + FETCH_BATCH] for i in range(0, len(ids), FETCH_BATCH)]
            results = await asyncio.gather(*(client.items(remote, b) for b in batches))
            items = [item for batch in results for item in batch]
            returned = {item.remote_id for item in items}
            problems.extend(
                ScanProblem(f"{remote.title}: item {rid}", NOT_PLAYABLE)
                for rid in ids
                if rid not in returned
            )
            problems.extend(
                ScanProblem(f"{remote.title}: {item.path or item.remote_id}", reason)
                for item in items
                if item.technical is None and (reason := item.metadata.reason)
            )
            added = await self._save(library_id, source, items, claims)
            readable = sum(1 for item in items if item.technical is not None)
            progress.bump(
                processed=len(ids),
                added=added,
                updated=len(items) - added,
                failed=len(ids) - readable,
            )
        return problems

    async def _save(
        self, library_id: int, source: MediaSource, items: Sequence[RemoteItem], claims: _Claims
    ) -> int:
        """Insert or update one batch; returns how many rows were new."""
        scanned: list[ScannedFile] = []
        previous: dict[str, KnownFile] = {}
        extra: dict[str, dict[str, Any]] = {}
        for item in items:
            path, row = claims.place(item)
            scanned.append(
                ScannedFile(path, FileStamp(item.size, 0), item.metadata, item.technical)
            )
            if row is not None:
                previous[path] = KnownFile(row.id, FileStamp(0, 0), MediaState.PRESENT)
            key = item.stream_key
            extra[path] = {
                "remote_id": item.remote_id,
                "remote_stamp": item.stamp[:100],
                "stream_key": await self._seal(source, key) if self._seal and key else key,
            }
        async with transaction(self._sessions) as session:
            await MediaRepository(session).save_scanned(
                library_id, scanned, previous, self._clock.now(), extra
            )
        return len(scanned) - len(previous)

    async def _collections(
        self, client: Catalogue, remote: RemoteLibrary, source: MediaSource
    ) -> list[ScanProblem]:
        """Mirror the source's collections; returns what could not be mirrored and why."""
        mirrored: Mirrored = await client.collections(remote)
        problems = list(mirrored.problems)
        if not mirrored.collections:
            return problems
        try:
            await self._mirror(mirrored, source)
        except Conflict as err:  # made by another process meanwhile: the next scan updates it
            problems.append(ScanProblem(f"collections of {source.name!r}", err.message))
        return problems

    async def _mirror(self, mirrored: Mirrored, source: MediaSource) -> None:
        async with transaction(self._sessions) as session:
            ids = await MediaSourceRepository(session).item_ids(
                source.id, (m for c in mirrored.collections for m in c.member_ids)
            )
            repo = CollectionRepository(session)
            existing = {c.name: c for c in await repo.all()}
            for collection in mirrored.collections:
                name = f"{collection.title} ({source.name})"[:200]
                members = tuple(dict.fromkeys(ids[m] for m in collection.member_ids if m in ids))
                value = Collection(0, name, CollectionKind.MANUAL, item_ids=members)
                current = existing.get(name)
                if current is None and members:
                    await repo.create(value, self._clock.now())
                elif (
                    current is not None
                    and current.kind is CollectionKind.MANUAL
                    and current.item_ids != members
                ):
                    await repo.update(current.id, value)


def _cursor(known: dict[str, KnownRemote]) -> int | None:
    """The newest change stamp we hold, when the stamps are times (Plex ``updatedAt``)."""
    stamps = [int(k.stamp) for k in known.values() if k.stamp.isdigit()]
    return max(stamps) if stamps else None

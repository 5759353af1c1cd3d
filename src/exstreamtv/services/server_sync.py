"""Syncing one media-server library into our media model (called by the library scan).

1. Enumerate every item's id and change stamp (cheap pages); diff against the store with
   the local scan's :func:`~exstreamtv.services.library.plan_scan`.
2. Fetch full items only for new or changed ids (batches, a few in parallel) and save them
   in batches, each its own transaction, with progress as the local scan reports it.
3. Mark items the server no longer lists missing (never deleted: a playout that is airing
   may reference them) and reappeared ones present.
4. Mirror the server's collections and playlists as manual collections named
   ``"<title> (<source>)"``.

A failure (server down, token refused, a malformed page) raises before step 3, so a failed
sync never marks anything missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.libraries import Library, MediaSource, ScanProblem
from exstreamtv.domain.media import FileStamp, MediaState, ScannedFile
from exstreamtv.errors import SourceResponseInvalid, SourceUnavailable
from exstreamtv.services.library import ScanProgress, plan_scan
from exstreamtv.services.media_servers import MediaServerService
from exstreamtv.sources.base import MediaServerClient, RemoteItem, RemoteLibrary, RemoteStamp
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import KnownFile, MediaRepository
from exstreamtv.store.media_sources import KnownRemote, MediaSourceRepository

FETCH_BATCH = 50
PARALLEL_FETCHES = 4
MAX_ITEMS = 1_000_000  # per library: a server that pages forever is refused, not followed


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
    """Implements ``LibraryService``'s ``RemoteSync`` for Plex, Jellyfin and Emby."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        servers: MediaServerService,
        clock: Clock,
    ) -> None:
        self._sessions, self._servers, self._clock = sessions, servers, clock

    async def sync(self, library: Library, progress: ScanProgress) -> None:
        """Sync ``library`` from its server; raises SourceUnavailable (or its subclass
        SourceResponseInvalid) with a message naming the server and the reason."""
        if library.source_id is None or library.external_id is None:
            raise SourceUnavailable(f"library {library.name!r} is not linked to a server library")
        source = await self._servers.source(library.source_id)
        client = await self._servers.client(source.id)
        remote = RemoteLibrary(library.external_id, library.name, library.kind, library.paths)
        async with self._sessions() as session:
            known = await MediaSourceRepository(session).known_items(library.id)
        listed: dict[str, RemoteStamp] = {}  # by id: a server repeating items across pages
        async for page in client.stamps(remote):
            before = len(listed)
            listed.update((stamp.remote_id, stamp) for stamp in page)
            progress.bump(total=len(listed) - before)
            if page and len(listed) == before:
                raise SourceResponseInvalid(
                    f"{source.name!r} sent the same items again while listing {library.name!r};"
                    " its paging is broken"
                )
            if len(listed) > MAX_ITEMS:
                raise SourceResponseInvalid(
                    f"{source.name!r} lists more than {MAX_ITEMS} items in {library.name!r};"
                    " refused"
                )
        stamps = list(listed.values())
        plan = plan_scan(stamps, known, key=attrgetter("remote_id"))
        progress.bump(unchanged=plan.unchanged, processed=plan.unchanged)
        claims = _Claims(known, set(listed))
        wanted = [s.remote_id for s in plan.to_read]
        problems = await self._fetch_and_save(client, remote, library.id, wanted, claims, progress)
        vanished = [i for i in plan.vanished if i not in claims.reclaimed]
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            media = MediaRepository(session)
            await media.mark_missing(vanished, now, f"no longer listed by {source.name!r}")
            await media.mark_present(plan.reappeared, now)
            await LibraryRepository(session).replace_problems(library.id, problems)
        progress.bump(missing=len(vanished), processed=len(plan.reappeared))
        await self._collections(client, remote, source)

    async def _fetch_and_save(  # noqa: PLR0917 - one sync's state
        self,
        client: MediaServerClient,
        remote: RemoteLibrary,
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
                ScanProblem(f"{remote.title}: item {rid}", "the server lists no playable file")
                for rid in ids
                if rid not in returned
            )
            added = await self._save(library_id, items, claims)
            progress.bump(
                processed=len(ids),
                added=added,
                updated=len(items) - added,
                failed=len(ids) - len(items),
            )
        return problems

    async def _save(self, library_id: int, items: Sequence[RemoteItem], claims: _Claims) -> int:
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
            extra[path] = {
                "remote_id": item.remote_id,
                "remote_stamp": item.stamp[:100],
                "stream_key": item.stream_key,
            }
        async with transaction(self._sessions) as session:
            await MediaRepository(session).save_scanned(
                library_id, scanned, previous, self._clock.now(), extra
            )
        return len(scanned) - len(previous)

    async def _collections(
        self, client: MediaServerClient, remote: RemoteLibrary, source: MediaSource
    ) -> None:
        found = await client.collections(remote)
        if not found:
            return
        async with transaction(self._sessions) as session:
            ids = await MediaSourceRepository(session).item_ids(
                source.id, (m for c in found for m in c.member_ids)
            )
            repo = CollectionRepository(session)
            existing = {c.name: c for c in await repo.all()}
            for collection in found:
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

"""Browsing the media catalogue and keeping collections.

Scans call :meth:`CatalogService.sync_automatic` when they finish, which keeps one
automatic collection per library, per show and per season of a show (see
``store.collections.sync_automatic``); one sync runs at a time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.collections import (
    Collection,
    CollectionKind,
    CollectionSummary,
    SmartQuery,
)
from exstreamtv.domain.media import MediaItem
from exstreamtv.errors import NotFound
from exstreamtv.store.collections import AutomaticChanges, CollectionRepository, sync_automatic
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaFilter, MediaRepository

log = logging.getLogger(__name__)


class CatalogService:
    """Media search and collection CRUD."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._syncing = asyncio.Lock()

    async def search(
        self, where: MediaFilter, offset: int, limit: int
    ) -> tuple[list[MediaItem], int]:
        async with self._sessions() as session:
            return await MediaRepository(session).search(where, offset, limit)

    async def item(self, item_id: int) -> MediaItem:
        async with self._sessions() as session:
            found = await MediaRepository(session).get(item_id)
        if found is None:
            raise NotFound(f"media item {item_id} does not exist")
        return found

    async def collections(self) -> list[Collection]:
        async with self._sessions() as session:
            return await CollectionRepository(session).all()

    async def collection(self, collection_id: int) -> Collection:
        async with self._sessions() as session:
            return await CollectionRepository(session).get(collection_id)

    async def create_collection(self, collection: Collection) -> Collection:
        async with transaction(self._sessions) as session:
            return await CollectionRepository(session).create(collection, self._clock.now())

    async def update_collection(self, collection_id: int, collection: Collection) -> Collection:
        async with transaction(self._sessions) as session:
            return await CollectionRepository(session).update(collection_id, collection)

    async def delete_collection(self, collection_id: int) -> None:
        async with transaction(self._sessions) as session:
            await CollectionRepository(session).delete(collection_id)

    async def collection_items(self, collection_id: int) -> list[MediaItem]:
        """The media a collection holds right now."""
        async with self._sessions() as session:
            repo = CollectionRepository(session)
            return await repo.items(await repo.get(collection_id))

    async def collection_summary(self, collection_id: int) -> CollectionSummary:
        """How many present items the collection holds and their total duration."""
        async with self._sessions() as session:
            repo = CollectionRepository(session)
            return await repo.summary(await repo.get(collection_id))

    async def preview(
        self, query: SmartQuery, offset: int, limit: int
    ) -> tuple[list[MediaItem], CollectionSummary]:
        """A page of what a smart query would hold, and the count and total duration of all
        of it, without saving anything."""
        async with self._sessions() as session:
            media = MediaRepository(session)
            items, _ = await media.smart(query, offset, limit)
            return items, await media.summary(query)

    async def automatic_collection(
        self, kind: CollectionKind, show: str | None = None, season: int | None = None
    ) -> Collection:
        """The automatic collection of a show or season (case-insensitive); NotFound when
        no scan has made one."""
        for found in await self.collections():
            if (
                found.automatic
                and found.kind is kind
                and (found.show or "").lower() == (show or "").lower()
                and found.season == season
            ):
                return found
        raise NotFound(f"there is no automatic {kind} collection for {show!r}")

    async def sync_automatic(self) -> AutomaticChanges:
        """Bring the automatic collections in line with the catalogue (one at a time)."""
        async with self._syncing, transaction(self._sessions) as session:
            changes = await sync_automatic(session, self._clock.now())
        if changes.created or changes.removed or changes.renamed:
            log.info(
                "automatic collections: %d created, %d renamed, %d removed",
                len(changes.created), len(changes.renamed), len(changes.removed),
            )  # fmt: skip
        return changes

"""Browsing the media catalogue and keeping collections."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.collections import Collection, SmartQuery
from exstreamtv.domain.media import MediaItem
from exstreamtv.errors import NotFound
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaFilter, MediaRepository

log = logging.getLogger(__name__)


class CatalogService:
    """Media search and collection CRUD."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

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

    async def preview(
        self, query: SmartQuery, offset: int, limit: int
    ) -> tuple[list[MediaItem], int]:
        """What a smart query would hold, without saving it."""
        async with self._sessions() as session:
            return await MediaRepository(session).smart(query, offset, limit)

"""Collections in the database, and the media each one currently contains."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.collections import Collection, CollectionKind, SmartQuery
from exstreamtv.domain.media import MediaItem, MediaKind, MediaState, MetadataStatus
from exstreamtv.errors import Conflict, InvalidInput, NotFound
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.tables import CollectionItemRow, CollectionRow, MediaItemRow


class CollectionRepository:
    """Collection reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Collection]:
        rows = await self._session.scalars(select(CollectionRow).order_by(CollectionRow.name))
        return [await self._to_collection(row) for row in rows]

    async def get(self, collection_id: int) -> Collection:
        """The collection; raises :class:`NotFound`."""
        return await self._to_collection(await self._row(collection_id))

    async def create(self, collection: Collection, now: datetime) -> Collection:
        """Store a new collection (its ``id`` is ignored); raises Conflict/InvalidInput."""
        row = CollectionRow(created_at=now)
        self._session.add(row)
        await self._apply(row, collection)
        return await self.get(row.id)

    async def update(self, collection_id: int, collection: Collection) -> Collection:
        row = await self._row(collection_id)
        await self._apply(row, collection)
        return await self.get(collection_id)

    async def delete(self, collection_id: int) -> None:
        await self._session.delete(await self._row(collection_id))
        await self._session.flush()

    async def existing_ids(self, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` that name a stored collection."""
        wanted = list(set(ids))
        if not wanted:
            return set()
        found = await self._session.scalars(
            select(CollectionRow.id).where(CollectionRow.id.in_(wanted))
        )
        return set(found)

    async def items(self, collection: Collection) -> list[MediaItem]:
        """The present media items of the collection, in its natural order."""
        media = MediaRepository(self._session)
        if collection.kind is CollectionKind.MANUAL:
            found = await media.by_ids(collection.item_ids)
            return [item for item in found if item.state is MediaState.PRESENT]
        items, _ = await media.smart(collection_query(collection))
        return items

    async def missing_items(
        self, collection: Collection, limit: int
    ) -> tuple[list[MediaItem], int]:
        """The collection's missing media items (the first ``limit``, in its natural order)
        and how many there are: what it would hold if their files were back."""
        media = MediaRepository(self._session)
        if collection.kind is CollectionKind.MANUAL:
            found = await media.by_ids(collection.item_ids)
            missing = [item for item in found if item.state is MediaState.MISSING]
            return missing[:limit], len(missing)
        return await media.smart(collection_query(collection), 0, limit, MediaState.MISSING)

    async def _row(self, collection_id: int) -> CollectionRow:
        row = await self._session.get(CollectionRow, collection_id)
        if row is None:
            raise NotFound(f"collection {collection_id} does not exist")
        return row

    async def _apply(self, row: CollectionRow, collection: Collection) -> None:
        row.name, row.kind = collection.name, collection.kind.value
        row.show, row.season = collection.show, collection.season
        row.query = query_to_json(collection.query) if collection.query else None
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a collection named {collection.name!r} already exists") from err
        await self._replace_items(row.id, collection.item_ids)

    async def _replace_items(self, collection_id: int, item_ids: tuple[int, ...]) -> None:
        await self._session.execute(
            delete(CollectionItemRow).where(CollectionItemRow.collection_id == collection_id)
        )
        if not item_ids:
            return
        if len(set(item_ids)) != len(item_ids):
            raise InvalidInput("a manual collection cannot list the same item twice")
        existing = set(
            await self._session.scalars(
                select(MediaItemRow.id).where(MediaItemRow.id.in_(item_ids))
            )
        )
        unknown = [i for i in item_ids if i not in existing]
        if unknown:
            raise InvalidInput(f"media items do not exist: {unknown[:10]}")
        self._session.add_all(
            CollectionItemRow(collection_id=collection_id, media_item_id=item_id, position=index)
            for index, item_id in enumerate(item_ids)
        )
        await self._session.flush()

    async def _to_collection(self, row: CollectionRow) -> Collection:
        item_ids: tuple[int, ...] = ()
        if row.kind == CollectionKind.MANUAL.value:
            item_ids = tuple(
                await self._session.scalars(
                    select(CollectionItemRow.media_item_id)
                    .where(CollectionItemRow.collection_id == row.id)
                    .order_by(CollectionItemRow.position)
                )
            )
        return Collection(
            id=row.id,
            name=row.name,
            kind=CollectionKind(row.kind),
            show=row.show,
            season=row.season,
            query=query_from_json(row.query) if row.query is not None else None,
            item_ids=item_ids,
        )


def collection_query(collection: Collection) -> SmartQuery:
    """The query that selects a show, season or smart collection's media."""
    if collection.kind is CollectionKind.SMART:
        return collection.query or SmartQuery()
    season = collection.season if collection.kind is CollectionKind.SEASON else None
    return SmartQuery(kinds=(MediaKind.EPISODE,), show=collection.show, season=season)


def query_to_json(query: SmartQuery) -> dict[str, Any]:
    """A JSON-safe dict of the query (enums as their values, tuples as lists)."""
    return {
        key: [getattr(v, "value", v) for v in value] if isinstance(value, tuple) else value
        for key, value in asdict(query).items()
    }


def query_from_json(data: dict[str, Any]) -> SmartQuery:
    """The inverse of :func:`query_to_json`; unknown keys are ignored (forward compatible)."""
    return SmartQuery(
        kinds=tuple(MediaKind(k) for k in data.get("kinds", ())),
        text=data.get("text"),
        show=data.get("show"),
        season=data.get("season"),
        genres=tuple(data.get("genres", ())),
        year_min=data.get("year_min"),
        year_max=data.get("year_max"),
        content_ratings=tuple(data.get("content_ratings", ())),
        library_ids=tuple(data.get("library_ids", ())),
        statuses=tuple(MetadataStatus(s) for s in data.get("statuses", ())),
    )

"""Collections in the database, the media each one currently contains, and the automatic
show, season and library collections that scans keep in sync."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.collections import (
    Collection,
    CollectionKind,
    CollectionSummary,
    SmartQuery,
    season_name,
)
from exstreamtv.domain.media import MediaItem, MediaKind, MediaState, MetadataStatus
from exstreamtv.errors import Conflict, InvalidInput, NotFound
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.tables import (
    CollectionItemRow,
    CollectionMemberRow,
    CollectionRow,
    LibraryRow,
    MediaItemRow,
)

MAX_NAME = 200
_PRESENT = (MediaState.PRESENT,)


class CollectionRepository:
    """Collection reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Collection]:
        """Every collection, by name (three queries, whatever the number of collections)."""
        rows = list(await self._session.scalars(select(CollectionRow).order_by(CollectionRow.name)))
        items = await self._children(
            select(CollectionItemRow.collection_id, CollectionItemRow.media_item_id).order_by(
                CollectionItemRow.collection_id, CollectionItemRow.position
            )
        )
        members = await self._children(
            select(CollectionMemberRow.collection_id, CollectionMemberRow.member_id).order_by(
                CollectionMemberRow.collection_id, CollectionMemberRow.position
            )
        )
        return [_to_collection(row, items.get(row.id, ()), members.get(row.id, ())) for row in rows]

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
        """Replace a collection; raises NotFound, Conflict (name taken, or an automatic
        collection) and InvalidInput."""
        row = await self._row(collection_id)
        _refuse_automatic(row, "edited")
        await self._apply(row, replace(collection, automatic=False, library_id=None))
        return await self.get(collection_id)

    async def delete(self, collection_id: int) -> None:
        """Delete a collection; raises NotFound, and Conflict for an automatic one."""
        row = await self._row(collection_id)
        _refuse_automatic(row, "deleted")
        await self._session.delete(row)
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
        """The present media items of the collection, in its natural order (a multi
        collection: its members' items in member order, each item once)."""
        if collection.kind is CollectionKind.MULTI:
            found: dict[int, MediaItem] = {}
            for member_id in collection.member_ids:
                member = await self.get(member_id)
                for item in await self.items(member):
                    found.setdefault(item.id, item)
            return list(found.values())
        media = MediaRepository(self._session)
        if collection.kind is CollectionKind.MANUAL:
            return await media.by_ids(collection.item_ids, MediaState.PRESENT)
        query = _airable(collection_query(collection))
        return [] if query is None else (await media.smart(query))[0]

    async def summary(self, collection: Collection) -> CollectionSummary:
        """How many present items the collection holds, and their total duration."""
        if collection.kind in _QUERIED:
            query = _airable(collection_query(collection))
            if query is None:
                return CollectionSummary(0, 0)
            return await MediaRepository(self._session).summary(query)
        items = await self.items(collection)
        return CollectionSummary(len(items), sum(item.duration_ms for item in items))

    async def _children(self, stmt: Any) -> dict[int, tuple[int, ...]]:
        found: dict[int, list[int]] = {}
        for parent, child in await self._session.execute(stmt):
            found.setdefault(parent, []).append(child)
        return {parent: tuple(children) for parent, children in found.items()}

    async def missing_items(
        self, collection: Collection, limit: int
    ) -> tuple[list[MediaItem], int]:
        """The collection's missing media items (the first ``limit``, in its natural order)
        and how many there are: what it would hold if their files were back."""
        media = MediaRepository(self._session)
        if collection.kind is CollectionKind.MANUAL:
            missing = await media.by_ids(collection.item_ids, MediaState.MISSING)
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
        row.automatic, row.library_id = collection.automatic, collection.library_id
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a collection named {collection.name!r} already exists") from err
        await self._replace_items(row.id, collection.item_ids)
        await self._replace_members(row.id, collection.member_ids)

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

    async def _replace_members(self, collection_id: int, member_ids: tuple[int, ...]) -> None:
        await self._session.execute(
            delete(CollectionMemberRow).where(CollectionMemberRow.collection_id == collection_id)
        )
        if not member_ids:
            return
        if len(set(member_ids)) != len(member_ids):
            raise InvalidInput("member_ids: a multi-collection cannot include a collection twice")
        if collection_id in member_ids:
            raise InvalidInput("member_ids: a multi-collection cannot include itself")
        rows = await self._session.execute(
            select(CollectionRow.id, CollectionRow.kind).where(CollectionRow.id.in_(member_ids))
        )
        kinds: dict[int, str] = {row[0]: row[1] for row in rows}
        for n, member_id in enumerate(member_ids):
            if member_id not in kinds:
                raise InvalidInput(f"member_ids.{n}: collection {member_id} does not exist")
            if kinds[member_id] == CollectionKind.MULTI.value:
                raise InvalidInput(
                    f"member_ids.{n}: collection {member_id} is a multi-collection; "
                    "include its members instead"
                )
        self._session.add_all(
            CollectionMemberRow(collection_id=collection_id, member_id=member_id, position=index)
            for index, member_id in enumerate(member_ids)
        )
        await self._session.flush()

    async def _to_collection(self, row: CollectionRow) -> Collection:
        items = await self._children(
            select(CollectionItemRow.collection_id, CollectionItemRow.media_item_id)
            .where(CollectionItemRow.collection_id == row.id)
            .order_by(CollectionItemRow.position)
        )
        members = await self._children(
            select(CollectionMemberRow.collection_id, CollectionMemberRow.member_id)
            .where(CollectionMemberRow.collection_id == row.id)
            .order_by(CollectionMemberRow.position)
        )
        return _to_collection(row, items.get(row.id, ()), members.get(row.id, ()))


_QUERIED = frozenset(
    {CollectionKind.SMART, CollectionKind.SHOW, CollectionKind.SEASON, CollectionKind.LIBRARY}
)


def _airable(query: SmartQuery) -> SmartQuery | None:
    """``query`` narrowed to present items (only those can air); ``None`` when it asks for
    other states only."""
    if query.states and MediaState.PRESENT not in query.states:
        return None
    return replace(query, states=_PRESENT)


def _refuse_automatic(row: CollectionRow, what: str) -> None:
    if row.automatic:
        raise Conflict(
            f"collection {row.name!r} is kept in sync by library scans and cannot be {what}; "
            "make a smart or multi-collection from it instead"
        )


def _to_collection(
    row: CollectionRow, item_ids: Sequence[int], member_ids: Sequence[int]
) -> Collection:
    return Collection(
        id=row.id,
        name=row.name,
        kind=CollectionKind(row.kind),
        show=row.show,
        season=row.season,
        query=query_from_json(row.query) if row.query is not None else None,
        item_ids=tuple(item_ids),
        library_id=row.library_id,
        member_ids=tuple(member_ids),
        automatic=row.automatic,
    )


def collection_query(collection: Collection) -> SmartQuery:
    """The query that selects a show, season, library or smart collection's media."""
    if collection.kind is CollectionKind.SMART:
        return collection.query or SmartQuery()
    if collection.kind is CollectionKind.LIBRARY:
        return SmartQuery(library_ids=(collection.library_id or 0,))
    season = collection.season if collection.kind is CollectionKind.SEASON else None
    return SmartQuery(kinds=(MediaKind.EPISODE,), show=collection.show, season=season)


def query_to_json(query: SmartQuery) -> dict[str, Any]:
    """A JSON-safe dict of the query (enums as their values, tuples as lists, dates as
    ISO text)."""
    return {key: _json_value(value) for key, value in asdict(query).items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [getattr(v, "value", v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def query_from_json(data: dict[str, Any]) -> SmartQuery:
    """The inverse of :func:`query_to_json`; unknown keys are ignored (forward compatible)."""

    def day(key: str) -> date | None:
        value = data.get(key)
        return None if value is None else date.fromisoformat(value)

    return SmartQuery(
        kinds=tuple(MediaKind(k) for k in data.get("kinds", ())),
        text=data.get("text"),
        title=data.get("title"),
        show=data.get("show"),
        season=data.get("season"),
        genres=tuple(data.get("genres", ())),
        year_min=data.get("year_min"),
        year_max=data.get("year_max"),
        duration_min_sec=data.get("duration_min_sec"),
        duration_max_sec=data.get("duration_max_sec"),
        added_after=day("added_after"),
        added_before=day("added_before"),
        added_within_days=data.get("added_within_days"),
        content_ratings=tuple(data.get("content_ratings", ())),
        library_ids=tuple(data.get("library_ids", ())),
        statuses=tuple(MetadataStatus(s) for s in data.get("statuses", ())),
        states=tuple(MediaState(s) for s in data.get("states", ())),
    )


# --- automatic collections ------------------------------------------------------------------

AutomaticKey = tuple[str, str | int, int | None]


@dataclass(frozen=True, slots=True)
class AutomaticChanges:
    """What :func:`sync_automatic` did: names of the collections it created, renamed and
    removed."""

    created: tuple[str, ...] = ()
    renamed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


async def sync_automatic(session: AsyncSession, now: datetime) -> AutomaticChanges:
    """Make the automatic collections match the catalogue: one per library, per show and
    per season of a show (episodes, present or missing). Missing ones are created under a
    free name, vanished ones removed, and library collections follow their library's name.
    Shows are matched case-insensitively and named as first found. A few queries in all."""
    wanted = await _wanted(session)
    rows = list(
        await session.scalars(select(CollectionRow).where(CollectionRow.automatic.is_(True)))
    )
    taken = set(await session.scalars(select(CollectionRow.name)))
    created: list[str] = []
    renamed: list[str] = []
    removed: list[str] = []
    for row in rows:
        key = _key_of(row)
        target = wanted.pop(key, None)
        if target is None:
            removed.append(row.name)
            taken.discard(row.name)
            await session.delete(row)
            continue
        name = _base(target[0])
        if key[0] == CollectionKind.LIBRARY and row.name != name and name not in taken:
            taken.discard(row.name)
            row.name = name
            taken.add(name)
            renamed.append(name)
    for key, (name, values) in wanted.items():
        chosen = _free_name(name, str(key[0]), taken)
        taken.add(chosen)
        session.add(CollectionRow(name=chosen, created_at=now, automatic=True, **values))
        created.append(chosen)
    await session.flush()
    return AutomaticChanges(tuple(created), tuple(renamed), tuple(removed))


async def _wanted(session: AsyncSession) -> dict[AutomaticKey, tuple[str, dict[str, Any]]]:
    """The automatic collections the catalogue calls for: key -> (name, column values)."""
    wanted: dict[AutomaticKey, tuple[str, dict[str, Any]]] = {}
    for library_id, library_name in await session.execute(select(LibraryRow.id, LibraryRow.name)):
        values = {"kind": CollectionKind.LIBRARY.value, "library_id": library_id}
        wanted[(CollectionKind.LIBRARY.value, library_id, None)] = (
            f"{library_name} (library)",
            values,
        )
    episodes = and_(
        MediaItemRow.kind == MediaKind.EPISODE.value,
        MediaItemRow.show.is_not(None),
        func.trim(MediaItemRow.show) != "",
    )
    lowered = func.lower(MediaItemRow.show)
    shows = select(lowered, func.min(MediaItemRow.show)).where(episodes).group_by(lowered)
    for key, show in await session.execute(shows):
        values = {"kind": CollectionKind.SHOW.value, "show": show}
        wanted[(CollectionKind.SHOW.value, key, None)] = (show, values)
    seasons = (
        select(lowered, func.min(MediaItemRow.show), MediaItemRow.season)
        .where(episodes, MediaItemRow.season.is_not(None))
        .group_by(lowered, MediaItemRow.season)
    )
    for key, show, season in await session.execute(seasons):
        values = {"kind": CollectionKind.SEASON.value, "show": show, "season": season}
        wanted[(CollectionKind.SEASON.value, key, season)] = (season_name(show, season), values)
    return wanted


def _key_of(row: CollectionRow) -> AutomaticKey:
    if row.kind == CollectionKind.LIBRARY.value:
        return (row.kind, row.library_id or 0, None)
    show = (row.show or "").lower()
    return (row.kind, show, row.season if row.kind == CollectionKind.SEASON.value else None)


def _base(name: str) -> str:
    return name[:MAX_NAME].strip() or "Untitled"


def _free_name(name: str, kind: str, taken: set[str]) -> str:
    """``name``, else ``name (kind)``, else ``name (kind 2)``, ... whichever is free."""
    base = _base(name)
    candidates = [base, f"{base[: MAX_NAME - len(kind) - 3]} ({kind})"]
    candidates += [f"{base[: MAX_NAME - len(kind) - 12]} ({kind} {n})" for n in range(2, 10_000)]
    return next(c for c in candidates if c not in taken)

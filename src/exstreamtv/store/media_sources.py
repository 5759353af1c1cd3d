"""Media-server sources, their libraries, and the server-side identity of their items.

Credentials are stored only in the sealed (encrypted) form handed in by the caller; this
module never sees a token in plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.libraries import (
    Library,
    LibraryKind,
    MediaSource,
    PathMapping,
    SourceKind,
)
from exstreamtv.domain.media import MediaState
from exstreamtv.errors import Conflict, NotFound
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.tables import LibraryRow, MediaItemRow, MediaSourceRow


@dataclass(frozen=True, slots=True)
class KnownRemote:
    """What the database knows about a server item: our id, its change stamp, its state
    and its stored path (the server's file path)."""

    id: int
    stamp: str
    state: MediaState
    path: str


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """How to play a stored server item: its source, server id and stream key."""

    source_id: int
    remote_id: str
    stream_key: str | None


class MediaSourceRepository:
    """Media-server sources and their items' server identities, within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def servers(self) -> list[MediaSource]:
        """Every media-server source (not the local one), by name."""
        rows = await self._session.scalars(
            select(MediaSourceRow)
            .where(MediaSourceRow.kind != SourceKind.LOCAL.value)
            .order_by(MediaSourceRow.name)
        )
        return [_to_source(row) for row in rows]

    async def get(self, source_id: int) -> MediaSource:
        """The media-server source; raises :class:`NotFound` (also for the local source)."""
        return _to_source(await self._row(source_id))

    async def sealed_credential(self, source_id: int) -> str | None:
        return (await self._row(source_id)).credential

    async def create(  # noqa: PLR0917 - one value per column
        self,
        kind: SourceKind,
        name: str,
        url: str,
        sealed: str,
        mappings: Sequence[PathMapping],
        now: datetime,
    ) -> MediaSource:
        """Store a server source; raises :class:`Conflict` when the name is taken."""
        row = MediaSourceRow(
            kind=kind.value,
            name=name,
            url=url,
            credential=sealed,
            path_mappings=_mappings_json(mappings),
            created_at=now,
        )
        self._session.add(row)
        await self._flush(name)
        return _to_source(row)

    async def update(
        self,
        source_id: int,
        *,
        name: str,
        url: str,
        mappings: Sequence[PathMapping],
        sealed: str | None = None,
    ) -> MediaSource:
        """Replace name, URL and mappings (and the credential when ``sealed`` is given)."""
        row = await self._row(source_id)
        row.name, row.url, row.path_mappings = name, url, _mappings_json(mappings)
        if sealed is not None:
            row.credential = sealed
        await self._flush(name)
        return _to_source(row)

    async def set_server_id(self, source_id: int, server_id: str) -> None:
        (await self._row(source_id)).server_id = server_id

    async def delete(self, source_id: int) -> None:
        """Delete the source and, by cascade, its libraries and their items."""
        await self._session.delete(await self._row(source_id))
        await self._session.flush()

    async def libraries(self, source_id: int) -> list[Library]:
        ids = await self._session.scalars(
            select(LibraryRow.id).where(LibraryRow.source_id == source_id).order_by(LibraryRow.name)
        )
        repo = LibraryRepository(self._session)
        return [await repo.get(library_id) for library_id in ids]

    async def add_library(  # noqa: PLR0917 - one value per column
        self,
        source_id: int,
        external_id: str,
        name: str,
        kind: LibraryKind,
        paths: Sequence[str],
        now: datetime,
    ) -> Library:
        """Create a library for the server's library ``external_id``; raises Conflict when
        the name is taken or that server library is already selected."""
        taken = await self._session.scalar(
            select(LibraryRow.id).where(
                LibraryRow.source_id == source_id, LibraryRow.external_id == external_id
            )
        )
        if taken is not None:
            raise Conflict(f"server library {external_id!r} is already library {taken}")
        row = LibraryRow(
            source_id=source_id,
            name=name,
            kind=kind.value,
            paths=list(paths),
            managed_by_config=False,
            created_at=now,
            external_id=external_id,
        )
        self._session.add(row)
        await self._flush(name, what="library")
        return await LibraryRepository(self._session).get(row.id)

    async def known_items(self, library_id: int) -> dict[str, KnownRemote]:
        """Every stored server item of the library by server id (one query)."""
        rows = await self._session.execute(
            select(
                MediaItemRow.remote_id,
                MediaItemRow.id,
                MediaItemRow.remote_stamp,
                MediaItemRow.state,
                MediaItemRow.path,
            ).where(MediaItemRow.library_id == library_id, MediaItemRow.remote_id.is_not(None))
        )
        return {
            str(remote): KnownRemote(id_, stamp or "", MediaState(state), path)
            for remote, id_, stamp, state, path in rows
        }

    async def item_ids(self, source_id: int, remote_ids: Iterable[str]) -> dict[str, int]:
        """Our item ids of the source's items with these server ids (unknown ones skipped)."""
        wanted = list(set(remote_ids))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            rows = await self._session.execute(
                select(MediaItemRow.remote_id, MediaItemRow.id)
                .join(LibraryRow, LibraryRow.id == MediaItemRow.library_id)
                .where(
                    LibraryRow.source_id == source_id,
                    MediaItemRow.remote_id.in_(wanted[start : start + 500]),
                )
            )
            found.update({str(remote): id_ for remote, id_ in rows})
        return found

    async def remote_file(self, item_id: int) -> RemoteFile | None:
        """The server identity of item ``item_id``; ``None`` for local (or unknown) items."""
        row = (
            await self._session.execute(
                select(LibraryRow.source_id, MediaItemRow.remote_id, MediaItemRow.stream_key)
                .join(LibraryRow, LibraryRow.id == MediaItemRow.library_id)
                .where(MediaItemRow.id == item_id, MediaItemRow.remote_id.is_not(None))
            )
        ).first()
        return None if row is None else RemoteFile(row[0], str(row[1]), row[2])

    async def _row(self, source_id: int) -> MediaSourceRow:
        row = await self._session.get(MediaSourceRow, source_id)
        if row is None or row.kind == SourceKind.LOCAL.value:
            raise NotFound(f"media source {source_id} does not exist")
        return row

    async def _flush(self, name: str, *, what: str = "media source") -> None:
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a {what} named {name!r} already exists") from err


def _mappings_json(mappings: Sequence[PathMapping]) -> list[dict[str, str]]:
    return [{"server": m.server, "local": m.local} for m in mappings]


def _to_source(row: MediaSourceRow) -> MediaSource:
    return MediaSource(
        id=row.id,
        kind=SourceKind(row.kind),
        name=row.name,
        url=row.url,
        path_mappings=tuple(
            PathMapping(str(m["server"]), str(m["local"])) for m in row.path_mappings or ()
        ),
        created_at=row.created_at,
        server_id=row.server_id,
    )

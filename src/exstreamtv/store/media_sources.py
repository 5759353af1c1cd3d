"""Media-server and online sources, their libraries, and the source-side identity of their
items.

Credentials are stored only in the sealed (encrypted) form handed in by the caller; this
module never sees a token, a password or an online source's locations in plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.libraries import (
    ONLINE_KINDS,
    Library,
    LibraryKind,
    MediaSource,
    OnlineSettings,
    PathMapping,
    SourceKind,
)
from exstreamtv.domain.media import MediaState, MetadataStatus
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
    """How to play a stored server or online item: its source (and the source's kind),
    the source's id of the item and its stream key (sealed for online sources)."""

    source_id: int
    remote_id: str
    stream_key: str | None
    kind: SourceKind = SourceKind.PLEX


class MediaSourceRepository:
    """Media-server sources and their items' server identities, within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def servers(self) -> list[MediaSource]:
        """Every Plex, Jellyfin and Emby source, by name."""
        return await self._of_kinds(k for k in SourceKind if k.is_server)

    async def online(self) -> list[MediaSource]:
        """Every online source, by name."""
        return await self._of_kinds(ONLINE_KINDS)

    async def _of_kinds(self, kinds: Iterable[SourceKind]) -> list[MediaSource]:
        rows = await self._session.scalars(
            select(MediaSourceRow)
            .where(MediaSourceRow.kind.in_([k.value for k in kinds]))
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

    async def set_user(self, source_id: int, user_id: str | None) -> MediaSource:
        """Choose the Jellyfin/Emby user whose playlists are read (``None``: none)."""
        row = await self._row(source_id)
        row.user_id = user_id
        await self._session.flush()
        return _to_source(row)

    async def create_online(
        self, kind: SourceKind, name: str, sealed: str, settings: OnlineSettings, now: datetime
    ) -> MediaSource:
        """Store an online source; raises :class:`Conflict` when the name is taken."""
        row = MediaSourceRow(
            kind=kind.value,
            name=name,
            credential=sealed,
            path_mappings=[],
            settings=asdict(settings),
            created_at=now,
        )
        self._session.add(row)
        await self._flush(name)
        return _to_source(row)

    async def update_online(
        self, source_id: int, *, name: str, settings: OnlineSettings, sealed: str | None
    ) -> MediaSource:
        """Replace an online source's name and settings (its secrets when ``sealed``)."""
        row = await self._row(source_id)
        row.name, row.settings = name, asdict(settings)
        if sealed is not None:
            row.credential = sealed
        await self._flush(name)
        return _to_source(row)

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

    async def library_of(self, source_id: int) -> Library:
        """The one library of an online source; raises :class:`NotFound`."""
        libraries = await self.libraries(source_id)
        if not libraries:
            raise NotFound(f"media source {source_id} has no library")
        return libraries[0]

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
                select(
                    LibraryRow.source_id,
                    MediaItemRow.remote_id,
                    MediaItemRow.stream_key,
                    MediaSourceRow.kind,
                )
                .join(LibraryRow, LibraryRow.id == MediaItemRow.library_id)
                .join(MediaSourceRow, MediaSourceRow.id == LibraryRow.source_id)
                .where(MediaItemRow.id == item_id, MediaItemRow.remote_id.is_not(None))
            )
        ).first()
        if row is None:
            return None
        return RemoteFile(row[0], str(row[1]), row[2], SourceKind(row[3]))

    async def fail_item(self, item_id: int, reason: str, now: datetime) -> None:
        """Mark an online item that can no longer be played: failed with ``reason``, and
        missing (new playouts leave it out). Its stamp is cleared, so the next scan reads
        it again and brings it back if it plays again."""
        await self._session.execute(
            update(MediaItemRow)
            .where(MediaItemRow.id == item_id)
            .values(
                metadata_status=MetadataStatus.FAILED.value,
                metadata_reason=reason,
                state=MediaState.MISSING.value,
                missing_since=now,
                missing_reason=reason,
                remote_stamp="failed",
                updated_at=now,
            )
        )

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
    kind = SourceKind(row.kind)
    return MediaSource(
        id=row.id,
        kind=kind,
        name=row.name,
        url=row.url,
        path_mappings=tuple(
            PathMapping(str(m["server"]), str(m["local"])) for m in row.path_mappings or ()
        ),
        created_at=row.created_at,
        server_id=row.server_id,
        user_id=row.user_id,
        online=_settings(row.settings or {}) if kind.is_online else None,
    )


def _settings(stored: Mapping[str, Any]) -> OnlineSettings:
    """Stored settings as a value; keys this version does not know are ignored, missing
    ones take their defaults (settings written by an older or newer version still load)."""
    known = {f.name for f in fields(OnlineSettings)}
    values = {k: v for k, v in stored.items() if k in known}
    if "shown" in values:
        values["shown"] = tuple(str(v) for v in values["shown"])
    return OnlineSettings(**values)

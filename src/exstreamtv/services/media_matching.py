"""Finding our media item for another program's media reference.

A reference matches, best first, by a media-server id (Plex rating key, Jellyfin or Emby
item id) of an item in a library of that kind of server, then by its path rewritten with
the import's path mappings, then by its path as it is. Only items present in a library
match; one that is known but missing says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.libraries import PathMapping, map_path
from exstreamtv.domain.station_import import MediaRef
from exstreamtv.store.tables import LibraryRow, MediaItemRow, MediaSourceRow

_SERVER_NAMES = {"plex": "Plex rating key", "jellyfin": "Jellyfin id", "emby": "Emby id"}


@dataclass(frozen=True, slots=True)
class Match:
    """An item id, or ``None`` with the reason nothing matched."""

    item_id: int | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class _Known:
    item_id: int
    present: bool


class MediaIndex:
    """Our catalogue's items by (server kind, remote id) and by path, loaded once."""

    def __init__(self, mappings: tuple[PathMapping, ...] = ()) -> None:
        self._mappings = mappings
        self._by_remote: dict[tuple[str, str], _Known] = {}
        self._by_path: dict[str, _Known] = {}

    async def load(self, session: AsyncSession) -> MediaIndex:
        """Read every media item's id, path, remote id and server kind (one query)."""
        rows = await session.execute(
            select(
                MediaItemRow.id,
                MediaItemRow.path,
                MediaItemRow.remote_id,
                MediaItemRow.state,
                MediaSourceRow.kind,
            )
            .join(LibraryRow, LibraryRow.id == MediaItemRow.library_id)
            .join(MediaSourceRow, MediaSourceRow.id == LibraryRow.source_id)
        )
        for item_id, path, remote_id, state, kind in rows:
            known = _Known(item_id, state == "present")
            if remote_id:
                self._by_remote.setdefault((kind, remote_id), known)
            self._by_path.setdefault(path, known)
        return self

    def match(self, ref: MediaRef) -> Match:
        """Our item for ``ref``, or the reason there is none."""
        tried: list[str] = []
        for kind, remote_id in ref.remote_ids:
            tried.append(f"{_SERVER_NAMES.get(kind, kind)} {remote_id}")
            found = self._by_remote.get((kind, remote_id))
            if found is not None:
                return _use(found)
        if ref.path:
            mapped = map_path(ref.path, self._mappings)
            for path in (mapped, ref.path):
                if path is None:
                    continue
                found = self._by_path.get(path)
                if found is not None:
                    return _use(found)
            tried.append(f"path {ref.path}" + (f" (mapped to {mapped})" if mapped else ""))
        if not tried:
            return Match(None, "it names neither a media-server id nor a file path")
        return Match(None, "no library item has " + " or ".join(tried))


def _use(found: _Known) -> Match:
    if found.present:
        return Match(found.item_id)
    return Match(None, f"media item {found.item_id} matches but is missing from its library")

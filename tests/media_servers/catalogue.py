"""The content a fake media server holds: libraries of items that tests add, change and
remove between syncs. Both fakes render it in their own server's wire format."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

# The server's clock: every change is stamped later than any stamp made before it, as
# Plex's ``updatedAt`` takes the time of the change.
_CHANGES = itertools.count(1_800_000_000, 60)


@dataclass
class FakeItem:
    """One playable item. ``updated_at`` is epoch seconds; :meth:`touch` moves it to the
    server's now."""

    key: str
    kind: str  # movie, episode, musicvideo, video
    title: str
    file: str  # the path as the server sees it
    duration_ms: int = 2_000
    updated_at: int = 1_700_000_000
    added_at: int = 1_690_000_000
    year: int | None = 2002
    show: str | None = None
    show_key: str | None = None
    season: int | None = None
    episode: int | None = None
    genres: tuple[str, ...] = ("Drama",)
    guids: dict[str, str] = field(default_factory=dict)
    chapters: tuple[tuple[int, int, str], ...] = ()
    media: Path | None = None  # the real file served by the stream endpoint
    part_id: int = 0

    def touch(self, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = max(self.updated_at + 60, next(_CHANGES))


@dataclass
class FakeLibrary:
    key: str
    title: str
    kind: str  # movie, show, homevideo, musicvideo
    location: str
    items: dict[str, FakeItem] = field(default_factory=dict)


@dataclass
class FakeCollection:
    key: str
    title: str
    library: str
    members: list[str]
    playlist: bool = False
    owner: str | None = None  # Jellyfin/Emby: the user a playlist belongs to


class Catalogue:
    """Libraries, collections and playlists, with ids handed out in order."""

    def __init__(self, *, id_style: str = "decimal") -> None:
        self.libraries: dict[str, FakeLibrary] = {}
        self.collections: dict[str, FakeCollection] = {}
        self._ids = itertools.count(100)
        self._id_style = id_style
        self.version = 0  # moves on every add and remove (touches move ``updated_at``)

    def new_id(self) -> str:
        number = next(self._ids)
        return f"{number:032x}" if self._id_style == "hex" else str(number)

    def library(self, title: str, kind: str, location: str) -> FakeLibrary:
        library = FakeLibrary(self.new_id(), title, kind, location)
        self.libraries[library.key] = library
        return library

    def add(self, library: FakeLibrary, kind: str, title: str, **fields: object) -> FakeItem:
        key = self.new_id()
        name = fields.pop("filename", f"{title}.mp4")
        item = FakeItem(key, kind, title, f"{library.location}/{name}", **fields)  # type: ignore[arg-type]
        item.part_id = int(next(self._ids))
        library.items[key] = item
        self.version += 1
        return item

    def remove(self, library: FakeLibrary, key: str) -> None:
        del library.items[key]
        self.version += 1

    def item(self, key: str) -> FakeItem | None:
        for library in self.libraries.values():
            if key in library.items:
                return library.items[key]
        return None

    def collection(
        self,
        title: str,
        library: FakeLibrary,
        members: list[str],
        *,
        playlist: bool = False,
        owner: str | None = None,
    ) -> FakeCollection:
        found = FakeCollection(self.new_id(), title, library.key, members, playlist, owner)
        self.collections[found.key] = found
        return found


def episodes(
    catalogue: Catalogue, library: FakeLibrary, show: str, count: int, media: Path | None = None
) -> list[FakeItem]:
    """``count`` episodes of season 1 of ``show``."""
    show_key = catalogue.new_id()
    return [
        catalogue.add(
            library,
            "episode",
            f"Episode {n}",
            show=show,
            show_key=show_key,
            season=1,
            episode=n,
            filename=f"{show}/Season 01/{show} - S01E{n:02d}.mp4",
            media=media,
            guids={"tvdb": str(5000 + n)},
        )
        for n in range(1, count + 1)
    ]

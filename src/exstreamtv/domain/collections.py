"""Collections: named sets of media items that schedules draw from.

* ``manual``: an explicit, ordered list of items;
* ``show``: every episode of one show;
* ``season``: every episode of one season of one show;
* ``smart``: a saved :class:`SmartQuery`, evaluated whenever the collection is read, so it
  follows the library as it changes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from exstreamtv.domain.media import MediaKind, MetadataStatus


class CollectionKind(enum.StrEnum):
    MANUAL = "manual"
    SHOW = "show"
    SEASON = "season"
    SMART = "smart"


@dataclass(frozen=True, slots=True)
class SmartQuery:
    """A saved query over media fields. Empty fields do not filter; all filters AND together.

    ``text`` matches title, show or plot case-insensitively. ``genres`` matches an item with
    any of them. Years are inclusive. Only present (not missing) items ever match.
    """

    kinds: tuple[MediaKind, ...] = ()
    text: str | None = None
    show: str | None = None
    season: int | None = None
    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    content_ratings: tuple[str, ...] = ()
    library_ids: tuple[int, ...] = ()
    statuses: tuple[MetadataStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class Collection:
    """A stored collection. ``show``/``season`` are set for show and season collections,
    ``query`` for smart ones, and ``item_ids`` (in order) for manual ones."""

    id: int
    name: str
    kind: CollectionKind
    show: str | None = None
    season: int | None = None
    query: SmartQuery | None = None
    item_ids: tuple[int, ...] = ()

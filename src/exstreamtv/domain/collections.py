"""Collections: named sets of media items that schedules draw from.

* ``manual``: an explicit, ordered list of items;
* ``show``: every episode of one show;
* ``season``: every episode of one season of one show;
* ``library``: every item of one library;
* ``smart``: a saved :class:`SmartQuery`, evaluated whenever the collection is read, so it
  follows the library as it changes;
* ``multi``: the items of several other collections (not multi ones), in their order.

Show, season and library collections that a scan keeps in sync are *automatic*: scans
create them, rename them and remove them when their show, season or library is gone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from exstreamtv.domain.media import MediaKind, MediaState, MetadataStatus


class CollectionKind(enum.StrEnum):
    MANUAL = "manual"
    SHOW = "show"
    SEASON = "season"
    LIBRARY = "library"
    SMART = "smart"
    MULTI = "multi"


@dataclass(frozen=True, slots=True)
class SmartQuery:
    """A saved query over media fields. Empty fields do not filter; all filters AND together.

    ``text`` is a full-text search of title, show, plot and genres; ``title`` of the title
    only. Both match whole words by prefix (``"dra"`` finds "Drama"), case-insensitively;
    several words must all match. ``show`` is a show name (case-insensitive, exact).
    ``genres`` matches an item with any of them. Years are inclusive. ``duration_*_sec`` are
    inclusive bounds in seconds. ``added_after``/``added_before`` are inclusive dates (UTC)
    of when the item was first scanned; ``added_within_days`` counts back from the
    database's clock when the query runs. ``states`` defaults to present items only.
    """

    kinds: tuple[MediaKind, ...] = ()
    text: str | None = None
    title: str | None = None
    show: str | None = None
    season: int | None = None
    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    duration_min_sec: int | None = None
    duration_max_sec: int | None = None
    added_after: date | None = None
    added_before: date | None = None
    added_within_days: int | None = None
    content_ratings: tuple[str, ...] = ()
    library_ids: tuple[int, ...] = ()
    statuses: tuple[MetadataStatus, ...] = ()
    states: tuple[MediaState, ...] = ()


@dataclass(frozen=True, slots=True)
class Collection:
    """A stored collection. ``show``/``season`` are set for show and season collections,
    ``library_id`` for library ones, ``query`` for smart ones, ``item_ids`` (in order) for
    manual ones and ``member_ids`` (collection ids, in order) for multi ones. ``automatic``
    collections are kept in sync by scans and cannot be edited by hand."""

    id: int
    name: str
    kind: CollectionKind
    show: str | None = None
    season: int | None = None
    query: SmartQuery | None = None
    item_ids: tuple[int, ...] = ()
    library_id: int | None = None
    member_ids: tuple[int, ...] = ()
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """How much a collection (or a smart query) holds right now: ``count`` items lasting
    ``duration_ms`` in total (present items with a known duration count towards it)."""

    count: int
    duration_ms: int


def season_name(show: str, season: int) -> str:
    """The name an automatic season collection is given: ``"Show · Season 2"``, and
    ``"Show · Specials"`` for season 0."""
    return f"{show} · {'Specials' if season == 0 else f'Season {season}'}"

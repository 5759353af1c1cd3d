"""ErsatzTV's database rows read into a :class:`ForeignStation`.

ErsatzTV keeps everything in one SQLite database (``ersatztv.sqlite3``, Entity Framework
Core, PascalCase tables and columns). A channel (``Channel``) plays a ``Playout`` of a
classic ``ProgramSchedule``, whose ``ProgramScheduleItem`` rows (with their play mode in the
tables ``ProgramScheduleOneItem``, ``...MultipleItem``, ``...DurationItem`` and
``...FloodItem``) map to ours mode for mode: one, multiple (a fixed count), duration
(items that fit, the rest padded with the tail filler) and flood; a fixed start time and
the schedule's fixed-start behaviour (strict: skip; flexible: start late) come along, and
so do the custom guide title and the pre-, mid-, post-roll, tail and fallback filler
presets. Collections, TV shows and seasons are supported as sources; smart collections,
multi-collections, playlists and the block, sequential and scripted schedules are not
(each is named in the notes). See docs/importing.md for the source files this follows.

Pure: the caller reads the database. Rows are mappings of column to value; ``media`` rows
are one per media item (see :class:`ErsatzTables`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from exstreamtv.domain.profiles import Corner, WatermarkStyle
from exstreamtv.domain.schedules import FillerKind, Lateness, PlaybackOrder, PlayMode, TailMode
from exstreamtv.domain.station_import import (
    ForeignChannel,
    ForeignCollection,
    ForeignCollectionKind,
    ForeignFillerPreset,
    ForeignScheduleItem,
    ForeignStation,
    ForeignSystem,
    MediaRef,
)
from exstreamtv.formats.foreign_values import count, small_int, text

Row = Mapping[str, Any]
# ErsatzTV's enums (ErsatzTV.Core/Domain): CollectionType, PlaybackOrder, FillerKind,
# FillerMode, WatermarkLocation (ErsatzTV.FFmpeg/State), FixedStartTimeBehavior.
_COLLECTION, _SHOW, _SEASON, _MOVIE, _EPISODE = 0, 1, 2, 10, 20
_ORDERS = {
    0: PlaybackOrder.SEASON_EPISODE,
    1: PlaybackOrder.CHRONOLOGICAL,
    2: PlaybackOrder.RANDOM,
    3: PlaybackOrder.SHUFFLE,
    4: PlaybackOrder.SHUFFLE_IN_ORDER,
    5: PlaybackOrder.SHUFFLE,
    6: PlaybackOrder.SEASON_EPISODE,
    7: PlaybackOrder.SHUFFLE,
    8: PlaybackOrder.SEASON_EPISODE,
}
_FILLER_KINDS = {
    1: FillerKind.PRE_ROLL,
    2: FillerKind.MID_ROLL,
    3: FillerKind.POST_ROLL,
    4: FillerKind.TAIL,
    5: FillerKind.FALLBACK,
}
_FILLER_COLUMNS = (
    ("PreRollFillerId", FillerKind.PRE_ROLL),
    ("MidRollFillerId", FillerKind.MID_ROLL),
    ("PostRollFillerId", FillerKind.POST_ROLL),
    ("TailFillerId", FillerKind.TAIL),
    ("FallbackFillerId", FillerKind.FALLBACK),
)
_LOCATIONS = {
    0: Corner.BOTTOM_RIGHT,
    1: Corner.BOTTOM_LEFT,
    2: Corner.TOP_RIGHT,
    3: Corner.TOP_LEFT,
}
_FILLER_DURATION, _FILLER_COUNT, _FILLER_PAD, _FILLER_RANDOM_COUNT = 1, 2, 3, 4
_TIMESPAN = re.compile(r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\.\d+)?$")
_CLASSIC = 1


@dataclass(frozen=True, slots=True)
class ErsatzTables:
    """The rows this import reads. ``media``: one row per media item with ``Id``, ``Kind``
    (movie, episode, other), ``Title``, ``Show``, ``Season``, ``Episode``, ``Path``,
    ``PlexKey``, ``JellyfinId``, ``EmbyId``. ``shows``: ``Id``, ``Title``; ``seasons``:
    ``Id``, ``Show``, ``SeasonNumber``. ``one``/``flood``: item ids; ``multiple`` and
    ``duration``: rows of those tables."""

    channels: Sequence[Row]
    playouts: Sequence[Row]
    schedules: Sequence[Row]
    items: Sequence[Row]
    one: Sequence[int] = ()
    multiple: Sequence[Row] = ()
    duration: Sequence[Row] = ()
    flood: Sequence[int] = ()
    collections: Sequence[Row] = ()
    collection_items: Sequence[Row] = ()
    fillers: Sequence[Row] = ()
    watermarks: Sequence[Row] = ()
    media: Sequence[Row] = ()
    shows: Sequence[Row] = ()
    seasons: Sequence[Row] = ()


def read_station(tables: ErsatzTables) -> ForeignStation:
    """The channels with classic schedules, their collections and filler presets."""
    reader = _Reader(tables)
    channels = [c for c in map(reader.channel, tables.channels) if c is not None]
    channels.sort(key=lambda c: tuple(int(part) for part in c.number.split(".")))
    return ForeignStation(
        ForeignSystem.ERSATZTV,
        tuple(channels),
        tuple(reader.collections.values()),
        tuple(reader.presets.values()),
        tuple(reader.notes),
    )


class _Reader:
    def __init__(self, tables: ErsatzTables) -> None:
        self.t = tables
        self.notes: list[str] = []
        self.collections: dict[str, ForeignCollection] = {}
        self.presets: dict[str, ForeignFillerPreset] = {}
        self.media = {row.get("Id"): _media(row) for row in tables.media}
        self.shows = {row.get("Id"): text(row.get("Title")) for row in tables.shows}
        self.seasons = {row.get("Id"): row for row in tables.seasons}
        self.playouts = {row.get("ChannelId"): row for row in tables.playouts}
        self.schedules = {row.get("Id"): row for row in tables.schedules}
        self.fillers = {row.get("Id"): row for row in tables.fillers}
        self.watermarks = {row.get("Id"): row for row in tables.watermarks}
        self.collection_rows = {row.get("Id"): row for row in tables.collections}
        self.multiple = {row.get("Id"): row for row in tables.multiple}
        self.duration = {row.get("Id"): row for row in tables.duration}
        self.one, self.flood = set(tables.one), set(tables.flood)

    def channel(self, row: Row) -> ForeignChannel | None:
        number = text(row.get("Number"))
        name = text(row.get("Name")) or f"Channel {number}"
        if not re.fullmatch(r"[0-9]{1,5}(\.[0-9]{1,3})?", number):
            self.notes.append(f"channel {number!r} ({name}): not a channel number; skipped")
            return None
        label = f"channel {number}"
        items: tuple[ForeignScheduleItem, ...] = ()
        playout = self.playouts.get(row.get("Id"))
        if playout is None:
            self.notes.append(f"{label}: no playout")
        elif count(playout.get("ScheduleKind"), _CLASSIC) not in (0, _CLASSIC):
            self.notes.append(f"{label}: only classic schedules can be imported")
        else:
            items = self.schedule(playout.get("ProgramScheduleId"), label)
        fallback = self.preset(row.get("FallbackFillerId"), label)
        return ForeignChannel(
            number=number,
            name=name[:200],
            group=text(row.get("Group")) or None,
            watermark=self.watermark(row.get("WatermarkId"), label),
            items=items,
            fallback=fallback,
        )

    def schedule(self, schedule_id: Any, label: str) -> tuple[ForeignScheduleItem, ...]:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            self.notes.append(f"{label}: its schedule does not exist")
            return ()
        strict = count(schedule.get("FixedStartTimeBehavior"), 0) == 0
        rows = [r for r in self.t.items if r.get("ProgramScheduleId") == schedule_id]
        rows.sort(key=lambda r: count(r.get("Index"), 0))
        made = []
        for row in rows:
            item = self.item(row, strict, f"{label}, schedule item {count(row.get('Index'), 0)}")
            if item is not None:
                made.append(item)
        return tuple(made)

    def item(self, row: Row, strict: bool, where: str) -> ForeignScheduleItem | None:
        source = self.source(row, where)
        if source is None:
            return None
        item_id = row.get("Id")
        mode, count_, minutes, tail = PlayMode.ONE, 1, None, TailMode.TRIM
        if item_id in self.multiple:
            mode = PlayMode.MULTIPLE
            count_ = count(_number(self.multiple[item_id].get("Count")), 1) or 1
            if count(self.multiple[item_id].get("MultipleMode"), 0) != 0:
                self.notes.append(f"{where}: a count that follows the collection became {count_}")
        elif item_id in self.duration:
            mode, tail = PlayMode.DURATION, TailMode.FILLER
            seconds = _timespan(self.duration[item_id].get("PlayoutDuration"))
            minutes = max(1, round((seconds or 3600) / 60))
        elif item_id in self.flood:
            mode = PlayMode.FLOOD
        elif item_id not in self.one:
            self.notes.append(f"{where}: unknown play mode; played once")
        start = _timespan(row.get("StartTime"))
        behaviour = row.get("FixedStartTimeBehavior")
        if behaviour is not None:
            strict = count(behaviour, 0) == 0
        filler = []
        for column, kind in _FILLER_COLUMNS:
            key = self.preset(row.get(column), where)
            if key is not None:
                filler.append((kind, key))
        return ForeignScheduleItem(
            (source,),
            _ORDERS.get(count(row.get("PlaybackOrder"), 0), PlaybackOrder.SEASON_EPISODE),
            mode,
            count=count_,
            duration_minutes=minutes,
            tail_mode=tail,
            fixed_start=None if start is None else _clock_time(start),
            lateness=Lateness.SKIP if strict else Lateness.START_LATE,
            guide_title=text(row.get("CustomTitle"))[:200] or None,
            filler=tuple(filler),
        )

    def source(self, row: Row, where: str) -> str | None:
        """The key of the collection an item or filler plays (made on first use)."""
        kind = count(row.get("CollectionType"), -1)
        if kind == _COLLECTION:
            return self.collection(row.get("CollectionId"), where)
        media_id = row.get("MediaItemId")
        if kind == _SHOW and media_id in self.shows:
            title = self.shows[media_id]
            key = f"show:{media_id}"
            self.collections.setdefault(
                key,
                ForeignCollection(
                    key, f"ErsatzTV show {title}", kind=ForeignCollectionKind.SHOW, show=title
                ),
            )
            return key
        if kind == _SEASON and media_id in self.seasons:
            season = self.seasons[media_id]
            show, number = text(season.get("Show")), small_int(season.get("SeasonNumber"))
            key = f"season:{media_id}"
            self.collections.setdefault(
                key,
                ForeignCollection(
                    key, f"ErsatzTV {show} season {number}", kind=ForeignCollectionKind.SEASON,
                    show=show, season=number,
                ),
            )  # fmt: skip
            return key
        if kind in (_MOVIE, _EPISODE) and media_id in self.media:
            ref = self.media[media_id]
            key = f"item:{media_id}"
            self.collections.setdefault(
                key, ForeignCollection(key, f"ErsatzTV {ref.label}", (ref,))
            )
            return key
        self.notes.append(f"{where}: its source (collection type {kind}) cannot be imported")
        return None

    def collection(self, collection_id: Any, where: str) -> str | None:
        row = self.collection_rows.get(collection_id)
        if row is None:
            self.notes.append(f"{where}: collection {collection_id} does not exist")
            return None
        key = f"collection:{collection_id}"
        if key not in self.collections:
            members = [r for r in self.t.collection_items if r.get("CollectionId") == collection_id]
            members.sort(
                key=lambda r: (count(r.get("CustomIndex"), 0), count(r.get("MediaItemId"), 0))
            )
            refs = tuple(
                self.media[r["MediaItemId"]] for r in members if r.get("MediaItemId") in self.media
            )
            name = text(row.get("Name")) or str(collection_id)
            self.collections[key] = ForeignCollection(key, f"ErsatzTV {name}", refs)
        return key

    def preset(self, filler_id: Any, where: str) -> str | None:
        if filler_id is None:
            return None
        key = f"filler:{filler_id}"
        if key in self.presets:
            return key
        row = self.fillers.get(filler_id)
        kind = _FILLER_KINDS.get(count(row.get("FillerKind"), 0)) if row is not None else None
        if row is None or kind is None:
            self.notes.append(f"{where}: filler preset {filler_id} cannot be imported")
            return None
        name = text(row.get("Name")) or str(filler_id)
        source = self.source(row, f"filler preset {name}")
        if source is None:
            return None
        mode = count(row.get("FillerMode"), 0)
        pad = count(row.get("PadToNearestMinute"), 0) if mode == _FILLER_PAD else 0
        seconds = _timespan(row.get("Duration")) if mode == _FILLER_DURATION else None
        counted = mode in (_FILLER_COUNT, _FILLER_RANDOM_COUNT)
        self.presets[key] = ForeignFillerPreset(
            key, f"ErsatzTV {name}", kind, ((source, 1),),
            count=(count(row.get("Count"), 1) or 1) if counted else 1,
            tail_boundary_minutes=pad or (None if seconds else 30),
            tail_fixed_seconds=seconds if seconds else None,
        )  # fmt: skip
        return key

    def watermark(self, watermark_id: Any, label: str) -> WatermarkStyle | None:
        row = self.watermarks.get(watermark_id)
        if row is None:
            return None
        location = count(row.get("Location"), 0)
        if location not in _LOCATIONS:
            self.notes.append(f"{label}: its watermark position has no corner here; bottom right")
        opacity = count(row.get("Opacity"), 100)
        ratio = opacity / 100 if 0 < opacity <= 100 else 1.0
        return WatermarkStyle(_LOCATIONS.get(location, Corner.BOTTOM_RIGHT), ratio)


def _media(row: Row) -> MediaRef:
    ids = []
    plex = text(row.get("PlexKey")).removeprefix("/library/metadata/")
    if plex:
        ids.append(("plex", plex))
    for column, kind in (("JellyfinId", "jellyfin"), ("EmbyId", "emby")):
        if text(row.get(column)):
            ids.append((kind, text(row.get(column))))
    kind = text(row.get("Kind")) or "other"
    episode = kind == "episode"
    return MediaRef(
        title=(text(row.get("Title")) or f"item {row.get('Id')}")[:500],
        kind=kind,
        show=(text(row.get("Show")) or None) if episode else None,
        season=small_int(row.get("Season")) if episode else None,
        episode=small_int(row.get("Episode")) if episode else None,
        path=text(row.get("Path")) or None,
        remote_ids=tuple(ids),
    )


def _number(value: Any) -> Any:
    """``Count`` is text in newer schemas (it may hold an expression): its digits, if any."""
    if isinstance(value, str):
        return int(value) if value.strip().isdigit() else None
    return value


def _timespan(value: Any) -> int | None:
    """An EF Core TimeSpan (``[d.]hh:mm:ss[.fffffff]``) in whole seconds, else ``None``."""
    match = _TIMESPAN.match(text(value))
    if match is None:
        return None
    days = int(match["d"] or 0)
    return ((days * 24 + int(match["h"])) * 60 + int(match["m"])) * 60 + int(match["s"])


def _clock_time(seconds: int) -> time:
    seconds %= 24 * 3600
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)

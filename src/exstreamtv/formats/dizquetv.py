"""dizqueTV's data folder (``.dizquetv``) read into a :class:`ForeignStation`.

dizqueTV keeps one JSON file per channel (``channels/<number>.json``), per filler list
(``filler/<id>.json``: ``{"name", "content": [programme...]}``) and per custom show
(``custom-shows/<id>.json``). A channel holds ``programs``, its looping lineup from
``startTime``: programmes taken from Plex (``ratingKey``, ``serverKey``, the file path
on the Plex server as ``file``, ``type``, ``showTitle``, ``season``, ``episode``,
``duration`` in ms, and ``customShowId`` when they came from a custom show) and flex time
(``{"isOffline": true, "duration": ms}``). ``fillerCollections`` lists the channel's filler
lists (``id``, ``weight``), ``fillerRepeatCooldown`` is in ms, ``watermark.position`` is a
corner. See docs/importing.md for the source files this follows.

Pure: the caller reads the files; a file that is not what dizqueTV writes is skipped with
a note, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exstreamtv.domain.profiles import Corner, WatermarkStyle
from exstreamtv.domain.station_import import (
    ForeignChannel,
    ForeignCollection,
    ForeignFillerPreset,
    ForeignStation,
    ForeignSystem,
    LineupEntry,
    MediaRef,
    lineup_schedule,
)
from exstreamtv.formats.foreign_values import CORNERS, count, small_int, text

# Images dizqueTV serves from its own folder: ``/images/<file>`` (uploads included).
_OWN_IMAGE = re.compile(r"^(?:https?://[^/]+)?/images/(?P<path>uploads/[A-Za-z0-9._-]+)$")
LIMIT_PROGRAMS = 200_000  # per channel: a lineup longer than this is refused


@dataclass(frozen=True, slots=True)
class DizqueFiles:
    """The JSON texts of a dizqueTV folder, by file name (``"5.json"``)."""

    channels: Mapping[str, str]
    fillers: Mapping[str, str]


def read_station(files: DizqueFiles) -> ForeignStation:
    """The channels, filler lists and lineups in ``files`` (channel-number order)."""
    notes: list[str] = []
    collections: list[ForeignCollection] = []
    presets: list[ForeignFillerPreset] = []
    filler_keys: set[str] = set()
    for name, raw in sorted(files.fillers.items()):
        filler_id = name.removesuffix(".json")
        data = _object(raw, f"filler/{name}", notes)
        if data is None:
            continue
        content = [ref for ref in map(_media, _list(data.get("content"))) if ref is not None]
        key = f"filler:{filler_id}"
        label = text(data.get("name")) or filler_id
        collections.append(ForeignCollection(key, f"dizqueTV filler {label}", tuple(content)))
        filler_keys.add(key)
    channels = []
    for name, raw in files.channels.items():
        data = _object(raw, f"channels/{name}", notes)
        if data is None:
            continue
        channel = _channel(data, name, filler_keys, notes)
        if channel is None:
            continue
        made, more_collections, more_presets = channel
        channels.append(made)
        collections.extend(more_collections)
        presets.extend(more_presets)
    channels.sort(key=lambda c: int(c.number))
    return ForeignStation(
        ForeignSystem.DIZQUETV, tuple(channels), tuple(collections), tuple(presets), tuple(notes)
    )


def _channel(
    data: Mapping[str, Any], file_name: str, filler_keys: set[str], notes: list[str]
) -> tuple[ForeignChannel, list[ForeignCollection], list[ForeignFillerPreset]] | None:
    number = data.get("number")
    if isinstance(number, str) and number.isdigit():
        number = int(number)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 100_000:
        notes.append(f"channels/{file_name}: no valid channel number; skipped")
        return None
    name = text(data.get("name")) or f"Channel {number}"
    programs = _list(data.get("programs"))
    if len(programs) > LIMIT_PROGRAMS:
        notes.append(f"channel {number}: {len(programs)} programmes is too many; skipped")
        return None
    lineup = [entry for entry in map(_entry, programs) if entry is not None]
    filler = []
    for use in _list(data.get("fillerCollections")):
        if not isinstance(use, Mapping):
            continue
        key = f"filler:{text(use.get('id'))}"
        if key not in filler_keys:
            notes.append(f"channel {number}: filler list {use.get('id')!r} does not exist")
            continue
        filler.append((key, count(use.get("weight"), 1)))
    cooldown = count(data.get("fillerRepeatCooldown"), 0) // 60_000
    label = f"dizqueTV {number}"
    schedule = lineup_schedule(f"ch{number}", label, lineup, filler, cooldown)
    if not schedule.items:
        notes.append(f"channel {number}: its lineup has no programme")
    channel = ForeignChannel(
        number=str(number),
        name=name[:200],
        group=(text(data.get("groupTitle")) or None),
        logo=_logo(data.get("icon")),
        watermark=_watermark(data.get("watermark")),
        items=schedule.items,
        fallback=schedule.fallback,
    )
    return channel, list(schedule.collections), list(schedule.presets)


def _entry(program: Any) -> LineupEntry | None:
    if not isinstance(program, Mapping):
        return None
    duration = count(program.get("duration"), 0)
    if duration <= 0:
        return None
    if program.get("isOffline") is True:
        return LineupEntry(duration)
    media = _media(program)
    if media is None:
        return None
    show_id = text(program.get("customShowId"))
    if show_id:
        name = text(program.get("customShowName")) or show_id
        return LineupEntry(duration, media, f"custom:{show_id}", name)
    return LineupEntry(duration, media)


def _media(program: Any) -> MediaRef | None:
    """A programme as a media reference (``None`` for flex, redirects, junk)."""
    if not isinstance(program, Mapping) or program.get("isOffline") is True:
        return None
    kind = {"episode": "episode", "movie": "movie", "track": "other"}.get(
        text(program.get("type")), "other"
    )
    title = text(program.get("title"))
    if not title:
        return None
    ids: tuple[tuple[str, str], ...] = ()
    rating_key = text(program.get("ratingKey"))
    if rating_key:
        ids = (("plex", rating_key),)
    episode = kind == "episode"
    return MediaRef(
        title=title[:500],
        kind=kind,
        duration_ms=count(program.get("duration"), 0),
        show=(text(program.get("showTitle")) or None) if episode else None,
        season=small_int(program.get("season")) if episode else None,
        episode=small_int(program.get("episode")) if episode else None,
        path=text(program.get("file")) or None,
        remote_ids=ids,
    )


def _watermark(value: Any) -> WatermarkStyle | None:
    if not isinstance(value, Mapping) or value.get("enabled") is not True:
        return None
    return WatermarkStyle(CORNERS.get(text(value.get("position")), Corner.BOTTOM_RIGHT))


def _logo(value: Any) -> str | None:
    """An uploaded icon as its path in the folder; another URL as is; the default: none."""
    url = text(value)
    match = _OWN_IMAGE.match(url)
    if match:
        return f"images/{match['path']}"
    if url.startswith(("http://", "https://")) and "/images/dizquetv.png" not in url:
        return url
    return None


def _object(raw: str, where: str, notes: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        notes.append(f"{where}: not valid JSON; skipped")
        return None
    if not isinstance(data, dict):
        notes.append(f"{where}: not a JSON object; skipped")
        return None
    return data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

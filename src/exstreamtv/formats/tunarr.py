"""Tunarr's database rows and lineup files read into a :class:`ForeignStation`.

Tunarr (1.x) keeps its catalogue in SQLite (``db.db``, drizzle schema, snake_case
columns) and each channel's looping lineup in ``channel-lineups/<channel uuid>.json``:
``{"items": [{"type": "content", "id": <program uuid>, "durationMs", "customShowId"?},
{"type": "offline", "durationMs"}, {"type": "redirect", "channel", "durationMs"}]}``.
Rows come from the tables ``channel``, ``program``, ``program_external_id``,
``filler_show``, ``filler_show_content``, ``channel_filler_show`` and ``custom_show``; see
docs/importing.md for the source files this follows.

Pure: the caller reads the database and files. Rows are mappings of column to value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from exstreamtv.formats.foreign_values import CORNERS, count, parsed, small_int, text

Row = Mapping[str, Any]
_SERVERS = ("plex", "jellyfin", "emby")
_KINDS = {"episode": "episode", "movie": "movie", "music_video": "music_video"}


@dataclass(frozen=True, slots=True)
class TunarrTables:
    """The rows of Tunarr's tables this import reads, and the lineup files by channel uuid."""

    channels: Sequence[Row]
    programs: Sequence[Row]
    external_ids: Sequence[Row] = ()
    fillers: Sequence[Row] = ()
    filler_content: Sequence[Row] = ()
    channel_fillers: Sequence[Row] = ()
    custom_shows: Sequence[Row] = ()
    lineups: Mapping[str, str] = field(default_factory=dict)


def read_station(tables: TunarrTables) -> ForeignStation:
    """The channels, filler lists and lineups in ``tables`` (channel-number order)."""
    notes: list[str] = []
    media = _media_by_uuid(tables.programs, tables.external_ids)
    shows = {text(r.get("uuid")): text(r.get("name")) for r in tables.custom_shows}
    collections: list[ForeignCollection] = []
    presets: list[ForeignFillerPreset] = []
    filler_keys = set()
    content: dict[str, list[tuple[int, str]]] = {}
    for row in tables.filler_content:
        position = row.get("index")
        content.setdefault(text(row.get("filler_show_uuid")), []).append(
            (position if isinstance(position, int) else 0, text(row.get("program_uuid")))
        )
    for row in tables.fillers:
        uuid = text(row.get("uuid"))
        refs = [media[p] for _, p in sorted(content.get(uuid, [])) if p in media]
        key = f"filler:{uuid}"
        name = text(row.get("name")) or uuid
        collections.append(ForeignCollection(key, f"Tunarr filler {name}", tuple(refs)))
        filler_keys.add(key)
    uses: dict[str, list[tuple[str, int, int]]] = {}
    for row in tables.channel_fillers:
        key = f"filler:{text(row.get('filler_show_uuid'))}"
        if key in filler_keys:
            uses.setdefault(text(row.get("channel_uuid")), []).append(
                (key, count(row.get("weight"), 1), count(row.get("cooldown"), 0))
            )
    channels = []
    for row in tables.channels:
        number = count(row.get("number"), 0)
        uuid = text(row.get("uuid"))
        if not 0 < number < 100_000:
            notes.append(f"channel {uuid}: no valid channel number; skipped")
            continue
        lineup = _lineup(tables.lineups.get(uuid), media, shows, number, notes)
        channel_uses = uses.get(uuid, [])
        filler = [(key, weight) for key, weight, _ in channel_uses]
        cooldown = count(row.get("filler_repeat_cooldown"), 0) // 60_000
        label = f"Tunarr {number}"
        schedule = lineup_schedule(f"ch{number}", label, lineup, filler, cooldown)
        collections.extend(schedule.collections)
        presets.extend(schedule.presets)
        channels.append(
            ForeignChannel(
                number=str(number),
                name=(text(row.get("name")) or f"Channel {number}")[:200],
                group=text(row.get("group_title")) or None,
                logo=_logo(row.get("icon")),
                watermark=_watermark(row.get("watermark")),
                items=schedule.items,
                fallback=schedule.fallback,
            )
        )
    channels.sort(key=lambda c: int(c.number))
    return ForeignStation(
        ForeignSystem.TUNARR, tuple(channels), tuple(collections), tuple(presets), tuple(notes)
    )


def _media_by_uuid(programs: Sequence[Row], external_ids: Sequence[Row]) -> dict[str, MediaRef]:
    extra: dict[str, list[Row]] = {}
    for row in external_ids:
        extra.setdefault(text(row.get("program_uuid")), []).append(row)
    found = {}
    for row in programs:
        uuid = text(row.get("uuid"))
        title = text(row.get("title"))
        if not uuid or not title:
            continue
        ids: list[tuple[str, str]] = []
        source = text(row.get("source_type"))
        if source in _SERVERS and text(row.get("external_key")):
            ids.append((source, text(row.get("external_key"))))
        path = text(row.get("file_path")) or text(row.get("plex_file_path"))
        for ext in extra.get(uuid, []):
            kind, key = text(ext.get("source_type")), text(ext.get("external_key"))
            if kind in _SERVERS and key and (kind, key) not in ids:
                ids.append((kind, key))
            path = path or text(ext.get("direct_file_path"))
        kind = _KINDS.get(text(row.get("type")), "other")
        episode = kind == "episode"
        found[uuid] = MediaRef(
            title=title[:500],
            kind=kind,
            duration_ms=count(row.get("duration"), 0),
            show=(text(row.get("show_title")) or None) if episode else None,
            season=small_int(row.get("season_number")) if episode else None,
            episode=small_int(row.get("episode")) if episode else None,
            path=path or None,
            remote_ids=tuple(ids),
        )
    return found


def _lineup(  # noqa: PLR0912 - one branch per kind of lineup item
    raw: str | None,
    media: Mapping[str, MediaRef],
    shows: Mapping[str, str],
    number: int,
    notes: list[str],
) -> list[LineupEntry]:
    if raw is None:
        notes.append(f"channel {number}: no lineup file")
        return []
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        notes.append(f"channel {number}: the lineup file is not valid JSON")
        return []
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        notes.append(f"channel {number}: the lineup file has no items")
        return []
    entries = []
    missing = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        duration = count(item.get("durationMs"), 0)
        if duration <= 0:
            continue
        kind = item.get("type")
        if kind == "content":
            ref = media.get(text(item.get("id")))
            if ref is None:
                missing += 1
                entries.append(LineupEntry(duration))
                continue
            show = text(item.get("customShowId"))
            if show:
                entries.append(LineupEntry(duration, ref, f"custom:{show}", shows.get(show, show)))
            else:
                entries.append(LineupEntry(duration, ref))
        else:
            if kind == "redirect":
                notes.append(f"channel {number}: a redirect to another channel became flex time")
            entries.append(LineupEntry(duration))
    if missing:
        notes.append(f"channel {number}: {missing} lineup item(s) name no program; flex instead")
    return entries


def _watermark(value: Any) -> WatermarkStyle | None:
    data = parsed(value)
    if not isinstance(data, dict) or data.get("enabled") is not True:
        return None
    opacity = data.get("opacity", 100)
    ratio = opacity / 100 if isinstance(opacity, int | float) and 0 < opacity <= 100 else 1.0
    return WatermarkStyle(CORNERS.get(text(data.get("position")), Corner.BOTTOM_RIGHT), ratio)


def _logo(value: Any) -> str | None:
    data = parsed(value)
    path = text(data.get("path")) if isinstance(data, dict) else ""
    return path if path.startswith(("http://", "https://")) else None

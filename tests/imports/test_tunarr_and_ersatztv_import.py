"""Importing Tunarr's data folder and ErsatzTV's database (built from their schema files,
see tests/imports/foreign_databases.py): lineups, modes, fixed starts, filler presets,
watermarks and media matched by server id or path; what cannot be mapped is named."""

from __future__ import annotations

import sqlite3
from datetime import time
from pathlib import Path

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.collections import CollectionKind
from exstreamtv.domain.libraries import PathMapping
from exstreamtv.domain.profiles import Corner
from exstreamtv.domain.schedules import FillerKind, Lateness, PlaybackOrder, PlayMode, TailMode
from exstreamtv.errors import InvalidInput
from exstreamtv.services.container import Container
from exstreamtv.services.foreign_exports import read_dizquetv, read_ersatztv, read_tunarr
from tests.imports.foreign_databases import make_ersatztv, make_tunarr


async def test_tunarr_lineups_become_items_schedules_with_their_filler_and_watermark(
    container: Container, library: Path, tmp_path: Path
) -> None:
    station = read_tunarr(make_tunarr(tmp_path / "tunarr"))

    report = await container.imports.run(station, mappings=(PathMapping("/data", str(library)),))

    assert report.channels == ("3 Tunarr Comedy", "4 Films")
    assert [u.item for u in report.unmatched] == ["Gone Show S02E05 (Nowhere)"]
    assert "channel 3: a redirect to another channel became flex time" in report.notes
    comedy = await container.channels.channel(ChannelNumber.parse("3"))
    assert comedy.watermark is not None
    assert (comedy.watermark.corner, comedy.watermark.opacity) == (Corner.BOTTOM_LEFT, 0.8)
    schedule = await container.schedules.schedule(comedy.schedule_id or 0)
    assert [(i.mode, i.count) for i in schedule.items] == [
        (PlayMode.MULTIPLE, 2), (PlayMode.ONE, 1),
    ]  # fmt: skip
    tail = await container.schedules.preset(schedule.items[0].filler.tail or 0)
    assert tail.tail_fixed_seconds == 120
    assert tail.cooldown_minutes == 10
    # Our library is local files (no rating keys): matched by the mapped path.
    items = await container.catalog.collection_items(schedule.items[0].source.collection_ids[0])
    assert [Path(i.path).name for i in items] == ["Show A - S01E01.mkv", "Show A - S01E02.mkv"]


async def test_ersatztv_classic_schedules_map_mode_for_mode(
    container: Container, library: Path, tmp_path: Path
) -> None:
    station = read_ersatztv(make_ersatztv(tmp_path / "etv" / "ersatztv.sqlite3"))

    report = await container.imports.run(station, mappings=(PathMapping("/data", str(library)),))

    assert report.channels == ("11 ETV Classic", "12 ETV Blocks")
    assert "channel 12: only classic schedules can be imported" in report.notes
    assert [(u.item, u.reason) for u in report.unmatched] == [
        ("Lost Movie", "no library item has Plex rating key 777 or path /data/movies/Lost.mkv"
         f" (mapped to {library}/movies/Lost.mkv)"),
    ]  # fmt: skip
    classic = await container.channels.channel(ChannelNumber.parse("11"))
    assert classic.group == "ErsatzTV"
    assert classic.watermark is not None and classic.watermark.corner is Corner.TOP_RIGHT
    schedule = await container.schedules.schedule(classic.schedule_id or 0)
    flood, multiple, duration = schedule.items
    assert (flood.mode, flood.fixed_start, flood.lateness, flood.guide_title) == (
        PlayMode.FLOOD, time(18), Lateness.START_LATE, "Prime Time A",
    )  # fmt: skip
    show = await container.catalog.collection(flood.source.collection_ids[0])
    assert (show.kind, show.show) == (CollectionKind.SHOW, "Show A")
    assert (multiple.mode, multiple.count, multiple.source.order) == (
        PlayMode.MULTIPLE, 2, PlaybackOrder.CHRONOLOGICAL,
    )  # fmt: skip
    movies = await container.catalog.collection_items(multiple.source.collection_ids[0])
    assert [Path(m.path).parent.name for m in movies] == ["Movie One (1999)", "Movie Two (2004)"]
    season = await container.catalog.collection(duration.source.collection_ids[0])
    assert (season.kind, season.show, season.season) == (CollectionKind.SEASON, "Show B", 1)
    assert (duration.mode, duration.duration_minutes, duration.tail_mode) == (
        PlayMode.DURATION, 60, TailMode.FILLER,
    )  # fmt: skip
    pad = await container.schedules.preset(duration.filler.tail or 0)
    assert (pad.kind, pad.tail_boundary_minutes) == (FillerKind.TAIL, 15)
    assert schedule.fallback is not None
    blocks = await container.channels.channel(ChannelNumber.parse("12"))
    assert blocks.schedule_id is None


@pytest.mark.parametrize(
    ("make", "read", "message"),
    [
        (lambda p: p, read_tunarr, "is not a Tunarr data folder"),
        (lambda p: p, read_dizquetv, "is not a dizqueTV data folder"),
        (lambda p: _write(p / "x.sqlite3", b"not a database at all" * 100), read_ersatztv,
         "is not what this import expects"),
        (lambda p: _empty_db(p / "e.sqlite3"), read_ersatztv, "is not what this import expects"),
    ],
)  # fmt: skip
def test_a_path_that_is_not_the_programs_data_is_refused_with_the_reason(
    tmp_path: Path, make: object, read: object, message: str
) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InvalidInput, match=message):
        read(target)  # type: ignore[operator]


def test_hostile_dizquetv_files_are_skipped_with_notes(tmp_path: Path) -> None:
    channels = tmp_path / "channels"
    channels.mkdir()
    (channels / "1.json").write_text("{not json")
    (channels / "2.json").write_text("[1, 2]")
    (channels / "3.json").write_text('{"number": 3, "name": "<&>\\u202e", "programs": ['
        '{"duration": NaN, "title": "x"}, {"duration": 1e308, "title": "z"},'
        '{"duration": 1e9, "title": "y", "type": "movie"},'
        '{"duration": 5, "isOffline": true}, {"title": "", "duration": 5},'
        '"junk", null]}')  # fmt: skip
    (channels / "4.json").write_text('{"number": 4, "programs": ' + "[" * 5000 + "]" * 5000 + "}")
    station = read_dizquetv(tmp_path)
    assert "channels/1.json: not valid JSON; skipped" in station.notes
    assert "channels/2.json: not a JSON object; skipped" in station.notes
    assert "channels/4.json: not valid JSON; skipped" in station.notes
    (three,) = station.channels
    assert three.name == "<&>\u202e"
    (item,) = three.items
    assert item.count == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _empty_db(path: Path) -> Path:
    sqlite3.connect(path).close()
    return path

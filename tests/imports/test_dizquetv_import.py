"""Importing dizqueTV's own files (tests/fixtures/dizquetv, written by dizqueTV 1.5.5):
every channel, filler list and programme arrives, matched by path mapping; a second import
creates nothing; the unmatched programme is listed with its reason; the imported channels
have a playout of the imported media and a guide that the real validator accepts."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.libraries import PathMapping
from exstreamtv.domain.profiles import Corner
from exstreamtv.domain.schedules import FillerKind, PlayMode
from exstreamtv.services.container import Container
from exstreamtv.services.foreign_exports import read_dizquetv
from tests.lineups import tv_validate
from tests.web.client import open_client

FIXTURE = Path(__file__).parents[1] / "fixtures" / "dizquetv"


async def test_every_channel_filler_list_and_programme_arrives_and_plays_in_the_guide(
    container: Container, library: Path, tmp_path: Path
) -> None:
    station = read_dizquetv(FIXTURE)
    mapping = (PathMapping("/data", str(library)),)

    report = await container.imports.run(station, mappings=mapping, files_root=FIXTURE)

    assert report.channels == ("5 Sitcoms", "7 Movie Night", "9 Früh & Spät – 夜")
    assert report.builds == ()
    # 11 distinct files are named; only "Gone Show" (rating key 999) has no file here.
    assert report.matched == 11
    assert [(u.item, u.reason) for u in report.unmatched] == [
        (
            "Gone Show S02E05 (Nowhere)",
            "no library item has Plex rating key 999 or path "
            f"/data/tv/Gone Show/Season 02/Gone Show - S02E05.mkv (mapped to {library}"
            "/tv/Gone Show/Season 02/Gone Show - S02E05.mkv)",
        )
    ]
    sitcoms = await container.channels.channel(ChannelNumber.parse("5"))
    assert sitcoms.group == "Comedy"
    assert sitcoms.watermark is not None and sitcoms.watermark.corner is Corner.TOP_LEFT
    assert sitcoms.schedule_id is not None
    schedule = await container.schedules.schedule(sitcoms.schedule_id)
    # Show A x2, flex 5 min, Show B, Show A: three runs; the flex is a 300 s tail of the
    # filler list, and the filler list is the schedule's fallback.
    assert [(i.mode, i.count) for i in schedule.items] == [
        (PlayMode.MULTIPLE, 2), (PlayMode.ONE, 1), (PlayMode.ONE, 1),
    ]  # fmt: skip
    assert schedule.items[0].source == schedule.items[2].source
    tail = await container.schedules.preset(schedule.items[0].filler.tail or 0)
    assert (tail.kind, tail.tail_fixed_seconds) == (FillerKind.TAIL, 300)
    assert schedule.fallback is not None
    bumpers = await container.schedules.preset(schedule.fallback)
    (weighted,) = bumpers.collections
    filler_items = await container.catalog.collection_items(weighted.collection_id)
    assert sorted(item.path for item in filler_items) == [
        str(library / "filler/bumper1.mp4"), str(library / "filler/bumper2.mp4"),
    ]  # fmt: skip
    assert bumpers.cooldown_minutes == 30
    # The custom show is its own run between the two movies of channel 7.
    movies = await container.channels.channel(ChannelNumber.parse("7"))
    assert movies.logo == "https://example.invalid/logos/movie-night.png"
    movie_schedule = await container.schedules.schedule(movies.schedule_id or 0)
    assert [(i.mode, i.count) for i in movie_schedule.items] == [
        (PlayMode.ONE, 1), (PlayMode.MULTIPLE, 2), (PlayMode.ONE, 1),
    ]  # fmt: skip

    entries = await container.playouts.entries(
        ChannelNumber.parse("5"), container.clock.now(), container.clock.now() + timedelta(hours=1)
    )
    played = {e.entry.media_id for e in entries}
    imported = {i.id for i in await container.catalog.collection_items(
        schedule.items[0].source.collection_ids[0])}  # fmt: skip
    assert imported & played
    async with open_client(container) as client:
        guide = await client.get("/iptv/xmltv.xml")
    assert guide.status_code == 200
    assert "Validated ok." in await tv_validate(guide.content, tmp_path)
    assert guide.text.count("<channel id=") == 3
    assert "Show A" in guide.text and "Movie One (1999)" in guide.text


async def test_a_second_import_creates_nothing_and_says_the_channels_exist(
    container: Container, library: Path
) -> None:
    station = read_dizquetv(FIXTURE)
    mapping = (PathMapping("/data", str(library)),)
    await container.imports.run(station, mappings=mapping)
    collections = len(await container.catalog.collections())

    again = await container.imports.run(station, mappings=mapping)

    assert again.channels == ()
    assert again.skipped == (
        "channel 5 Sitcoms: channel 5 already exists",
        "channel 7 Movie Night: channel 7 already exists",
        "channel 9 Früh & Spät – 夜: channel 9 already exists",
    )
    assert len(await container.catalog.collections()) == collections
    assert len(await container.channels.channels()) == 3


async def test_a_dry_run_reports_the_same_as_the_real_run_and_saves_nothing(
    container: Container, library: Path
) -> None:
    station = read_dizquetv(FIXTURE)
    mapping = (PathMapping("/data", str(library)),)

    dry = await container.imports.run(station, mappings=mapping, dry_run=True)

    assert await container.channels.channels() == []
    assert await container.catalog.collections() == []
    real = await container.imports.run(station, mappings=mapping)
    assert (dry.channels, dry.collections, dry.presets, dry.schedules, dry.unmatched) == (
        real.channels, real.collections, real.presets, real.schedules, real.unmatched,
    )  # fmt: skip


async def test_the_import_is_one_transaction_a_failure_midway_leaves_nothing(
    container: Container, library: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURE, folder)
    # A channel number our channels cannot take is skipped; a name past every limit is cut.
    text = (folder / "channels" / "9.json").read_text()
    (folder / "channels" / "9.json").write_text(text.replace('"number":9', '"number":0'))
    station = read_dizquetv(folder)
    assert [c.number for c in station.channels] == ["5", "7"]
    assert "channels/9.json: no valid channel number; skipped" in station.notes

    class Boom(Exception):
        pass

    async def fail(*_: object) -> None:
        raise Boom

    container.imports._logo = fail  # type: ignore[method-assign,assignment]
    with pytest.raises(Boom):
        await container.imports.run(station, mappings=(PathMapping("/data", str(library)),))
    assert await container.channels.channels() == []
    assert await container.catalog.collections() == []
    assert await container.schedules.presets() == []

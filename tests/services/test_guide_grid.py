"""The web guide grid on SQLite and PostgreSQL (clock moved by hand): windows read only
their rows and time yet fold exactly as XMLTV, short programmes merge, bad windows are
refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.guide import Programme
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    WeightedCollection,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.formats.guide_folding import programmes_from_entries
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideLinks
from exstreamtv.services.guide_grid import merge_short
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository
from tests.lineups import episode, on_air
from tests.seeding import T0, ManualClock, add_collection, add_show
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """No gap folding: the window is read from its very start, so only the completion of
    cut guide groups can give a programme its true start."""
    return build_settings(
        tmp_path / "data", database_url, playout={"horizon_hours": 6},
        epg={"fold_gaps_shorter_than_minutes": 0},
    )  # fmt: skip


def programme(start_min: float, stop_min: float, title: str = "P") -> Programme:
    base = to_ms(T0)
    return Programme("ch1", base + int(start_min * 60_000), base + int(stop_min * 60_000), title)


def test_runs_of_two_or_more_short_programmes_merge_into_one_cell() -> None:
    shows = [
        programme(0, 30, "Long"), programme(30, 30.5, "a"), programme(30.5, 31, "b"),
        programme(31, 31.2, "c"), programme(31.2, 60, "Long 2"), programme(60, 60.4, "lone"),
        programme(60.4, 90, "Long 3"),
    ]  # fmt: skip
    cells = merge_short(shows, 5 * 60_000)
    assert [(c.programme.title, c.count) for c in cells] == [
        ("Long", 1), ("a", 3), ("Long 2", 1), ("lone", 1), ("Long 3", 1)
    ]  # fmt: skip
    assert (cells[1].start_ms, cells[1].stop_ms) == (shows[1].start_ms, shows[3].stop_ms)
    assert [c.programme for c in merge_short(shows, 0)] == shows
    clips = [programme(n / 2, (n + 1) / 2, f"clip {n}") for n in range(150)]  # 75 minutes
    assert [c.count for c in merge_short(clips, 5 * 60_000)] == [60, 60, 30]


async def with_filler(container: Container) -> None:
    """Channel 1: 10-minute episodes, each after two 30-second pre-roll bumpers."""
    episodes = await add_collection(container, "Eps", await add_show(container, "S", [10] * 6))
    bumpers = await add_collection(container, "Bumps", await add_show(container, "B", [0.5] * 4))
    preset = await container.schedules.create_preset(
        FillerPreset(0, "Bumps", FillerKind.PRE_ROLL, (WeightedCollection(bumpers),), count=2)
    )
    filler = FillerSet(pre_roll=preset.id)
    item = ScheduleItem(ContentSource((episodes,)), PlayMode.ONE, filler=filler)
    schedule = await container.schedules.create(
        Schedule(0, "With bumpers", ScheduleKind.ITEMS, items=(item,))
    )
    channel = await container.channels.create(ChannelFields(ChannelNumber(1), "One"))
    await container.playouts.attach(channel.number, schedule.id)


async def xmltv_programmes(container: Container) -> list[Programme]:
    """The channel's programmes folded from every stored row, as the XMLTV guide does."""
    async with container.sessions() as session:
        entries = await PlayoutRepository(session).all_entries(
            T0 - timedelta(days=1), T0 + timedelta(days=1)
        )
        ids = sorted({e.media_id for es in entries.values() for e in es if e.media_id})
        media = await MediaRepository(session).guide_media(ids)
    (rows,) = entries.values()
    return programmes_from_entries("ch1.exstreamtv", rows, media, container.guide.policy)


async def test_a_window_cut_mid_programme_keeps_the_programmes_true_times(
    clocked: Container, clock: ManualClock
) -> None:
    await with_filler(clocked)
    whole = await xmltv_programmes(clocked)
    # A programme is listed from its own first frame and the next one's pre-roll ends it
    # (the default placement); the first also holds the playout's opening bumpers.
    assert [p.stop_ms - p.start_ms for p in whole[:2]] == [12 * 60_000, 11 * 60_000]
    cut = from_ms(whole[1].start_ms + 45_000)  # 45 s into the 2nd programme
    window = await clocked.guide_grid.window(LINKS, cut, cut + timedelta(minutes=30))
    shown = [c.programme for c in window.cells]
    assert shown == [
        p for p in whole if p.stop_ms > to_ms(cut) and p.start_ms < to_ms(cut) + 1_800_000
    ]
    assert shown[0].start_ms == whole[1].start_ms and shown[-1].stop_ms == whole[len(shown)].stop_ms


async def test_rows_are_read_by_offset_and_limit_or_by_channel_id(clocked: Container) -> None:
    for number in ("1", "2", "3"):
        await on_air(clocked, number, [episode(f"Show {number}", n) for n in (1, 2)], minutes=30)
    window = await clocked.guide_grid.window(LINKS, T0, T0 + timedelta(hours=1), offset=1, limit=1)
    assert [c.number for c in window.lineup] == ["1", "2", "3"]
    assert [c.number for c in window.rows] == ["2"]
    assert {c.programme.title for c in window.cells} == {"Show 2"}
    third = window.lineup[2].id
    only = await clocked.guide_grid.window(LINKS, T0, T0 + timedelta(hours=1), channel=third)
    assert {c.channel_id for c in only.cells} == {third}


async def test_short_programmes_merge_and_their_own_window_lists_them(
    clocked: Container,
) -> None:
    await on_air(clocked, "1", [episode("Clips", n) for n in range(1, 9)], minutes=0.5)
    hour = (T0, T0 + timedelta(hours=1))
    halves = (await clocked.guide_grid.window(LINKS, *hour, short_under_ms=300_000)).cells
    assert [c.count for c in halves] == [60, 60]
    assert (halves[0].start_ms, halves[-1].stop_ms) == (to_ms(T0), to_ms(hour[1]))
    merged = halves[0]
    listed = await clocked.guide_grid.window(
        LINKS, from_ms(merged.start_ms), from_ms(merged.start_ms) + timedelta(minutes=2),
        channel=merged.channel_id,
    )  # fmt: skip
    assert [c.count for c in listed.cells] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("start", "length", "message"),
    [(0, 0, "after start"), (0, 49, "48 hours"), (-8 * 24, 1, "7 days")],
)
async def test_bad_windows_are_refused_saying_why(
    clocked: Container, start: int, length: int, message: str
) -> None:
    begin = T0 + timedelta(hours=start)
    with pytest.raises(InvalidInput, match=message):
        await clocked.guide_grid.window(LINKS, begin, begin + timedelta(hours=length))


async def test_a_channel_without_a_playout_is_one_offline_cell(clocked: Container) -> None:
    await clocked.channels.create(ChannelFields(ChannelNumber(9), "Nine"))
    (cell,) = (await clocked.guide_grid.window(LINKS, T0, T0 + timedelta(hours=2))).cells
    assert (cell.programme.kind.value, cell.start_ms, cell.stop_ms) == (
        "offline", to_ms(T0), to_ms(T0 + timedelta(hours=2))
    )  # fmt: skip

"""Playout builds on the database: continue, refresh and reset, and what viewers see
(SQLite and PostgreSQL; the clock is moved by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import update

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.playout import EntryKind, PlayoutEntry, Timeline
from exstreamtv.domain.schedules import (
    FillerKind,
    FillerPreset,
    FillerSet,
    Schedule,
    WeightedCollection,
)
from exstreamtv.playback.channels import schedule_lookup
from exstreamtv.scheduling.engine import build
from exstreamtv.services.container import Container
from exstreamtv.services.playout_inputs import load_inputs
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.playouts import PlayoutRepository
from exstreamtv.store.tables import ChannelRow, ScheduleRow
from tests.seeding import (
    MIN,
    T0,
    ManualClock,
    add_channel,
    add_collection,
    add_show,
    items_schedule,
)

HORIZON = timedelta(hours=48)
FAR = timedelta(days=30)


@dataclass
class OnAirChannel:
    channel: Channel
    schedule: Schedule
    show_a: list[int]
    show_b_collection: int


async def on_air(container: Container, number: str = "1", *, tail: bool = False) -> OnAirChannel:
    """A channel playing show A (5 episodes, 20-24 min) in episode order, attached at T0;
    with ``tail``, each programme is padded to the next :30 by an ident."""
    show_a = await add_show(container, "A", [20, 21, 22, 23, 24])
    show_b = await add_show(container, "B", [25, 26])
    a, b = (
        await add_collection(container, "A", show_a),
        await add_collection(container, "B", show_b),
    )
    schedule = items_schedule(f"Sched {number}", a)
    if tail:
        ident = await add_collection(container, "Ident", await add_show(container, "I", [0.5]))
        preset = await container.schedules.create_preset(
            FillerPreset(0, "Ident", FillerKind.TAIL, (WeightedCollection(ident),))
        )
        item = schedule.items[0]
        schedule = Schedule(
            0, schedule.name, schedule.kind,
            items=(type(item)(item.source, item.mode, filler=FillerSet(tail=preset.id)),),
        )  # fmt: skip
    saved = await container.schedules.create(schedule)
    channel = await add_channel(container, number)
    await container.playouts.attach(channel.number, saved.id)
    return OnAirChannel(channel, saved, show_a, b)


async def stored(container: Container, number: str = "1") -> list[PlayoutEntry]:
    """Every stored entry of the channel (the API caps windows at 7 days)."""
    async with container.sessions() as session:
        channel = await ChannelRepository(session).get(ChannelNumber.parse(number))
        listed = await PlayoutRepository(session).entries(channel.id, T0 - FAR, T0 + FAR)
    return [item.entry for item in listed]


def assert_contiguous(entries: list[PlayoutEntry]) -> None:
    assert entries
    assert all(a.finish_ms == b.start_ms for a, b in pairwise(entries))


async def test_attaching_a_schedule_builds_from_now_to_the_horizon(clocked: Container) -> None:
    setup = await on_air(clocked)
    entries = await stored(clocked)
    assert_contiguous(entries)
    assert entries[0].start == T0
    assert entries[-1].finish >= T0 + HORIZON
    assert [e.media_id for e in entries[:6]] == [*setup.show_a, setup.show_a[0]]


async def test_continue_extends_exactly_as_one_longer_build_would(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked, tail=True)
    later = clock.advance(timedelta(hours=5))
    summary = await clocked.playouts.build(setup.channel.number, BuildMode.CONTINUE)
    assert (summary.removed, summary.trimmed) == (0, 0)
    assert summary.added > 0 and summary.last is not None and summary.last >= later + HORIZON
    async with clocked.sessions() as session:
        inputs = await load_inputs(session, setup.schedule)
    at_once = build(inputs, None, T0, later + HORIZON)
    assert await stored(clocked) == at_once.entries


async def test_editing_a_schedule_while_a_channel_airs_leaves_the_airing_programme_in_place(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked, tail=True)
    before = await stored(clocked)
    now = clock.advance(timedelta(hours=3, minutes=7))
    airing = Timeline(before).at(now)
    assert airing is not None and airing.entry.kind is EntryKind.CONTENT
    group = [e for e in before if e.guide_group == airing.entry.guide_group]
    assert group[0] == airing.entry
    assert {e.kind for e in group[1:]} == {EntryKind.TAIL}  # idents up to the next :30
    boundary = group[-1].finish_ms

    edited = items_schedule(setup.schedule.name, setup.show_b_collection)
    await clocked.schedules.update(setup.schedule.id, edited)

    after = await stored(clocked)
    assert_contiguous(after)
    kept = [e for e in before if e.start_ms < boundary]
    assert after[: len(kept)] == kept
    assert after[len(kept)].start_ms == boundary
    new_media = {e.media_id for e in after[len(kept) :]}
    assert new_media.isdisjoint(setup.show_a)
    on = await clocked.playouts.now(setup.channel.number)
    assert on is not None and on.playing == airing


async def test_refresh_keeps_positions_so_an_unchanged_schedule_rebuilds_the_same_future(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    before = await stored(clocked)
    clock.advance(timedelta(hours=2, minutes=1))
    summary = await clocked.playouts.build(setup.channel.number, BuildMode.REFRESH)
    assert 0 < summary.removed < summary.added  # the horizon moved on by 2 h
    assert (await stored(clocked))[: len(before)] == before


async def test_reset_never_deletes_the_airing_entry_and_starts_positions_over(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    before = await stored(clocked)
    now = clock.advance(timedelta(minutes=50))  # the third episode airs (20 + 21 min before)
    airing = Timeline(before).at(now)
    assert airing is not None and airing.entry.media_id == setup.show_a[2]

    await clocked.playouts.build(setup.channel.number, BuildMode.RESET)

    after = await stored(clocked)
    assert_contiguous(after)
    assert after[:3] == before[:3]
    assert [e.media_id for e in after[3:6]] == setup.show_a[:3]  # episode 1 again, not 4
    on = await clocked.playouts.now(setup.channel.number)
    assert on is not None and on.playing == airing


async def test_an_expired_playout_restarts_at_now_and_old_entries_are_trimmed(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    now = clock.advance(timedelta(days=10))  # the old playout ended over 7 days ago (catch-up)
    summary = await clocked.playouts.build(setup.channel.number, BuildMode.CONTINUE)
    entries = await stored(clocked)
    assert summary.first == now == entries[0].start
    assert summary.trimmed > 0
    assert entries[-1].finish >= now + HORIZON
    assert (await clocked.playouts.now(setup.channel.number)) is not None


async def test_extend_all_builds_scheduled_channels_and_survives_a_broken_one(
    clocked: Container, clock: ManualClock
) -> None:
    good = await on_air(clocked, "1")
    broken = await add_channel(clocked, "2")
    disabled = await add_channel(clocked, "3")
    await add_channel(clocked, "4")  # no schedule
    second = await clocked.schedules.create(items_schedule("Second", good.show_b_collection))
    for channel in (broken, disabled):
        await clocked.playouts.attach(channel.number, second.id)
    broken_schedule = await clocked.schedules.create(
        items_schedule("Broken", good.show_b_collection)
    )
    async with transaction(clocked.sessions) as session:  # what the API would refuse
        channels, schedules = update(ChannelRow), update(ScheduleRow)
        await session.execute(channels.where(ChannelRow.id == disabled.id).values(enabled=False))
        await session.execute(
            channels.where(ChannelRow.id == broken.id).values(schedule_id=broken_schedule.id)
        )
        await session.execute(
            schedules.where(ScheduleRow.id == broken_schedule.id).values(timezone="Mars/Base")
        )
    disabled_before = await stored(clocked, "3")
    now = clock.advance(timedelta(hours=10))

    report = await clocked.playouts.extend_all()

    assert (report.built, report.failed) == (1, 1)
    assert (await stored(clocked, "1"))[-1].finish >= now + HORIZON
    assert await stored(clocked, "3") == disabled_before
    metrics = clocked.metrics.render().decode()
    assert (
        'exstreamtv_playout_builds_total{channel="2",mode="continue",outcome="failed"} 1.0'
        in metrics
    )


async def test_the_stream_joins_the_programme_the_guide_shows_at_its_offset(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    what_plays = schedule_lookup(setup.channel, clocked.playouts.playing, clocked.catalog.item)

    at = clock.advance(timedelta(minutes=50, seconds=7))  # episode 3 started at 41 min
    segment = await what_plays(at)
    guide = await clocked.playouts.now(setup.channel.number, at)

    assert guide is not None and guide.playing.entry.media_id == setup.show_a[2]
    assert segment.path == "/media/lib-A/A/e3.mkv"
    assert segment.seek_ms == 9 * MIN + 7_000
    assert segment.duration_ms == 22 * MIN - segment.seek_ms
    assert at + timedelta(milliseconds=segment.duration_ms) == guide.playing.entry.finish


async def test_the_stream_shows_the_offline_slate_beyond_the_schedule(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    what_plays = schedule_lookup(setup.channel, clocked.playouts.playing, clocked.catalog.item)

    segment = await what_plays(clock.current + timedelta(days=30))  # past the horizon

    assert segment.path is None and segment.message == "Off the air"
    assert segment.title == setup.channel.name

"""Schedules and filler presets survive the database unchanged (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

from exstreamtv.domain.schedules import (
    Block,
    BlockEntry,
    BlockPlacement,
    BlockTemplate,
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    Lateness,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    TailMode,
    TimeSlot,
    WeightedCollection,
)
from exstreamtv.errors import Conflict, NotFound
from exstreamtv.services.container import Container
from exstreamtv.store.database import transaction
from exstreamtv.store.schedules import FillerPresetRepository, ScheduleRepository

FILLER = FillerSet(pre_roll=1, mid_roll=2, post_roll=3, tail=4, fallback=5)
EVERYTHING = Schedule(
    id=0,
    name="Everything",
    kind=ScheduleKind.ITEMS,
    timezone="America/New_York",
    items=(
        ScheduleItem(
            ContentSource((3, 1, 2), PlaybackOrder.SHUFFLE_IN_ORDER),
            PlayMode.DURATION,
            count=3,
            duration_minutes=90,
            tail_mode=TailMode.FILLER,
            fixed_start=time(6, 30, 15),
            lateness=Lateness.CUT_PREVIOUS,
            guide_title="Morning",
            filler=FILLER,
        ),
        ScheduleItem(ContentSource((7,))),
    ),
    slots=(
        TimeSlot(
            time(20, 0),
            ContentSource((4,), PlaybackOrder.RANDOM),
            frozenset({0, 6}),
            PlayMode.MULTIPLE,
            2,
            Lateness.SKIP,
            "Prime",
            FILLER,
        ),
    ),
    blocks=(Block("news", "News", 30, (BlockEntry(ContentSource((8,)), 2),), FILLER),),
    templates=(BlockTemplate((BlockPlacement(time(18, 0), "news"),), frozenset({1, 2})),),
    fallback=9,
    seed=2**40 + 7,
)
PRESET = FillerPreset(
    id=0,
    name="Bumpers",
    kind=FillerKind.MID_ROLL,
    collections=(WeightedCollection(2, 3), WeightedCollection(5)),
    cooldown_minutes=45,
    count=2,
    mid_roll_every_minutes=12,
    tail_boundary_minutes=None,
    tail_fixed_seconds=20,
)


async def test_schedule_round_trips_every_field(container: Container) -> None:
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        created = await ScheduleRepository(session).create(EVERYTHING, now)
    async with container.sessions() as session:
        loaded = await ScheduleRepository(session).get(created.id)
    assert created.id > 0
    assert loaded == created
    assert loaded.items[0].fixed_start == time(6, 30, 15)
    assert loaded.slots[0].weekdays == frozenset({0, 6})
    assert loaded == replace(EVERYTHING, id=created.id)


async def test_schedule_update_replaces_and_names_stay_unique(container: Container) -> None:
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        repo = ScheduleRepository(session)
        first = await repo.create(EVERYTHING, now)
        other = Schedule(0, "Other", ScheduleKind.SLOTS, slots=EVERYTHING.slots)
        second = await repo.create(other, now)
        updated = await repo.update(first.id, Schedule(0, "Renamed", ScheduleKind.BLOCKS), now)
    assert (updated.id, updated.name, updated.items) == (first.id, "Renamed", ())
    with pytest.raises(Conflict, match="already exists"):
        async with transaction(container.sessions) as session:
            await ScheduleRepository(session).update(second.id, updated, now)
    async with transaction(container.sessions) as session:
        await ScheduleRepository(session).delete(second.id)
    async with container.sessions() as session:
        assert [s.name for s in await ScheduleRepository(session).all()] == ["Renamed"]
        with pytest.raises(NotFound, match=f"schedule {second.id}"):
            await ScheduleRepository(session).get(second.id)


async def test_filler_preset_round_trips_and_is_found_by_id(container: Container) -> None:
    async with transaction(container.sessions) as session:
        repo = FillerPresetRepository(session)
        created = await repo.create(PRESET)
        plain = await repo.create(FillerPreset(0, "Plain", FillerKind.FALLBACK, ()))
    async with container.sessions() as session:
        repo = FillerPresetRepository(session)
        assert await repo.get(created.id) == replace(PRESET, id=created.id)
        assert set(await repo.by_ids({created.id, plain.id, 999})) == {created.id, plain.id}
        assert (await repo.get(plain.id)).tail_boundary_minutes == 30
    with pytest.raises(Conflict, match="Bumpers"):
        async with transaction(container.sessions) as session:
            await FillerPresetRepository(session).create(PRESET)

"""The engine on ``slots`` and ``blocks`` schedules, including DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from exstreamtv.domain.playout import EntryKind, to_ms
from exstreamtv.domain.schedules import (
    Block,
    BlockEntry,
    BlockPlacement,
    BlockTemplate,
    FillerKind,
    FillerSet,
    Lateness,
    PlayMode,
    Schedule,
    ScheduleKind,
    TimeSlot,
)
from tests.scheduling.timelines import (
    MIN,
    assert_contiguous,
    at,
    clips,
    contents,
    episodes,
    local,
    preset,
    run,
    source,
)

NY = "America/New_York"


def slots_schedule(*slots: TimeSlot, tz: str = "UTC", fallback: int | None = None) -> Schedule:
    return Schedule(2, "slots", ScheduleKind.SLOTS, tz, slots=slots, fallback=fallback)


def test_flood_slots_switch_source_at_each_slot_start() -> None:
    schedule = slots_schedule(
        TimeSlot(time(12, 0), source(1)),
        TimeSlot(time(13, 0), source(2)),
    )
    collections = {1: episodes(5, 25), 2: episodes(5, 25, show="B", first_id=100)}
    result = run(schedule, collections, hours=3)
    shows = [(e.start, e.media_id) for e in contents(result.entries)]
    assert shows[:3] == [(at(12), 1), (at(12, 25), 2), (at(13), 100)]
    pad = [e for e in result.entries if at(12, 50) <= e.start < at(13)]
    assert [e.kind for e in pad] == [EntryKind.OFFLINE]  # nothing fits the last 10 minutes


def test_one_item_slot_pads_the_rest_of_the_slot_with_tail_then_fallback() -> None:
    slot = TimeSlot(time(12, 0), source(1), mode=PlayMode.ONE, filler=FillerSet(tail=3))
    schedule = slots_schedule(slot, TimeSlot(time(13, 0), source(1)), fallback=4)
    presets = [preset(3, FillerKind.TAIL, 9, tail_boundary_minutes=None),
               preset(4, FillerKind.FALLBACK, 9)]  # fmt: skip
    result = run(schedule, {1: episodes(3, 22), 9: clips([600])}, presets, hours=1.2)
    assert contents(result.entries)[1].start == at(13)
    padding = [e for e in result.entries if at(12, 22) <= e.start < at(13)]
    assert sum(e.duration_ms for e in padding) == 38 * MIN
    assert {e.kind for e in padding} <= {EntryKind.TAIL, EntryKind.FALLBACK, EntryKind.OFFLINE}


def test_overrunning_slot_starts_the_next_one_late_by_default() -> None:
    schedule = slots_schedule(
        TimeSlot(time(12, 0), source(1), mode=PlayMode.ONE),
        TimeSlot(time(12, 30), source(2), mode=PlayMode.ONE),
        TimeSlot(time(13, 0), source(1), mode=PlayMode.ONE),
    )
    result = run(schedule, {1: episodes(2, 40), 2: episodes(2, 10, first_id=50)}, hours=1)
    assert [(e.media_id, e.start) for e in contents(result.entries)[:2]] == [
        (1, at(12)),
        (50, at(12, 40)),
    ]


def test_cut_previous_slot_cuts_the_overrunning_content() -> None:
    schedule = slots_schedule(
        TimeSlot(time(12, 0), source(1), mode=PlayMode.ONE),
        TimeSlot(time(12, 30), source(2), mode=PlayMode.ONE, lateness=Lateness.CUT_PREVIOUS),
    )
    result = run(schedule, {1: episodes(2, 40), 2: episodes(2, 10, first_id=50)}, hours=1)
    first, second = contents(result.entries)[:2]
    assert first.out_point_ms == 30 * MIN and (second.media_id, second.start) == (50, at(12, 30))


def test_skipped_slot_is_padded_instead() -> None:
    schedule = slots_schedule(
        TimeSlot(time(12, 0), source(1), mode=PlayMode.ONE),
        TimeSlot(time(12, 30), source(2), mode=PlayMode.ONE, lateness=Lateness.SKIP),
        TimeSlot(time(13, 0), source(1), mode=PlayMode.ONE),
    )
    result = run(schedule, {1: episodes(2, 40), 2: episodes(2, 10, first_id=50)}, hours=1.5)
    assert [e.media_id for e in contents(result.entries)[:2]] == [1, 2]
    assert contents(result.entries)[1].start == at(13)


def test_weekday_slots_follow_the_local_calendar() -> None:
    monday_only = TimeSlot(time(9, 0), source(2), weekdays=frozenset({0}), mode=PlayMode.ONE)
    schedule = slots_schedule(TimeSlot(time(0, 0), source(1)), monday_only, tz=NY)
    start = datetime(2026, 6, 6, 4, 0, tzinfo=UTC)  # Saturday 00:00 in New York
    result = run(schedule, {1: episodes(4, 60), 2: episodes(1, 30, first_id=50)},
                 hours=24 * 3, start=start)  # fmt: skip
    specials = [e for e in contents(result.entries) if e.media_id == 50]
    assert [e.start.astimezone().date().isoformat() for e in specials] == ["2026-06-08"]
    assert local(specials[0], NY) == time(9, 0)


def test_slots_keep_local_times_across_spring_forward() -> None:
    schedule = slots_schedule(
        TimeSlot(time(1, 0), source(1), mode=PlayMode.ONE),
        TimeSlot(time(2, 30), source(2), mode=PlayMode.ONE),  # does not exist on 2026-03-08
        TimeSlot(time(4, 0), source(1), mode=PlayMode.ONE),
        tz=NY,
    )
    start = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)  # 00:00 EST the day before
    result = run(schedule, {1: episodes(9, 10), 2: episodes(9, 10, first_id=50)},
                 hours=48, start=start)  # fmt: skip
    starts = [(e.start.astimezone(UTC), local(e, NY)) for e in contents(result.entries)]
    local_starts = [t for _, t in starts]
    assert local_starts.count(time(1, 0)) == 2 and local_starts.count(time(4, 0)) == 2
    # 02:30 exists on the 7th; on the 8th it falls in the gap and airs at 03:30 EDT.
    assert local_starts.count(time(2, 30)) == 1 and local_starts.count(time(3, 30)) == 1
    assert_contiguous(result.entries, to_ms(start))


def test_slots_keep_local_times_across_fall_back() -> None:
    schedule = slots_schedule(
        TimeSlot(time(0, 0), source(1), mode=PlayMode.ONE),
        TimeSlot(time(1, 30), source(2), mode=PlayMode.ONE),  # happens twice on 2026-11-01
        TimeSlot(time(3, 0), source(1), mode=PlayMode.ONE),
        tz=NY,
    )
    start = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)
    result = run(schedule, {1: episodes(9, 10), 2: episodes(9, 10, first_id=50)},
                 hours=48, start=start)  # fmt: skip
    at_half_past_one = [e for e in contents(result.entries) if e.media_id and e.media_id >= 50]
    assert len(at_half_past_one) == 2  # once per day, the first 01:30 on the change day
    change_day = at_half_past_one[1].start
    assert change_day == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert_contiguous(result.entries, to_ms(start))


def blocks_schedule(blocks: tuple[Block, ...], *templates: BlockTemplate) -> Schedule:
    return Schedule(3, "blocks", ScheduleKind.BLOCKS, "UTC", blocks=blocks, templates=templates)


def test_blocks_play_entries_in_order_and_cut_at_the_block_end() -> None:
    morning = Block("am", "Morning", 60, (BlockEntry(source(1), 2), BlockEntry(source(2), 1)))
    schedule = blocks_schedule((morning,), BlockTemplate((BlockPlacement(time(12, 0), "am"),)))
    result = run(schedule, {1: episodes(5, 22), 2: episodes(5, 30, first_id=50)}, hours=1.2)
    shown = [(e.media_id, e.start, e.duration_ms // MIN) for e in contents(result.entries)]
    assert shown == [(1, at(12), 22), (2, at(12, 22), 22), (50, at(12, 44), 16)]
    assert result.entries[-1].kind is EntryKind.OFFLINE  # after the block, until tomorrow


def test_block_sources_continue_where_they_left_off_next_time() -> None:
    block = Block("b", "B", 30, (BlockEntry(source(1), 1),))
    template = BlockTemplate((BlockPlacement(time(12, 0), "b"), BlockPlacement(time(18, 0), "b")))
    result = run(blocks_schedule((block,), template), {1: episodes(5, 20)}, hours=31)
    assert [e.media_id for e in contents(result.entries)] == [1, 2, 3, 4]


def test_weekday_templates_place_blocks_only_on_their_days() -> None:
    block = Block("b", "B", 30, (BlockEntry(source(1), 1),))
    weekend = BlockTemplate((BlockPlacement(time(10, 0), "b"),), weekdays=frozenset({5, 6}))
    start = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday
    result = run(blocks_schedule((block,), weekend), {1: episodes(9, 20)}, hours=24 * 7,
                 start=start)  # fmt: skip
    days = [e.start.strftime("%a") for e in contents(result.entries)]
    assert days == ["Sat", "Sun"]


def test_block_template_naming_a_missing_block_warns() -> None:
    template = BlockTemplate((BlockPlacement(time(12, 0), "nope"),))
    result = run(blocks_schedule((), template), {}, hours=2)
    assert {w.code for w in result.warnings} >= {"missing_block"}
    assert result.entries[-1].finish >= at(12) + timedelta(hours=2)

"""The engine on ``items`` schedules: hand-checked timelines for every mode and filler kind."""

from __future__ import annotations

from datetime import time, timedelta

from exstreamtv.domain.playout import EntryKind, to_ms
from exstreamtv.domain.schedules import (
    FillerKind,
    FillerSet,
    Lateness,
    PlaybackOrder,
    PlayMode,
    ScheduleItem,
    TailMode,
)
from tests.scheduling.timelines import (
    MIN,
    START,
    assert_contiguous,
    at,
    clips,
    contents,
    episodes,
    items_schedule,
    preset,
    run,
    shape,
    source,
)

SHOW = {1: episodes(3, 20)}


def test_one_item_loops_the_show_in_episode_order() -> None:
    result = run(items_schedule(ScheduleItem(source(1))), SHOW, hours=2)
    assert shape(result.entries) == [("content", i, 1200) for i in (1, 2, 3, 1, 2, 3)]
    assert [e.guide_group for e in result.entries] == [0, 1, 2, 3, 4, 5]
    assert_contiguous(result.entries, to_ms(START))
    assert result.warnings == []


def test_multiple_plays_count_items_then_moves_on() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.MULTIPLE, count=2),
        ScheduleItem(source(2), PlayMode.ONE),
    )
    result = run(
        schedule, {1: episodes(5, 10), 2: episodes(5, 30, show="B", first_id=100)}, hours=1.5
    )
    assert [e.media_id for e in result.entries] == [1, 2, 100, 3, 4, 101]


def test_flood_fills_until_the_fixed_start_then_pads_with_fallback() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.FLOOD),
        ScheduleItem(source(2), PlayMode.ONE, fixed_start=time(13, 0), guide_title="News"),
        fallback=7,
    )
    collections = {
        1: episodes(3, 25),
        2: episodes(1, 30, show="N", first_id=50),
        9: clips([60, 90]),
    }
    result = run(schedule, collections, [preset(7, FillerKind.FALLBACK, 9)], hours=1.5)
    assert [e.media_id for e in contents(result.entries)[:3]] == [1, 2, 50]
    news = contents(result.entries)[2]
    assert news.start == at(13) and news.guide_title == "News"
    gap = [e for e in result.entries if at(12, 50) <= e.start < at(13)]
    assert {e.kind for e in gap} <= {EntryKind.FALLBACK, EntryKind.OFFLINE}
    assert sum(e.duration_ms for e in gap) == 10 * MIN  # filler never exceeds the gap


def test_fixed_start_waits_with_offline_time_when_there_is_no_filler() -> None:
    schedule = items_schedule(ScheduleItem(source(1), PlayMode.ONE, fixed_start=time(12, 30)))
    result = run(schedule, SHOW, hours=25)
    assert shape(result.entries[:2]) == [("offline", None, 1800), ("content", 1, 1200)]
    waiting = result.entries[2:]
    second = next(e for e in waiting if e.kind is EntryKind.CONTENT)
    assert second.start == at(12, 30) + timedelta(days=1)
    before = [e for e in waiting if e.start < second.start]
    assert {e.kind for e in before} == {EntryKind.OFFLINE}
    # A long wait is cut into guide groups of at most 30 minutes (a refresh never waits long).
    assert max(e.duration_ms for e in before) == 30 * MIN
    assert len({e.guide_group for e in before}) == len(before)


def test_late_fixed_start_starts_late_by_default() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.ONE),
        ScheduleItem(source(2), PlayMode.ONE, fixed_start=time(12, 15)),
    )
    result = run(schedule, {1: episodes(1, 20), 2: episodes(1, 5, first_id=9)}, hours=0.5)
    assert [(e.media_id, e.start) for e in result.entries[:2]] == [(1, at(12)), (9, at(12, 20))]


def test_late_fixed_start_is_skipped_with_skip_policy() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.ONE),
        ScheduleItem(source(2), PlayMode.ONE, fixed_start=time(12, 15), lateness=Lateness.SKIP),
    )
    result = run(schedule, {1: episodes(2, 20), 2: episodes(1, 5, first_id=9)}, hours=0.6)
    assert [e.media_id for e in result.entries[:2]] == [1, 2]


def test_cut_previous_cuts_the_content_so_the_fixed_start_is_on_time() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.ONE),
        ScheduleItem(
            source(2), PlayMode.ONE, fixed_start=time(12, 15), lateness=Lateness.CUT_PREVIOUS
        ),
    )
    result = run(schedule, {1: episodes(1, 20), 2: episodes(1, 5, first_id=9)}, hours=0.4)
    first, second = result.entries[:2]
    assert (first.media_id, first.in_point_ms, first.out_point_ms) == (1, 0, 15 * MIN)
    assert (second.media_id, second.start) == (9, at(12, 15))


def test_duration_trim_cuts_the_item_that_does_not_fit() -> None:
    schedule = items_schedule(ScheduleItem(source(1), PlayMode.DURATION, duration_minutes=50))
    result = run(schedule, {1: episodes(4, 20)}, hours=1)
    assert shape(result.entries[:3]) == [("content", 1, 1200), ("content", 2, 1200),
                                         ("content", 3, 600)]  # fmt: skip
    assert result.entries[3].start == at(12, 50)


def test_duration_filler_pads_the_tail_and_keeps_the_item_for_later() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.DURATION, duration_minutes=50,
                     tail_mode=TailMode.FILLER, filler=FillerSet(tail=3)),
    )  # fmt: skip
    # No per-programme pad (no boundary, no fixed length): the preset only pads the window.
    tail = preset(3, FillerKind.TAIL, 9, tail_boundary_minutes=None)
    result = run(schedule, {1: episodes(4, 20), 9: clips([240])}, [tail], hours=0.9)
    assert shape(result.entries[:5]) == [
        ("content", 1, 1200), ("content", 2, 1200), ("tail", 900, 240), ("tail", 900, 240),
        ("tail", 900, 120),
    ]  # fmt: skip
    assert [e.cut for e in result.entries[:5]] == [False, False, False, False, True]
    assert result.entries[4].in_point_ms == 0 and result.entries[4].out_point_ms == 120_000
    assert result.entries[5].media_id == 3 and result.entries[5].start == at(12, 50)


def test_a_tail_that_may_not_be_cut_leaves_the_remainder_to_the_fallback_filler() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.DURATION, duration_minutes=50,
                     tail_mode=TailMode.FILLER, filler=FillerSet(tail=3)),
        fallback=4,
    )  # fmt: skip
    presets = [preset(3, FillerKind.TAIL, 9, tail_boundary_minutes=None, cut_to_fit=False),
               preset(4, FillerKind.FALLBACK, 8)]  # fmt: skip
    media = {1: episodes(4, 20), 9: clips([240]), 8: clips([50], first_id=800)}
    result = run(schedule, media, presets, hours=0.9)
    assert shape(result.entries[2:7]) == [
        ("tail", 900, 240), ("tail", 900, 240), ("fallback", 800, 50), ("fallback", 800, 50),
        ("fallback", 800, 20),
    ]  # fmt: skip
    assert result.entries[6].cut and result.entries[7].start == at(12, 50)


def test_a_pad_with_no_filler_that_fits_becomes_listed_offline_time() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.DURATION, duration_minutes=50,
                     tail_mode=TailMode.FILLER, filler=FillerSet(tail=3)),
    )  # fmt: skip
    tail = preset(3, FillerKind.TAIL, 9, tail_boundary_minutes=None, cut_to_fit=False)
    result = run(schedule, {1: episodes(4, 20), 9: clips([240])}, [tail], hours=0.9)
    assert shape(result.entries[2:5]) == [
        ("tail", 900, 240), ("tail", 900, 240), ("offline", None, 120),
    ]  # fmt: skip


def test_pre_post_and_mid_roll_surround_content_in_one_guide_group() -> None:
    chaptered = [episodes(1, 20)[0]]
    chaptered[0] = type(chaptered[0])(1, 20 * MIN, "Ep", "Show", 1, 1, chapters_ms=(0, 10 * MIN))
    fillers = FillerSet(pre_roll=1, mid_roll=2, post_roll=3)
    schedule = items_schedule(ScheduleItem(source(1), filler=fillers))
    presets = [preset(1, FillerKind.PRE_ROLL, 9), preset(2, FillerKind.MID_ROLL, 9, count=2),
               preset(3, FillerKind.POST_ROLL, 9)]  # fmt: skip
    result = run(schedule, {1: chaptered, 9: clips([30])}, presets, hours=0.3)
    kinds = [e.kind.value for e in result.entries[:6]]
    assert kinds == ["pre_roll", "content", "mid_roll", "mid_roll", "content", "post_roll"]
    first_group = result.entries[:6]
    assert {e.guide_group for e in first_group} == {0}
    halves = [e for e in first_group if e.kind is EntryKind.CONTENT]
    assert [(h.in_point_ms, h.out_point_ms) for h in halves] == [
        (0, 10 * MIN),
        (10 * MIN, 20 * MIN),
    ]


def test_tail_pads_to_the_next_half_hour_boundary() -> None:
    schedule = items_schedule(ScheduleItem(source(1), filler=FillerSet(tail=4)))
    tail = preset(4, FillerKind.TAIL, 9, tail_boundary_minutes=30)
    result = run(schedule, {1: episodes(2, 22), 9: clips([60, 120])}, [tail], hours=1)
    second = contents(result.entries)[1]
    assert second.start == at(12, 30)
    pad = [e for e in result.entries if at(12, 22) <= e.start < at(12, 30)]
    assert sum(e.duration_ms for e in pad) == 8 * MIN
    assert all(e.guide_group == 0 for e in pad)  # folded into the programme before it


def test_tail_in_a_half_hour_offset_zone_pads_to_local_boundaries() -> None:
    schedule = items_schedule(ScheduleItem(source(1), filler=FillerSet(tail=4)), tz="Asia/Kolkata")
    tail = preset(4, FillerKind.TAIL, 9, tail_boundary_minutes=60)
    result = run(schedule, {1: episodes(2, 22), 9: clips([60])}, [tail], hours=2)
    # 12:00 UTC is 17:30 IST: the next local hour is 18:00 IST = 12:30 UTC.
    assert contents(result.entries)[1].start == at(12, 30)


def test_shuffle_order_is_deterministic_and_repeats_only_after_all_played() -> None:
    schedule = items_schedule(ScheduleItem(source(1, order=PlaybackOrder.SHUFFLE)))
    collection = {1: episodes(6, 10)}
    first = [e.media_id or 0 for e in run(schedule, collection, hours=1).entries]
    again = [e.media_id or 0 for e in run(schedule, collection, hours=1).entries]
    assert first == again and sorted(first) == [1, 2, 3, 4, 5, 6]


def test_custom_guide_title_marks_every_entry_of_the_programme() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), guide_title="Movie Night", filler=FillerSet(pre_roll=1))
    )
    result = run(schedule, {1: episodes(1, 20), 9: clips([30])},
                 [preset(1, FillerKind.PRE_ROLL, 9)], hours=0.3)  # fmt: skip
    assert {e.guide_title for e in result.entries[:2]} == {"Movie Night"}


def test_empty_collection_yields_offline_time_and_a_warning() -> None:
    result = run(items_schedule(ScheduleItem(source(1))), {1: []}, hours=3)
    assert {e.kind for e in result.entries} == {EntryKind.OFFLINE}
    assert result.entries[-1].finish >= START + timedelta(hours=3)
    assert [w.code for w in result.warnings] == ["empty_collection"]


def test_zero_durations_yield_fallback_and_a_warning() -> None:
    zero = [type(e)(e.id, 0, e.title) for e in episodes(3, 1)]
    result = run(items_schedule(ScheduleItem(source(1)), fallback=5), {1: zero, 9: clips([60])},
                 [preset(5, FillerKind.FALLBACK, 9)], hours=2)  # fmt: skip
    assert {e.kind for e in result.entries} == {EntryKind.FALLBACK}
    assert "no_durations" in {w.code for w in result.warnings}


def test_deleted_collection_yields_offline_time_and_a_warning() -> None:
    result = run(items_schedule(ScheduleItem(source(42))), {}, hours=2)
    assert {e.kind for e in result.entries} == {EntryKind.OFFLINE}
    assert [w.code for w in result.warnings] == ["missing_collection"]


def test_schedule_without_items_never_loops() -> None:
    result = run(items_schedule(), {}, hours=5)
    assert result.entries and result.entries[-1].finish >= START + timedelta(hours=5)
    assert "empty_schedule" in {w.code for w in result.warnings}


def test_every_time_is_timezone_aware_utc() -> None:
    result = run(items_schedule(ScheduleItem(source(1)), tz="America/New_York"), SHOW)
    for entry in result.entries:
        assert entry.start.utcoffset() == timedelta(0) and entry.finish.tzinfo is not None


def test_a_long_gap_plays_whole_fallback_items_and_cuts_only_the_last_one() -> None:
    schedule = items_schedule(
        ScheduleItem(source(1), PlayMode.FLOOD),
        ScheduleItem(source(2), fixed_start=time(14, 0)),
        fallback=5,
    )
    fallback = preset(5, FillerKind.FALLBACK, 9)
    result = run(schedule, {1: [], 2: episodes(1, 30), 9: clips([420])}, [fallback], hours=2)
    gap = [e for e in result.entries if e.finish <= at(14)]
    assert_contiguous(gap, to_ms(START))
    assert [e.duration_ms // 1000 for e in gap] == [420] * 17 + [60]
    assert [e.cut for e in gap] == [False] * 17 + [True]
    groups = [
        len([e for e in gap if e.guide_group == g]) for g in sorted({e.guide_group for e in gap})
    ]
    assert groups == [5, 5, 5, 3]  # about 30 minutes each, ending where an item ends

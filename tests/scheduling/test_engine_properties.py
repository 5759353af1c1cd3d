"""Properties of the engine over generated schedules, collections and start times.

* the timeline covers [start, until) with no gap and no overlap;
* the same inputs give byte-identical output;
* building to T1 and continuing to T2 equals building to T2 at once (through the JSON
  form of the cursor, as the database stores it);
* filler never exceeds its gap: flood and cut-previous fixed starts are always on time;
* fixed starts are on time or follow their lateness policy;
* every time is timezone-aware UTC, and every entry starts on a whole second, whatever the
  media's millisecond durations;
* slot boundaries are right across DST changes;
* padding to 1-, 5- and 30-minute boundaries with fillers of random lengths fills the pad
  exactly, and whatever no filler can fill is listed in the guide as what it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exstreamtv.domain.guide import GuideMedia, GuidePolicy, ProgrammeKind
from exstreamtv.domain.playout import EntryKind, Playable, PlayoutEntry, Timeline, to_ms
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
from exstreamtv.formats.guide_folding import programmes_from_entries
from exstreamtv.scheduling.engine import BuildInputs, build
from exstreamtv.scheduling.state import BuildState
from tests.scheduling.timelines import assert_contiguous

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
# Starts near DST changes: New York and Europe (spring and autumn), Lord Howe (30 min).
BASES = [
    datetime(2026, 3, 7, 18, 0, tzinfo=UTC),
    datetime(2026, 3, 28, 20, 0, tzinfo=UTC),
    datetime(2026, 10, 24, 20, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 20, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 12, 0, tzinfo=UTC),
]
FILLER_COLLECTION = 4
FIXED_COLLECTION = 5
FIXED = ContentSource((FIXED_COLLECTION,))
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def playables(collection_id: int, durations: list[int]) -> list[Playable]:
    return [
        Playable(collection_id * 1000 + n, seconds * 1000, f"t{n}", "AB"[n % 2], 1 + n // 3, n)
        for n, seconds in enumerate(durations)
    ]


content_durations = st.lists(st.sampled_from([0, 300, 600, 1320, 2700, 5400]), max_size=6)
collections = st.builds(
    lambda a, b, c, f: {
        1: playables(1, a),
        2: playables(2, b),
        3: playables(3, c),
        FILLER_COLLECTION: playables(FILLER_COLLECTION, f),
        FIXED_COLLECTION: playables(FIXED_COLLECTION, [600, 1800]),
    },
    content_durations,
    content_durations,
    content_durations,
    st.lists(st.integers(min_value=30, max_value=180), max_size=5),
)
sources = st.builds(
    ContentSource,
    st.lists(st.sampled_from([1, 2, 3, 99]), min_size=1, max_size=2, unique=True).map(tuple),
    st.sampled_from(list(PlaybackOrder)),
)
filler_sets = st.builds(
    FillerSet,
    pre_roll=st.none() | st.just(11),
    mid_roll=st.none() | st.just(12),
    post_roll=st.none() | st.just(13),
    tail=st.none() | st.just(14),
    fallback=st.none() | st.just(15),
)
local_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


def presets(
    tail_boundary: int | None, mid_every: int | None, cooldown: int
) -> dict[int, FillerPreset]:
    pool = (WeightedCollection(FILLER_COLLECTION),)
    return {
        11: FillerPreset(11, "pre", FillerKind.PRE_ROLL, pool, cooldown_minutes=cooldown),
        12: FillerPreset(12, "mid", FillerKind.MID_ROLL, pool, mid_roll_every_minutes=mid_every),
        13: FillerPreset(13, "post", FillerKind.POST_ROLL, pool, count=2),
        14: FillerPreset(14, "tail", FillerKind.TAIL, pool, tail_boundary_minutes=tail_boundary),
        15: FillerPreset(15, "fallback", FillerKind.FALLBACK, pool, cooldown_minutes=cooldown),
    }


preset_maps = st.builds(
    presets,
    st.sampled_from([None, 15, 30]),
    st.sampled_from([None, 10]),
    st.sampled_from([0, 5]),
)
schedule_items = st.builds(
    ScheduleItem,
    source=sources,
    mode=st.sampled_from(list(PlayMode)),
    count=st.integers(1, 3),
    duration_minutes=st.integers(10, 120),
    tail_mode=st.sampled_from(list(TailMode)),
    fixed_start=st.none() | local_times,
    lateness=st.sampled_from(list(Lateness)),
    filler=filler_sets,
)
time_slots = st.builds(
    TimeSlot,
    start=local_times,
    source=sources,
    weekdays=st.frozensets(st.integers(0, 6), max_size=3),
    mode=st.sampled_from([PlayMode.FLOOD, PlayMode.ONE, PlayMode.MULTIPLE]),
    count=st.integers(1, 3),
    lateness=st.sampled_from(list(Lateness)),
    filler=filler_sets,
)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    kind = draw(st.sampled_from(list(ScheduleKind)))
    common = {"timezone": draw(st.sampled_from(ZONES)), "seed": draw(st.integers(0, 2**32)),
              "fallback": draw(st.none() | st.just(15))}  # fmt: skip
    if kind is ScheduleKind.ITEMS:
        items = tuple(draw(st.lists(schedule_items, min_size=1, max_size=4)))
        return Schedule(1, "p", kind, items=items, **common)  # type: ignore[arg-type]
    if kind is ScheduleKind.SLOTS:
        slots = tuple(draw(st.lists(time_slots, min_size=1, max_size=4)))
        return Schedule(1, "p", kind, slots=slots, **common)  # type: ignore[arg-type]
    entries = tuple(draw(st.lists(st.builds(BlockEntry, sources, st.integers(1, 3)), min_size=1,
                                  max_size=3)))  # fmt: skip
    blocks = (Block("a", "A", draw(st.integers(15, 120)), entries, draw(filler_sets)),
              Block("b", "B", draw(st.integers(15, 120)), entries[:1]))  # fmt: skip
    placements = st.builds(BlockPlacement, local_times, st.sampled_from(["a", "b"]))
    templates = tuple(
        draw(st.lists(st.builds(BlockTemplate, st.lists(placements, min_size=1, max_size=3).map(
            tuple), st.frozensets(st.integers(0, 6), max_size=4)), min_size=1, max_size=2))
    )  # fmt: skip
    return Schedule(1, "p", kind, blocks=blocks, templates=templates, **common)  # type: ignore[arg-type]


starts = st.builds(
    lambda base, minutes: base + timedelta(minutes=minutes),
    st.sampled_from(BASES),
    st.integers(0, 48 * 60),
)


def build_inputs(schedule: Schedule, media: dict[int, list[Playable]],
                 filler: dict[int, FillerPreset]) -> BuildInputs:  # fmt: skip
    return BuildInputs(schedule, media, filler)


@PROPERTY_SETTINGS
@given(schedules(), collections, preset_maps, starts, st.integers(1, 30))
def test_timeline_covers_the_window_without_gaps_or_overlaps(
    schedule: Schedule, media: dict[int, list[Playable]], filler: dict[int, FillerPreset],
    start: datetime, hours: int,
) -> None:  # fmt: skip
    until = start + timedelta(hours=hours)
    result = build(build_inputs(schedule, media, filler), None, start, until)
    assert_contiguous(result.entries, to_ms(start))
    assert result.entries[-1].finish >= until
    assert result.cursors[-1] == result.state
    for index, (entry, following) in enumerate(
        zip(result.entries, result.entries[1:], strict=False)
    ):
        closes_group = entry.guide_group != following.guide_group
        assert (result.cursors[index] is not None) == closes_group
    for entry in result.entries:
        assert entry.start.tzinfo is UTC or entry.start.utcoffset() == timedelta(0)
        assert (entry.media_id is None) == (entry.kind is EntryKind.OFFLINE)
        assert entry.start_ms % 1000 == 0 and entry.finish_ms % 1000 == 0


@PROPERTY_SETTINGS
@given(schedules(), collections, preset_maps, starts, st.integers(1, 24))
def test_same_inputs_give_byte_identical_output(
    schedule: Schedule, media: dict[int, list[Playable]], filler: dict[int, FillerPreset],
    start: datetime, hours: int,
) -> None:  # fmt: skip
    inputs = build_inputs(schedule, media, filler)
    until = start + timedelta(hours=hours)
    first, second = build(inputs, None, start, until), build(inputs, None, start, until)
    assert serialise(first.entries) == serialise(second.entries)
    assert json.dumps(first.state.to_json()) == json.dumps(second.state.to_json())


@PROPERTY_SETTINGS
@given(schedules(), collections, preset_maps, starts, st.integers(1, 24))
def test_a_build_without_cursors_airs_the_same_and_ends_in_the_same_state(
    schedule: Schedule, media: dict[int, list[Playable]], filler: dict[int, FillerPreset],
    start: datetime, hours: int,
) -> None:  # fmt: skip
    inputs = build_inputs(schedule, media, filler)
    until = start + timedelta(hours=hours)
    kept, skipped = (
        build(inputs, None, start, until),
        build(inputs, None, start, until, cursors=False),
    )
    assert serialise(skipped.entries) == serialise(kept.entries)
    assert skipped.state == kept.state
    assert set(skipped.cursors) == {None} and any(kept.cursors)


@PROPERTY_SETTINGS
@given(schedules(), collections, preset_maps, starts, st.integers(1, 20), st.integers(1, 20))
def test_building_to_t1_then_continuing_to_t2_equals_building_to_t2(
    schedule: Schedule, media: dict[int, list[Playable]], filler: dict[int, FillerPreset],
    start: datetime, first_hours: int, more_hours: int,
) -> None:  # fmt: skip
    inputs = build_inputs(schedule, media, filler)
    t1, t2 = start + timedelta(hours=first_hours), start + timedelta(hours=first_hours + more_hours)
    whole = build(inputs, None, start, t2)
    part = build(inputs, None, start, t1)
    stored = BuildState.from_json(json.loads(json.dumps(part.state.to_json())))
    rest = build(inputs, stored, start, t2)
    assert serialise(part.entries + rest.entries) == serialise(whole.entries)
    assert rest.state == whole.state


@PROPERTY_SETTINGS
@given(
    sources, filler_sets, local_times, st.sampled_from(list(Lateness)),
    st.sampled_from(ZONES), collections, preset_maps, starts,
)  # fmt: skip
def test_flood_and_its_filler_never_run_past_the_fixed_start(
    flood: ContentSource, fillers: FillerSet, at: time,
    lateness: Lateness, tz: str, media: dict[int, list[Playable]],
    filler: dict[int, FillerPreset], start: datetime,
) -> None:  # fmt: skip
    schedule = Schedule(1, "p", ScheduleKind.ITEMS, tz, items=(
        ScheduleItem(flood, PlayMode.FLOOD, filler=fillers),
        ScheduleItem(FIXED, PlayMode.ONE, fixed_start=at, lateness=lateness),
    ), fallback=15)  # fmt: skip
    result = build(build_inputs(schedule, media, filler), None, start, start + timedelta(days=2))
    starts_of_fixed = first_entries_of(result.entries, "item:1")
    assert starts_of_fixed, "the fixed item airs at least once in two days"
    for entry in starts_of_fixed:
        assert entry.start == expected_instant(entry, at, tz)


@PROPERTY_SETTINGS
@given(sources, local_times, st.sampled_from(list(Lateness)), st.sampled_from(ZONES),
       collections, preset_maps, starts)  # fmt: skip
def test_fixed_start_is_on_time_or_follows_its_lateness_policy(
    before: ContentSource, at: time, lateness: Lateness, tz: str,
    media: dict[int, list[Playable]], filler: dict[int, FillerPreset], start: datetime,
) -> None:  # fmt: skip
    schedule = Schedule(1, "p", ScheduleKind.ITEMS, tz, items=(
        ScheduleItem(before, PlayMode.MULTIPLE, count=3),
        ScheduleItem(FIXED, PlayMode.ONE, fixed_start=at, lateness=lateness),
    ))  # fmt: skip
    result = build(build_inputs(schedule, media, filler), None, start, start + timedelta(days=2))
    fixed_starts = first_entries_of(result.entries, "item:1")
    assert fixed_starts or lateness is Lateness.SKIP
    for entry in fixed_starts:
        on_time = expected_instant(entry, at, tz)
        if entry.start != on_time:
            assert lateness is Lateness.START_LATE, (entry, on_time)
            assert entry.start > on_time  # late only because earlier content overran
        if lateness is Lateness.CUT_PREVIOUS:
            assert entry.start == on_time


@PROPERTY_SETTINGS
@given(st.lists(local_times, min_size=1, max_size=4, unique=True), sources, filler_sets,
       st.sampled_from(ZONES), collections, preset_maps, starts)  # fmt: skip
def test_flood_slots_respect_local_slot_boundaries_across_dst(
    times: list[time], content: ContentSource, fillers: FillerSet, tz: str,
    media: dict[int, list[Playable]], filler: dict[int, FillerPreset], start: datetime,
) -> None:  # fmt: skip
    slots = tuple(TimeSlot(t, content, filler=fillers) for t in times)
    schedule = Schedule(1, "p", ScheduleKind.SLOTS, tz, slots=slots, fallback=15)
    until = start + timedelta(hours=30)
    result = build(build_inputs(schedule, media, filler), None, start, until)
    for boundary in slot_boundaries(times, tz, start, until):
        for entry in result.entries:
            assert not entry.start_ms < to_ms(boundary) < entry.finish_ms, (boundary, entry)


def ms_playables(collection_id: int, durations: list[int], chapters: list[int]) -> list[Playable]:
    return [
        Playable(collection_id * 1000 + n, ms, f"t{n}", "AB"[n % 2], 1, n,
                 chapters_ms=tuple(sorted(c % max(ms, 1) for c in chapters)))
        for n, ms in enumerate(durations)
    ]  # fmt: skip


ms_durations = st.lists(st.integers(0, 3 * 3_600_000), max_size=5)
ms_collections = st.builds(
    lambda a, b, c, f, chapters: {
        1: ms_playables(1, a, chapters), 2: ms_playables(2, b, chapters),
        3: ms_playables(3, c, chapters), FILLER_COLLECTION: ms_playables(FILLER_COLLECTION, f, []),
        FIXED_COLLECTION: ms_playables(FIXED_COLLECTION, [600_321, 1_800_999], []),
    },
    ms_durations, ms_durations, ms_durations,
    st.lists(st.integers(1, 240_000), max_size=5),
    st.lists(st.integers(0, 3 * 3_600_000), max_size=3),
)  # fmt: skip


@PROPERTY_SETTINGS
@given(schedules(), ms_collections, preset_maps, starts, st.integers(0, 999), st.integers(1, 12))
def test_every_entry_starts_on_a_whole_second_whatever_the_media_durations(
    schedule: Schedule, media: dict[int, list[Playable]], filler: dict[int, FillerPreset],
    start: datetime, offset_ms: int, hours: int,
) -> None:  # fmt: skip
    begin = start + timedelta(milliseconds=offset_ms)  # as a playout stored by older versions
    result = build(
        build_inputs(schedule, media, filler), None, begin, begin + timedelta(hours=hours)
    )
    assert_contiguous(result.entries, to_ms(begin))
    first, *rest = result.entries
    if offset_ms:  # realigned at once: one offline entry up to the next whole second
        assert (first.kind, first.finish_ms % 1000) == (EntryKind.OFFLINE, 0)
        assert first.duration_ms == 1000 - offset_ms
    for entry in rest if offset_ms else result.entries:
        assert entry.start_ms % 1000 == 0 and entry.duration_ms % 1000 == 0, entry
        if entry.media_id is not None:
            assert entry.out_point_ms - entry.in_point_ms == entry.duration_ms
            assert entry.in_point_ms % 1000 == 0


BOUNDARIES = st.sampled_from([1, 5, 30])
filler_lengths = st.lists(st.integers(1, 30 * 60_000), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    BOUNDARIES, st.lists(st.integers(1_000, 70 * 60_000), min_size=1, max_size=6),
    filler_lengths, filler_lengths, st.booleans(), st.booleans(), st.sampled_from(ZONES),
    starts, st.integers(0, 2**32),
)  # fmt: skip
def test_padding_to_a_boundary_never_leaves_an_unlisted_gap(
    boundary: int, content: list[int], tails: list[int], fallbacks: list[int],
    cut_tails: bool, cut_fallbacks: bool, tz: str, start: datetime, seed: int,
) -> None:  # fmt: skip
    media = {1: ms_playables(1, content, []), 8: ms_playables(8, tails, []),
             9: ms_playables(9, fallbacks, [])}  # fmt: skip
    presets = {
        20: FillerPreset(20, "tail", FillerKind.TAIL, (WeightedCollection(8),),
                         tail_boundary_minutes=boundary, cut_to_fit=cut_tails),
        21: FillerPreset(21, "fallback", FillerKind.FALLBACK, (WeightedCollection(9),),
                         cooldown_minutes=boundary, cut_to_fit=cut_fallbacks),
    }  # fmt: skip
    item = ScheduleItem(ContentSource((1,)), PlayMode.ONE, filler=FillerSet(tail=20))
    schedule = Schedule(1, "p", ScheduleKind.ITEMS, tz, items=(item,), fallback=21, seed=seed)
    result = build(BuildInputs(schedule, media, presets), None, start, start + timedelta(hours=3))

    has_tail = any(ms >= 1000 for ms in tails)
    has_fallback = any(ms >= 1000 for ms in fallbacks)
    fills = (has_tail and cut_tails) or (has_tail and has_fallback and cut_fallbacks)
    offline = [e for e in result.entries if e.kind is EntryKind.OFFLINE]
    assert not (fills and offline), "a pad that filler can fill exactly has offline time"
    zone = ZoneInfo(tz)
    for group_end in group_ends(result.entries):
        if has_tail:  # every programme is padded to the boundary of the local clock
            local = group_end.finish.astimezone(zone)
            assert (local.minute % boundary, local.second) == (0, 0), group_end
    lengths = {m.id: m.duration_ms - m.duration_ms % 1000 for ms in media.values() for m in ms}
    for entry in result.entries:
        if entry.cut:  # only the last filler of a pad is cut, and only to fit it
            assert entry.kind in (EntryKind.TAIL, EntryKind.FALLBACK), entry
            assert entry == group_end_of(result.entries, entry)
            assert entry.in_point_ms == 0 and entry.duration_ms < lengths[entry.media_id or 0]
    described = {m.id: GuideMedia(m.title, "movie") for items in media.values() for m in items}
    programmes = programmes_from_entries("c.x", result.entries, described, GuidePolicy())
    for entry in offline:  # the slate airs only as a listed programme of its own
        [listed] = [p for p in programmes if p.start_ms <= entry.start_ms < p.stop_ms]
        assert listed.kind is not ProgrammeKind.CONTENT and listed.stop_ms >= entry.finish_ms


def group_ends(entries: list[PlayoutEntry]) -> list[PlayoutEntry]:
    """The last entry of each guide group that holds content."""
    ends = [a for a, b in pairwise(entries) if a.guide_group != b.guide_group]
    content_groups = {e.guide_group for e in entries if e.kind is EntryKind.CONTENT}
    return [e for e in ends if e.guide_group in content_groups]


def group_end_of(entries: list[PlayoutEntry], entry: PlayoutEntry) -> PlayoutEntry:
    return [e for e in entries if e.guide_group == entry.guide_group][-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=50), st.integers(-100, 600_000))
def test_timeline_at_agrees_with_a_linear_scan(lengths: list[int], probe: int) -> None:
    entries, at_ms = [], 0
    for n, length in enumerate(lengths):
        entries.append(PlayoutEntry(at_ms, at_ms + length, EntryKind.CONTENT, n, 7, 7 + length, n))
        at_ms += length
    found = Timeline(entries).at_ms(probe)
    expected = next((e for e in entries if e.start_ms <= probe < e.finish_ms), None)
    assert (found.entry if found else None) == expected
    if found is not None:
        assert found.offset_ms == probe - found.entry.start_ms
        assert found.seek_ms == found.entry.in_point_ms + found.offset_ms


def serialise(entries: list[PlayoutEntry]) -> bytes:
    return json.dumps(
        [
            [
                e.start_ms,
                e.finish_ms,
                e.kind.value,
                e.media_id,
                e.in_point_ms,
                e.out_point_ms,
                e.guide_group,
                e.guide_title,
                e.source,
            ]
            for e in entries
        ]
    ).encode()


def first_entries_of(entries: list[PlayoutEntry], source: str) -> list[PlayoutEntry]:
    """The first entry of each group produced by ``source`` that holds content."""
    groups: dict[int, PlayoutEntry] = {}
    for entry in entries:
        if entry.source == source and entry.kind is not EntryKind.OFFLINE:
            groups.setdefault(entry.guide_group, entry)
    return [e for e in groups.values() if e.kind in (EntryKind.CONTENT, EntryKind.PRE_ROLL)]


def expected_instant(entry: PlayoutEntry, at: time, tz: str) -> datetime:
    """The occurrence of local ``at`` nearest before-or-at the entry (fold=0 rules)."""
    zone = ZoneInfo(tz)
    day = entry.start.astimezone(zone).date()
    candidates = [
        datetime.combine(day + timedelta(days=d), at, tzinfo=zone).astimezone(UTC)
        for d in (-1, 0, 1)
    ]
    return max(c for c in candidates if c <= entry.start)


def slot_boundaries(times: list[time], tz: str, start: datetime, until: datetime) -> list[datetime]:
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).date() - timedelta(days=1)
    days = (until - start).days + 3
    found = {
        datetime.combine(first + timedelta(days=d), t, tzinfo=zone).astimezone(UTC)
        for d in range(days)
        for t in times
    }
    return sorted(b for b in found if start < b < until)

"""A playout's overview: few runs however many entries, nothing visible lost."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.overview import overview
from exstreamtv.domain.playout import EntryKind, PlayoutEntry

START_MS = 1_800_000_000_000


def laid_out(parts: list[tuple[int, EntryKind, int]]) -> list[PlayoutEntry]:
    """Entries of (gap before, kind, duration) in ms, one after another."""
    entries, at = [], START_MS
    for n, (gap, kind, duration) in enumerate(parts):
        at += gap
        entries.append(PlayoutEntry(at, at + duration, kind, n, 0, duration, n))
        at += duration
    return entries


parts = st.lists(
    st.tuples(
        st.integers(0, 5_000) | st.just(0),
        st.sampled_from(EntryKind),
        st.integers(1, 3_600_000) | st.integers(1, 2_000),
    ),
    min_size=1,
    max_size=400,
)


@given(parts, st.integers(1, 50))
def test_runs_cover_every_entry_once_in_order_and_stay_within_the_resolution(
    shape: list[tuple[int, EntryKind, int]], resolution: int
) -> None:
    entries = laid_out(shape)
    runs = overview(entries, resolution)
    assert len(runs) <= resolution + 1
    assert [r.first for r in runs] == [sum(r.count for r in runs[:n]) for n in range(len(runs))]
    assert sum(r.count for r in runs) == len(entries)
    for run in runs:
        inside = entries[run.first : run.first + run.count]
        assert (run.start_ms, run.finish_ms) == (inside[0].start_ms, inside[-1].finish_ms)
        time = Counter[EntryKind]()
        for e in inside:
            time[e.kind] += e.duration_ms
        assert time[run.kind] == max(time.values())


@given(parts, st.integers(1, 50))
def test_no_run_holds_two_entries_of_a_grain_or_more(
    shape: list[tuple[int, EntryKind, int]], resolution: int
) -> None:
    entries = laid_out(shape)
    grain = (entries[-1].finish_ms - entries[0].start_ms) / resolution
    for run in overview(entries, resolution):
        inside = entries[run.first : run.first + run.count]
        assert sum(e.duration_ms >= grain for e in inside) <= 1, (run, grain)


def test_a_day_of_one_second_clips_is_boxes_a_grain_wide() -> None:
    runs = overview(laid_out([(0, EntryKind.CONTENT, 1000)] * 86_400))
    assert len(runs) == 994
    assert {r.count for r in runs[:-1]} == {87}  # the first whole second past 86.4 s


def test_every_programme_is_its_own_box_and_a_short_pre_roll_shares_its_box() -> None:
    hour, second = 3_600_000, 1000
    content, pre_roll, tail = EntryKind.CONTENT, EntryKind.PRE_ROLL, EntryKind.TAIL
    shape = [(content, hour), (pre_roll, second), (content, hour), (tail, 600_000), (content, hour)]
    day = laid_out([(0, kind, duration) for kind, duration in shape])
    runs = overview(day, resolution=100)
    assert [(r.kind, r.first, r.count) for r in runs] == [
        (EntryKind.CONTENT, 0, 1),
        (EntryKind.CONTENT, 1, 2),  # the pre-roll and the programme it introduces
        (EntryKind.TAIL, 3, 1),
        (EntryKind.CONTENT, 4, 1),
    ]


def test_a_gap_of_a_grain_or_more_splits_runs_of_one_kind() -> None:
    runs = overview(laid_out([(0, EntryKind.CONTENT, 1000), (50_000, EntryKind.CONTENT, 1000)]), 10)
    assert [r.count for r in runs] == [1, 1]


def test_no_entries_give_no_runs_and_a_resolution_below_one_is_refused() -> None:
    assert overview([]) == []
    with pytest.raises(ValueError, match="at least 1"):
        overview(laid_out([(0, EntryKind.CONTENT, 1000)]), 0)

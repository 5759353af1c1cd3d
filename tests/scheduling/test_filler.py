"""Filler choice, cooldown memory, mid-roll break offsets and tail pad targets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import FillerKind, FillerPreset, WeightedCollection
from exstreamtv.scheduling.filler import (
    FillerMemory,
    FillerPool,
    choose,
    mid_roll_breaks,
    tail_target_ms,
)
from exstreamtv.scheduling.state import BuildState

MIN = 60_000
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC


def preset(
    weights: Sequence[int] = (1,),
    *,
    cooldown_minutes: int = 0,
    mid_roll_every_minutes: int | None = None,
    tail_boundary_minutes: int | None = 30,
    tail_fixed_seconds: int | None = None,
) -> FillerPreset:
    return FillerPreset(
        id=1,
        name="filler",
        kind=FillerKind.PRE_ROLL,
        collections=tuple(WeightedCollection(i, w) for i, w in enumerate(weights)),
        cooldown_minutes=cooldown_minutes,
        mid_roll_every_minutes=mid_roll_every_minutes,
        tail_boundary_minutes=tail_boundary_minutes,
        tail_fixed_seconds=tail_fixed_seconds,
    )


def clips(durations: Sequence[int], first_id: int = 1) -> list[Playable]:
    return [Playable(first_id + i, d) for i, d in enumerate(durations)]


def pool_of(durations: Sequence[int], cooldown_minutes: int = 0) -> FillerPool:
    return FillerPool(preset(cooldown_minutes=cooldown_minutes), {0: clips(durations)})


# Filler clips last seconds to minutes; 0 stands for an unknown duration.
durations_st = st.lists(
    st.just(0) | st.integers(min_value=1_000, max_value=10 * MIN), min_size=0, max_size=30
)
budgets_st = st.integers(min_value=0, max_value=60 * MIN)
seeds_st = st.integers(min_value=0, max_value=2**63)


@given(durations_st, budgets_st, seeds_st, st.integers(min_value=0, max_value=10))
def test_chosen_filler_never_exceeds_the_budget(
    durations: list[int], budget: int, seed: int, cooldown: int
) -> None:
    chosen = choose(
        pool_of(durations, cooldown_minutes=cooldown),
        FillerMemory(),
        seed,
        at_ms=T0,
        budget_ms=budget,
        count=None,
    )
    assert sum(p.duration_ms for p in chosen) <= budget


@given(durations_st, budgets_st, seeds_st)
def test_budget_is_filled_until_no_item_fits_the_remainder(
    durations: list[int], budget: int, seed: int
) -> None:
    pool = pool_of(durations, cooldown_minutes=5)
    chosen = choose(pool, FillerMemory(), seed, at_ms=T0, budget_ms=budget, count=None)
    remainder = budget - sum(p.duration_ms for p in chosen)
    assert pool.shortest_ms is None or remainder < pool.shortest_ms


@given(durations_st, st.integers(min_value=0, max_value=20), st.none() | budgets_st, seeds_st)
def test_count_limits_the_number_of_items(
    durations: list[int], count: int, budget: int | None, seed: int
) -> None:
    chosen = choose(
        pool_of(durations), FillerMemory(), seed, at_ms=T0, budget_ms=budget, count=count
    )
    assert len(chosen) <= count
    if budget is None and any(d > 0 for d in durations):
        assert len(chosen) == count


@given(durations_st, budgets_st, seeds_st, st.integers(min_value=0, max_value=2**40))
def test_same_seed_and_memory_give_the_same_choice(
    durations: list[int], budget: int, seed: int, draws: int
) -> None:
    pool = pool_of(durations, cooldown_minutes=3)
    first, second = FillerMemory(draws, {1: T0}), FillerMemory(draws, {1: T0})
    a = choose(pool, first, seed, at_ms=T0, budget_ms=budget, count=None)
    b = choose(pool, second, seed, at_ms=T0, budget_ms=budget, count=None)
    assert a == b
    assert first == second


@given(seeds_st, seeds_st)
def test_different_seeds_give_different_choices(seed: int, other: int) -> None:
    if seed == other:
        return
    pool = pool_of([MIN] * 50)
    a = choose(pool, FillerMemory(), seed, at_ms=T0, budget_ms=None, count=20)
    b = choose(pool, FillerMemory(), other, at_ms=T0, budget_ms=None, count=20)
    assert a != b


def test_collections_are_chosen_in_proportion_to_their_weights() -> None:
    heavy, light = clips([MIN] * 5, first_id=1), clips([MIN] * 5, first_id=100)
    pool = FillerPool(preset((9, 1)), {0: heavy, 1: light})
    chosen = choose(pool, FillerMemory(), 42, at_ms=T0, budget_ms=None, count=10_000)
    share = sum(p.id < 100 for p in chosen) / len(chosen)
    assert 0.87 < share < 0.93


def test_items_within_a_collection_are_chosen_about_uniformly() -> None:
    pool = pool_of([MIN] * 4)
    chosen = choose(pool, FillerMemory(), 7, at_ms=T0, budget_ms=None, count=8_000)
    counts = Counter(p.id for p in chosen)
    assert set(counts) == {1, 2, 3, 4}
    assert all(1_700 < n < 2_300 for n in counts.values())


def test_zero_weight_collection_is_never_chosen() -> None:
    pool = FillerPool(preset((1, 0)), {0: clips([MIN]), 1: clips([MIN], first_id=9)})
    chosen = choose(pool, FillerMemory(), 3, at_ms=T0, budget_ms=None, count=50)
    assert {p.id for p in chosen} == {1}


@given(
    st.integers(min_value=2, max_value=6),
    st.data(),
    seeds_st,
)
def test_item_is_not_repeated_within_its_cooldown_while_alternatives_exist(
    n: int, data: st.DataObject, seed: int
) -> None:
    # n one-minute items with a cooldown of at most n - 1 minutes: some item is always rested.
    cooldown = data.draw(st.integers(min_value=0, max_value=n - 1))
    pool = pool_of([MIN] * n, cooldown_minutes=cooldown)
    chosen = choose(pool, FillerMemory(), seed, at_ms=T0, budget_ms=None, count=40)
    finished: dict[int, int] = {}
    start = T0
    for item in chosen:
        if item.id in finished:
            assert start >= finished[item.id] + cooldown * MIN
        start += item.duration_ms
        finished[item.id] = start


def test_all_items_cooling_down_falls_back_to_the_one_available_soonest() -> None:
    pool = pool_of([MIN, MIN], cooldown_minutes=60)
    chosen = choose(pool, FillerMemory(), 5, at_ms=T0, budget_ms=None, count=4)
    assert chosen[0] != chosen[1]
    assert chosen[2:] == chosen[:2]


def test_cooldown_fallback_still_respects_the_budget() -> None:
    pool = pool_of([MIN, 5 * MIN], cooldown_minutes=60)
    memory = FillerMemory(last_played={1: T0, 2: T0 - 30 * MIN})
    chosen = choose(pool, memory, 5, at_ms=T0, budget_ms=2 * MIN, count=None)
    assert [p.id for p in chosen] == [1, 1]


def test_choice_records_each_finish_and_advances_the_draws() -> None:
    pool = pool_of([MIN, 2 * MIN])
    memory = FillerMemory()
    chosen = choose(pool, memory, 1, at_ms=T0, budget_ms=None, count=1)
    assert memory.last_played == {chosen[0].id: T0 + chosen[0].duration_ms}
    assert memory.draws > 0


def test_memory_continues_from_build_state() -> None:
    state = BuildState(next_ms=T0, filler_last_played=((4, T0), (2, T0 - MIN)), draws=17)
    memory = FillerMemory.from_state(state)
    assert memory.draws == 17
    assert memory.export(T0, 10 * MIN) == ((2, T0 - MIN), (4, T0))


def test_export_drops_entries_older_than_the_longest_cooldown() -> None:
    memory = FillerMemory(last_played={3: T0 - 10 * MIN, 1: T0 - 10 * MIN + 1, 2: T0})
    assert memory.export(T0, 10 * MIN) == ((1, T0 - 10 * MIN + 1), (2, T0))
    assert memory.export(T0, 0) == ()


@given(st.dictionaries(st.integers(), st.integers(min_value=0, max_value=2 * T0)), budgets_st)
def test_export_keeps_only_entries_that_can_still_block_a_play(
    last_played: dict[int, int], longest: int
) -> None:
    exported = FillerMemory(last_played=last_played).export(T0, longest)
    assert list(exported) == sorted(exported)
    assert all(finish + longest > T0 for _, finish in exported)
    assert len(exported) == sum(finish + longest > T0 for finish in last_played.values())


def test_empty_pool_gives_nothing() -> None:
    pool = FillerPool(preset((1, 1)), {0: []})
    assert pool.empty
    assert pool.shortest_ms is None
    assert choose(pool, FillerMemory(), 1, at_ms=T0, budget_ms=None, count=5) == []


def test_nothing_fitting_the_budget_gives_nothing() -> None:
    pool = pool_of([2 * MIN, 3 * MIN])
    memory = FillerMemory()
    assert choose(pool, memory, 1, at_ms=T0, budget_ms=MIN, count=None) == []
    assert memory.last_played == {}


def test_zero_duration_items_are_never_chosen() -> None:
    pool = pool_of([0, MIN, 0])
    assert pool.shortest_ms == MIN
    chosen = choose(pool, FillerMemory(), 9, at_ms=T0, budget_ms=None, count=30)
    assert {p.id for p in chosen} == {2}
    assert pool_of([0, 0]).empty


def test_choose_without_budget_or_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="budget"):
        choose(pool_of([MIN]), FillerMemory(), 1, at_ms=T0, budget_ms=None, count=None)


def test_mid_roll_breaks_go_at_chapter_starts_away_from_the_ends() -> None:
    chapters = (0, 10_000, 1_200_000, 600_000, 600_000, 30 * MIN - 10_000)
    item = Playable(1, 30 * MIN, chapters_ms=chapters)
    assert mid_roll_breaks(item, preset()) == (600_000, 1_200_000)


def test_mid_roll_breaks_go_every_n_minutes_of_content() -> None:
    every_ten = preset(mid_roll_every_minutes=10)
    assert mid_roll_breaks(Playable(1, 25 * MIN), every_ten) == (10 * MIN, 20 * MIN)
    assert mid_roll_breaks(Playable(1, 20 * MIN + 20_000), every_ten) == (10 * MIN,)
    assert mid_roll_breaks(Playable(1, 10 * MIN), every_ten) == ()


def test_mid_roll_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        mid_roll_breaks(Playable(1, 25 * MIN), preset(mid_roll_every_minutes=0))


@given(
    st.integers(min_value=0, max_value=180 * MIN),
    st.lists(st.integers(min_value=-MIN, max_value=200 * MIN)),
    st.none() | st.integers(min_value=1, max_value=60),
)
def test_mid_roll_breaks_are_increasing_and_inside_the_item(
    duration: int, chapters: list[int], every: int | None
) -> None:
    item = Playable(1, duration, chapters_ms=tuple(chapters))
    breaks = mid_roll_breaks(item, preset(mid_roll_every_minutes=every))
    assert all(a < b for a, b in pairwise(breaks))
    assert all(30_000 <= b <= duration - 30_000 for b in breaks)


HOUR = 60 * MIN
MIDNIGHT = 1_699_920_000_000  # 2023-11-14 00:00 UTC


@pytest.mark.parametrize(
    ("utc_minutes", "offset", "boundary", "expected_utc_minutes"),
    [
        (10 * 60 + 7, 0, 30, 10 * 60 + 30),  # 10:07 UTC -> 10:30
        (4 * 60 + 37, 5 * HOUR + 30 * MIN, 15, 4 * 60 + 45),  # 10:07 IST -> 10:15 IST
        (4 * 60 + 37, 5 * HOUR + 30 * MIN, 60, 5 * 60 + 30),  # 10:07 IST -> 11:00 IST
        (13 * 60 + 37, -(3 * HOUR + 30 * MIN), 60, 14 * 60 + 30),  # 10:07 NST -> 11:00
        (13 * 60 + 37, -(3 * HOUR + 30 * MIN), 15, 13 * 60 + 45),  # 10:07 NST -> 10:15
    ],
)
def test_tail_pads_to_the_next_local_clock_boundary(
    utc_minutes: int, offset: int, boundary: int, expected_utc_minutes: int
) -> None:
    at = MIDNIGHT + utc_minutes * MIN
    target = tail_target_ms(at, preset(tail_boundary_minutes=boundary), offset)
    assert target == MIDNIGHT + expected_utc_minutes * MIN


def test_tail_on_a_boundary_needs_no_pad() -> None:
    at = MIDNIGHT + 4 * HOUR + 30 * MIN  # 10:00 at +05:30
    assert tail_target_ms(at, preset(tail_boundary_minutes=60), 5 * HOUR + 30 * MIN) == at


def test_tail_with_fixed_length_pads_that_long() -> None:
    fixed = preset(tail_boundary_minutes=None, tail_fixed_seconds=90)
    assert tail_target_ms(T0, fixed, 5 * HOUR) == T0 + 90_000
    neither = preset(tail_boundary_minutes=None)
    assert tail_target_ms(T0, neither, 0) == T0


@given(
    st.integers(min_value=0, max_value=2 * T0),
    st.integers(min_value=-14 * HOUR, max_value=14 * HOUR),
    st.integers(min_value=1, max_value=24 * 60),
)
def test_tail_target_is_the_first_local_boundary_at_or_after_start(
    at: int, offset: int, boundary: int
) -> None:
    target = tail_target_ms(at, preset(tail_boundary_minutes=boundary), offset)
    assert at <= target < at + boundary * MIN
    assert (target + offset) % (boundary * MIN) == 0

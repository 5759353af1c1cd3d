"""Behaviour of content-source enumerators: orders, rotation, and resuming from state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.playout import Playable
from exstreamtv.domain.schedules import ContentSource, PlaybackOrder
from exstreamtv.scheduling import enumerators
from exstreamtv.scheduling.enumerators import Enumerator, Permutations, enumerator_for
from exstreamtv.scheduling.state import EnumeratorState, mix

ALL_ORDERS = list(PlaybackOrder)

_playables = st.builds(
    Playable,
    id=st.integers(0, 30),
    duration_ms=st.integers(-5, 100),
    title=st.sampled_from(["a", "B", "c", ""]),
    show=st.one_of(st.none(), st.sampled_from(["Alpha", "beta", "Gamma"])),
    season=st.one_of(st.none(), st.integers(0, 3)),
    episode=st.one_of(st.none(), st.integers(0, 5)),
    year=st.one_of(st.none(), st.integers(1990, 1993)),
)
_unique_playables = st.lists(
    _playables.filter(lambda p: p.duration_ms > 0), unique_by=lambda p: p.id, max_size=20
)
_collections = st.dictionaries(st.integers(1, 4), st.lists(_playables, max_size=15), max_size=4)
_sources = st.builds(
    ContentSource,
    collection_ids=st.lists(st.integers(1, 5), min_size=1, max_size=3, unique=True).map(tuple),
    order=st.sampled_from(ALL_ORDERS),
)


def take(enumerator: Enumerator, count: int) -> list[int]:
    """The ids of up to ``count`` items, consuming them; stops early when nothing is left."""
    ids: list[int] = []
    for _ in range(count):
        item = enumerator.peek()
        if item is None:
            break
        ids.append(item.id)
        enumerator.advance()
    return ids


def ids_of(
    order: PlaybackOrder,
    items: Sequence[Playable],
    count: int,
    seed: int = 7,
) -> list[int]:
    source = ContentSource((1,), order)
    return take(enumerator_for(source, {1: items}, None, seed), count)


def episode(
    item_id: int,
    show: str | None,
    season: int | None = None,
    number: int | None = None,
    title: str = "",
) -> Playable:
    return Playable(item_id, 1000, title=title, show=show, season=season, episode=number)


@given(_sources, _collections, st.integers(0, 2**64 - 1))
def test_same_inputs_give_the_same_sequence(
    source: ContentSource, collections: Mapping[int, list[Playable]], seed: int
) -> None:
    first = take(enumerator_for(source, collections, None, seed), 40)
    second = take(enumerator_for(source, collections, None, seed), 40)
    assert first == second


@given(_sources, _collections, st.integers(0, 2**32), st.integers(0, 40), st.integers(0, 40))
def test_resuming_from_the_persisted_state_continues_the_same_sequence(
    source: ContentSource,
    collections: Mapping[int, list[Playable]],
    seed: int,
    split: int,
    rest: int,
) -> None:
    whole = take(enumerator_for(source, collections, None, seed), split + rest)
    head = enumerator_for(source, collections, None, seed)
    before = take(head, split)
    saved = EnumeratorState.from_json(head.state.to_json())
    after = take(enumerator_for(source, collections, saved, seed + 1), rest)
    assert before + after == whole


@given(_unique_playables, st.integers(0, 2**32), st.integers(1, 5))
def test_shuffle_plays_every_item_once_per_epoch(
    items: list[Playable], seed: int, epochs: int
) -> None:
    n = len(items)
    played = ids_of(PlaybackOrder.SHUFFLE, items, n * epochs, seed)
    for start in range(0, len(played), max(n, 1)):
        assert sorted(played[start : start + n]) == sorted(p.id for p in items)


@given(_unique_playables.filter(lambda items: len(items) > 1), st.integers(0, 2**32))
def test_shuffle_never_plays_an_item_twice_in_a_row_across_epochs(
    items: list[Playable], seed: int
) -> None:
    played = ids_of(PlaybackOrder.SHUFFLE, items, len(items) * 12, seed)
    assert all(a != b for a, b in pairwise(played))


def test_shuffle_of_two_items_alternates() -> None:
    items = [Playable(1, 10), Playable(2, 10)]
    played = ids_of(PlaybackOrder.SHUFFLE, items, 10)
    assert played in ([1, 2] * 5, [2, 1] * 5)


def test_shuffle_of_one_item_repeats_it() -> None:
    assert ids_of(PlaybackOrder.SHUFFLE, [Playable(5, 10)], 3) == [5, 5, 5]


@given(_unique_playables, st.integers(0, 2**32), st.integers(1, 4))
def test_shuffle_in_order_plays_every_item_once_per_epoch_with_shows_in_episode_order(
    items: list[Playable], seed: int, epochs: int
) -> None:
    n = len(items)
    by_id = {p.id: p for p in items}
    played = ids_of(PlaybackOrder.SHUFFLE_IN_ORDER, items, n * epochs, seed)
    for start in range(0, len(played), max(n, 1)):
        epoch = [by_id[i] for i in played[start : start + n]]
        assert sorted(p.id for p in epoch) == sorted(by_id)
        for show in {p.show.casefold() for p in epoch if p.show is not None}:
            positions = [
                (p.season is None, p.season or 0, p.episode is None, p.episode or 0)
                for p in epoch
                if p.show is not None and p.show.casefold() == show
            ]
            assert positions == sorted(positions)


def test_shuffle_in_order_interleaves_shows_and_movies() -> None:
    items = [episode(10 + i, "Show", 1, i) for i in range(1, 6)]
    items += [episode(20 + i, "Other", 1, i) for i in range(1, 6)]
    items += [Playable(30 + i, 1000, title=f"movie {i}") for i in range(5)]
    played = ids_of(PlaybackOrder.SHUFFLE_IN_ORDER, items, 15, seed=3)
    assert [i for i in played if 10 < i < 20] == [11, 12, 13, 14, 15]
    assert [i for i in played if 20 < i < 30] == [21, 22, 23, 24, 25]
    assert played[:5] != [11, 12, 13, 14, 15]


def test_season_episode_sorts_by_show_season_episode_with_unknowns_last() -> None:
    items = [
        Playable(1, 10, title="Movie"),
        episode(2, "beta", 1, 2),
        episode(3, "Alpha", None, 1),
        episode(4, "Alpha", 2, 1),
        episode(5, "Alpha", 1, None),
        episode(6, "Alpha", 1, 3),
        episode(7, "Beta", 1, 1),
        episode(8, "Alpha", 1, 1),
    ]
    assert ids_of(PlaybackOrder.SEASON_EPISODE, items, 9) == [8, 6, 5, 4, 3, 7, 2, 1, 8]


def test_chronological_sorts_by_year_then_title_then_id_with_unknown_year_last() -> None:
    items = [
        Playable(1, 10, title="Zed", year=None),
        Playable(2, 10, title="beta", year=2001),
        Playable(3, 10, title="Alpha", year=2001),
        Playable(4, 10, title="Omega", year=1999),
        Playable(6, 10, title="alpha", year=2001),
        Playable(5, 10, title="Alpha", year=None),
    ]
    assert ids_of(PlaybackOrder.CHRONOLOGICAL, items, 7) == [4, 3, 6, 2, 5, 1, 4]


def test_rotate_alternates_between_collections_each_in_episode_order() -> None:
    source = ContentSource((1, 2), PlaybackOrder.ROTATE)
    collections = {
        1: [episode(12, "A", 1, 2), episode(11, "A", 1, 1)],
        2: [episode(21, "B", 1, 1), episode(22, "B", 1, 2), episode(23, "B", 1, 3)],
    }
    played = take(enumerator_for(source, collections, None, 0), 8)
    assert played == [11, 21, 12, 22, 11, 23, 12, 21]


def test_rotate_skips_empty_and_missing_collections() -> None:
    source = ContentSource((1, 2, 3, 4), PlaybackOrder.ROTATE)
    collections = {
        1: [Playable(11, 10, year=1), Playable(12, 10, year=2)],
        2: [Playable(20, 0)],
        3: [Playable(31, 10)],
    }
    played = take(enumerator_for(source, collections, None, 0), 6)
    assert played == [11, 31, 12, 31, 11, 31]


def test_rotate_state_keeps_one_position_per_collection() -> None:
    source = ContentSource((1, 2, 3), PlaybackOrder.ROTATE)
    collections = {1: [Playable(1, 10)], 3: [Playable(3, 10), Playable(4, 10)]}
    enumerator = enumerator_for(source, collections, None, 0)
    take(enumerator, 5)
    state = enumerator.state
    assert state.index == 5
    assert [child.index for child in state.children] == [3, 0, 2]


@given(st.integers(0, 2**32), st.integers(1, 4))
def test_shuffle_over_several_collections_shuffles_their_union(seed: int, epochs: int) -> None:
    shows = {1: [episode(100 + n, "TV", 1, n) for n in range(6)],
             2: [Playable(200 + n, 10, title=f"movie {n}") for n in range(6)]}  # fmt: skip
    source = ContentSource((1, 2), PlaybackOrder.SHUFFLE)
    played = take(enumerator_for(source, shows, None, seed), 12 * epochs)
    everything = sorted(p.id for items in shows.values() for p in items)
    for start in range(0, len(played), 12):
        assert sorted(played[start : start + 12]) == everything  # each item once per pass


def test_shuffle_of_two_collections_is_not_a_rotation_for_most_seeds() -> None:
    collections = {1: [episode(i, "TV", 1, i) for i in range(1, 9)],
                   2: [Playable(100 + i, 10, title=f"m{i}") for i in range(8)]}  # fmt: skip
    source = ContentSource((1, 2), PlaybackOrder.SHUFFLE)
    rotations = 0
    for seed in range(20):
        played = take(enumerator_for(source, collections, None, seed), 16)
        side = [i < 100 for i in played]
        rotations += all(a != b for a, b in pairwise(side))
    assert rotations == 0


def test_ordered_sources_over_several_collections_sort_the_union() -> None:
    collections = {1: [episode(12, "Beta", 1, 1), episode(11, "Alpha", 1, 2)],
                   2: [episode(21, "Alpha", 1, 1), episode(22, "Beta", 1, 2)]}  # fmt: skip
    source = ContentSource((1, 2), PlaybackOrder.SEASON_EPISODE)
    assert take(enumerator_for(source, collections, None, 0), 5) == [21, 11, 12, 22, 21]


def test_an_item_in_two_collections_of_a_union_plays_once_per_pass() -> None:
    shared = Playable(5, 10, title="shared")
    collections = {1: [shared, Playable(6, 10, title="six")], 2: [shared, Playable(7, 10)]}
    source = ContentSource((1, 2), PlaybackOrder.SHUFFLE)
    played = take(enumerator_for(source, collections, None, 3), 6)
    assert sorted(played[:3]) == [5, 6, 7] and sorted(played[3:]) == [5, 6, 7]


def test_rotate_over_one_collection_plays_it_in_episode_order() -> None:
    items = [episode(3, "A", 1, 3), episode(1, "A", 1, 1), episode(2, "A", 1, 2)]
    source = ContentSource((1,), PlaybackOrder.ROTATE)
    assert take(enumerator_for(source, {1: items}, None, 9), 4) == [1, 2, 3, 1]


@given(_sources, _collections, st.integers(0, 2**32))
def test_items_without_a_positive_duration_are_never_returned(
    source: ContentSource, collections: Mapping[int, list[Playable]], seed: int
) -> None:
    enumerator = enumerator_for(source, collections, None, seed)
    for _ in range(30):
        item = enumerator.peek()
        if item is None:
            break
        assert item.duration_ms > 0
        enumerator.advance()


@given(st.sampled_from(ALL_ORDERS), st.lists(st.integers(1, 5), min_size=0, max_size=3))
def test_empty_or_missing_collections_have_nothing_and_advancing_is_a_no_op(
    order: PlaybackOrder, ids: list[int]
) -> None:
    source = ContentSource(tuple(dict.fromkeys(ids)), order)
    collections = {1: [Playable(1, 0), Playable(2, -3)], 2: []}
    enumerator = enumerator_for(source, collections, None, 0)
    before = enumerator.state
    assert enumerator.peek() is None
    enumerator.advance()
    assert enumerator.peek() is None
    assert enumerator.state == before


def test_duplicate_ids_keep_the_first_item() -> None:
    items = [Playable(1, 10, title="first"), Playable(1, 20, title="second"), Playable(2, 10)]
    enumerator = enumerator_for(ContentSource((1,)), {1: items}, None, 0)
    played: list[Playable | None] = []
    for _ in range(4):
        played.append(enumerator.peek())
        enumerator.advance()
    assert played == [items[2], items[0], items[2], items[0]]


def test_random_draws_only_from_the_collection_and_may_repeat() -> None:
    items = [Playable(i, 10) for i in range(3)]
    played = ids_of(PlaybackOrder.RANDOM, items, 30)
    assert set(played) <= {0, 1, 2}
    assert any(a == b for a, b in pairwise(played))


def test_different_seeds_give_different_orders() -> None:
    items = [episode(i, f"show {i % 4}", 1, i) for i in range(40)]
    for order in (PlaybackOrder.SHUFFLE, PlaybackOrder.RANDOM, PlaybackOrder.SHUFFLE_IN_ORDER):
        sequences = {tuple(ids_of(order, items, 40, seed)) for seed in range(5)}
        assert len(sequences) == 5, order


def test_sources_over_the_same_items_get_independent_shuffles() -> None:
    items = [Playable(i, 10) for i in range(30)]
    collections = {1: items, 2: items}
    one = take(enumerator_for(ContentSource((1,), PlaybackOrder.SHUFFLE), collections, None, 9), 30)
    two = take(enumerator_for(ContentSource((2,), PlaybackOrder.SHUFFLE), collections, None, 9), 30)
    assert one != two


def test_state_index_counts_consumed_items_and_peek_does_not_consume() -> None:
    enumerator = enumerator_for(ContentSource((1,)), {1: [Playable(1, 10)]}, None, 0)
    enumerator.peek()
    enumerator.peek()
    assert enumerator.state.index == 0
    take(enumerator, 4)
    assert enumerator.state.index == 4


def test_an_edited_collection_continues_from_the_same_index() -> None:
    source = ContentSource((1,), PlaybackOrder.CHRONOLOGICAL)
    old = [Playable(i, 10, year=2000 + i) for i in range(3)]
    enumerator = enumerator_for(source, {1: old}, None, 0)
    take(enumerator, 4)
    grown = [*old, Playable(3, 10, year=2003), Playable(4, 10, year=2004)]
    resumed = enumerator_for(source, {1: grown}, enumerator.state, 0)
    assert take(resumed, 3) == [4, 0, 1]


def fisher_yates(values: Sequence[int], seed: int) -> list[int]:
    """The reference shuffle: the step at ``i`` swaps with ``mix(seed, i) % (i + 1)``."""
    out = list(values)
    for i in range(len(out) - 1, 0, -1):
        j = mix(seed, i) % (i + 1)
        out[i], out[j] = out[j], out[i]
    return out


@given(st.integers(0, 60), st.integers(0, 2**64 - 1))
def test_a_remembered_shuffle_is_the_one_computed(n: int, seed: int) -> None:
    """Every channel's epoch is shuffled the same whether its permutation was remembered
    (the second build) or not: schedules never change with the process's history."""
    values = list(range(100, 100 + n))
    fresh = [values[at] for at in Permutations(1_000).get(n, seed)]
    assert fresh == fisher_yates(values, seed)
    remembered = Permutations(1_000)
    remembered.get(n, seed)
    assert [values[at] for at in remembered.get(n, seed)] == fresh


def test_remembered_shuffles_stay_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels of many or large collections never grow the memory of shuffles past its
    budget (in indices); an epoch larger than the whole budget is not kept at all."""
    kept = Permutations(50)
    monkeypatch.setattr(enumerators, "PERMUTATIONS", kept)
    for seed in range(40):  # forty channels of 7..13 items, each built twice
        items = [Playable(n, 1000) for n in range(7 + seed % 7)]
        for _ in range(2):
            take(enumerator_for(ContentSource((1,), PlaybackOrder.SHUFFLE), {1: items}, None,
                                seed), 30)  # fmt: skip
            assert kept.size <= 50
    held = kept.size
    assert held > 30  # it does remember
    huge = [Playable(n, 1000) for n in range(80)]
    assert len(take(enumerator_for(ContentSource((1,), PlaybackOrder.SHUFFLE), {1: huge},
                                   None, 1), 80)) == 80  # fmt: skip
    assert kept.size == held  # neither kept nor pushing the others out

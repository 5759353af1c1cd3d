"""Behaviour of folding playout entries into guide programmes."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.guide import GuideMedia, GuidePolicy, Programme, ProgrammeKind
from exstreamtv.domain.playout import EntryKind, PlayoutEntry
from exstreamtv.formats.guide_folding import UNKNOWN_TITLE, programmes_from_entries

MIN = 60_000
T0 = 1_700_000_000_000
CHANNEL = "1.exstreamtv"
POLICY = GuidePolicy(fold_gaps_shorter_than_ms=30 * MIN)

EPISODE = GuideMedia(
    title="Datalore",
    kind="episode",
    show="Star Trek: The Next Generation",
    season=1,
    episode=13,
    year=1988,
    plot="Data meets his brother.",
    genres=("Science Fiction",),
    content_rating="TV-PG",
    poster_url="http://img.test/tng.jpg",
)
MOVIE = GuideMedia(title="Heat", kind="movie", year=1995, genres=("Crime", "Drama"))
BUMPER = GuideMedia(title="Bumper", kind="other")
MEDIA = {1: EPISODE, 2: MOVIE, 9: BUMPER}


def timeline(*parts: tuple[EntryKind, int | None, int, int]) -> list[PlayoutEntry]:
    """Contiguous entries from (kind, media id, minutes, guide group) parts, from T0."""
    entries, start = [], T0
    for kind, media_id, minutes, group in parts:
        finish = start + minutes * MIN
        entries.append(
            PlayoutEntry(start, finish, kind, media_id, 0, finish - start, guide_group=group)
        )
        start = finish
    return entries


def grouped_timeline(groups: list[tuple[tuple[EntryKind, ...], int]]) -> list[PlayoutEntry]:
    """Entries of the given kinds, one guide group per ``(kinds, minutes)``, each entry
    ``minutes`` long (media 1, offline entries none)."""
    return timeline(
        *(
            (kind, None if kind is EntryKind.OFFLINE else 1, minutes, group)
            for group, (kinds, minutes) in enumerate(groups)
            for kind in kinds
        )
    )


def fold(entries: list[PlayoutEntry], policy: GuidePolicy = POLICY) -> list[Programme]:
    return programmes_from_entries(CHANNEL, entries, MEDIA, policy)


def test_content_with_its_rolls_and_tail_is_one_programme_spanning_the_group() -> None:
    entries = timeline(
        (EntryKind.PRE_ROLL, 9, 1, 0),
        (EntryKind.CONTENT, 1, 20, 0),
        (EntryKind.MID_ROLL, 9, 2, 0),
        (EntryKind.CONTENT, 1, 20, 0),
        (EntryKind.POST_ROLL, 9, 1, 0),
        (EntryKind.TAIL, 9, 2, 0),
    )

    [programme] = fold(entries)

    assert (programme.start_ms, programme.stop_ms) == (T0, T0 + 46 * MIN)
    assert programme.title == "Star Trek: The Next Generation"


def test_episode_is_titled_by_its_show_with_the_episode_title_as_sub_title() -> None:
    [programme] = fold(timeline((EntryKind.CONTENT, 1, 45, 0)))

    assert programme.title == "Star Trek: The Next Generation"
    assert programme.sub_title == "Datalore"
    assert (programme.season, programme.episode, programme.episodic) == (1, 13, True)
    assert programme.categories == ("Science Fiction", "Series")
    assert programme.description == "Data meets his brother."
    assert programme.icon_url == "http://img.test/tng.jpg"
    assert programme.rating == "TV-PG"
    assert programme.previously_shown


def test_episode_without_a_show_is_titled_by_its_own_title() -> None:
    media = {1: GuideMedia(title="Pilot", kind="episode", episode=1)}

    [programme] = programmes_from_entries(
        CHANNEL, timeline((EntryKind.CONTENT, 1, 30, 0)), media, POLICY
    )

    assert (programme.title, programme.sub_title) == ("Pilot", None)


def test_movie_has_its_title_year_and_the_movie_category() -> None:
    [programme] = fold(timeline((EntryKind.CONTENT, 2, 120, 0)))

    assert (programme.title, programme.year, programme.episodic) == ("Heat", 1995, False)
    assert programme.categories == ("Crime", "Drama", "Movie")
    assert programme.previously_shown


def test_guide_title_of_the_entries_overrides_the_media_title() -> None:
    entries = [PlayoutEntry(T0, T0 + 30 * MIN, EntryKind.CONTENT, 2, 0, 30 * MIN, 0, "Movie Night")]

    [programme] = fold(entries)

    assert programme.title == "Movie Night"


def test_deleted_media_is_titled_by_guide_title_else_to_be_announced() -> None:
    with_override = [
        PlayoutEntry(T0, T0 + 30 * MIN, EntryKind.CONTENT, 404, 0, 30 * MIN, 0, "Cartoons")
    ]

    assert fold(with_override)[0].title == "Cartoons"
    assert fold(timeline((EntryKind.CONTENT, 404, 30, 0)))[0].title == UNKNOWN_TITLE


def test_short_gap_extends_the_previous_programme() -> None:
    entries = timeline((EntryKind.CONTENT, 2, 100, 0), (EntryKind.OFFLINE, None, 20, 1))

    [programme] = fold(entries)

    assert (programme.title, programme.stop_ms) == ("Heat", T0 + 120 * MIN)


def test_long_offline_gap_becomes_an_offline_programme() -> None:
    entries = timeline((EntryKind.CONTENT, 2, 100, 0), (EntryKind.OFFLINE, None, 30, 1))

    movie, offline = fold(entries)

    assert movie.stop_ms == T0 + 100 * MIN
    assert (offline.title, offline.kind) == ("Offline", ProgrammeKind.OFFLINE)
    assert (offline.start_ms, offline.stop_ms) == (T0 + 100 * MIN, T0 + 130 * MIN)
    assert not offline.previously_shown


def test_long_fallback_filler_gap_becomes_a_filler_programme_with_the_policy_title() -> None:
    policy = GuidePolicy(fold_gaps_shorter_than_ms=10 * MIN, filler_title="Intermission")
    entries = timeline((EntryKind.CONTENT, 2, 100, 0), (EntryKind.FALLBACK, 9, 40, 1))

    _, filler = fold(entries, policy)

    assert (filler.title, filler.kind) == ("Intermission", ProgrammeKind.FILLER)


def test_adjacent_gap_groups_merge_into_one_programme() -> None:
    entries = timeline(
        (EntryKind.CONTENT, 2, 100, 0),
        (EntryKind.OFFLINE, None, 40, 1),
        (EntryKind.FALLBACK, 9, 40, 2),
        (EntryKind.OFFLINE, None, 40, 3),
    )

    _, gap = fold(entries)

    assert (gap.start_ms, gap.stop_ms) == (T0 + 100 * MIN, T0 + 220 * MIN)
    assert gap.kind is ProgrammeKind.FILLER


def test_many_short_gap_groups_that_add_up_to_a_long_gap_are_not_hidden() -> None:
    clips = [(EntryKind.FALLBACK, 9, 5, group) for group in range(1, 13)]
    entries = timeline((EntryKind.CONTENT, 2, 100, 0), *clips)

    movie, filler = fold(entries)

    assert movie.stop_ms == T0 + 100 * MIN
    assert (filler.kind, filler.stop_ms) == (ProgrammeKind.FILLER, T0 + 160 * MIN)


def test_first_short_gap_of_the_timeline_becomes_its_own_programme() -> None:
    entries = timeline((EntryKind.OFFLINE, None, 5, 0), (EntryKind.CONTENT, 2, 100, 1))

    offline, movie = fold(entries)

    assert (offline.kind, offline.stop_ms) == (ProgrammeKind.OFFLINE, T0 + 5 * MIN)
    assert movie.start_ms == T0 + 5 * MIN


def test_no_entries_give_no_programmes() -> None:
    assert fold([]) == []


GROUP_KINDS = st.sampled_from(
    [
        (EntryKind.CONTENT,),
        (EntryKind.PRE_ROLL, EntryKind.CONTENT, EntryKind.POST_ROLL),
        (EntryKind.CONTENT, EntryKind.TAIL),
        (EntryKind.OFFLINE,),
        (EntryKind.FALLBACK,),
        (EntryKind.FALLBACK, EntryKind.OFFLINE),
    ]
)


@given(
    st.lists(st.tuples(GROUP_KINDS, st.integers(1, 90)), min_size=1, max_size=30),
    st.integers(0, 120),
)
def test_programmes_are_contiguous_and_cover_the_whole_timeline(
    groups: list[tuple[tuple[EntryKind, ...], int]], fold_minutes: int
) -> None:
    entries = grouped_timeline(groups)

    programmes = fold(entries, GuidePolicy(fold_gaps_shorter_than_ms=fold_minutes * MIN))

    assert programmes[0].start_ms == entries[0].start_ms
    assert programmes[-1].stop_ms == entries[-1].finish_ms
    assert all(p.start_ms < p.stop_ms for p in programmes)
    assert all(a.stop_ms == b.start_ms for a, b in itertools.pairwise(programmes))


def test_by_default_no_gap_is_folded_into_the_programme_before_it() -> None:
    entries = timeline((EntryKind.CONTENT, 2, 100, 0), (EntryKind.OFFLINE, None, 1, 1))

    movie, offline = programmes_from_entries(CHANNEL, entries, MEDIA, GuidePolicy())

    assert movie.stop_ms == T0 + 100 * MIN
    assert (offline.kind, offline.stop_ms) == (ProgrammeKind.OFFLINE, T0 + 101 * MIN)


def test_offline_time_at_the_end_of_a_programme_group_is_listed_as_offline() -> None:
    entries = timeline(
        (EntryKind.CONTENT, 1, 20, 0), (EntryKind.TAIL, 9, 2, 0), (EntryKind.OFFLINE, None, 3, 0),
        (EntryKind.CONTENT, 2, 30, 1),
    )  # fmt: skip

    episode, offline, movie = programmes_from_entries(CHANNEL, entries, MEDIA, GuidePolicy())

    assert (episode.start_ms, episode.stop_ms) == (T0, T0 + 22 * MIN)
    assert (offline.kind, offline.start_ms, offline.stop_ms) == (
        ProgrammeKind.OFFLINE, T0 + 22 * MIN, T0 + 25 * MIN,
    )  # fmt: skip
    assert movie.start_ms == T0 + 25 * MIN


def test_offline_end_of_a_group_folds_back_only_when_the_user_chose_folding() -> None:
    entries = timeline((EntryKind.CONTENT, 1, 20, 0), (EntryKind.OFFLINE, None, 3, 0))

    [episode] = fold(entries, GuidePolicy(fold_gaps_shorter_than_ms=5 * MIN))

    assert episode.stop_ms == T0 + 23 * MIN


def test_a_programme_starts_with_its_own_first_frame_and_its_pre_roll_ends_the_one_before() -> None:
    entries = timeline(
        (EntryKind.CONTENT, 1, 40, 0),
        (EntryKind.PRE_ROLL, 9, 1, 1), (EntryKind.PRE_ROLL, 9, 1, 1),
        (EntryKind.CONTENT, 2, 90, 1),
    )  # fmt: skip

    episode, movie = programmes_from_entries(CHANNEL, entries, MEDIA, GuidePolicy())

    assert episode.stop_ms == movie.start_ms == T0 + 42 * MIN
    assert (movie.title, movie.stop_ms) == ("Heat", T0 + 132 * MIN)


def test_the_guide_can_start_each_programme_with_its_pre_roll() -> None:
    entries = timeline(
        (EntryKind.CONTENT, 1, 40, 0), (EntryKind.PRE_ROLL, 9, 2, 1), (EntryKind.CONTENT, 2, 90, 1)
    )
    policy = GuidePolicy(pre_roll_starts_programme=True)

    episode, movie = programmes_from_entries(CHANNEL, entries, MEDIA, policy)

    assert episode.stop_ms == movie.start_ms == T0 + 40 * MIN


def test_a_pre_roll_after_a_gap_is_listed_with_the_gap_as_filler() -> None:
    entries = timeline(
        (EntryKind.CONTENT, 1, 40, 0), (EntryKind.OFFLINE, None, 30, 1),
        (EntryKind.PRE_ROLL, 9, 2, 2), (EntryKind.CONTENT, 2, 90, 2),
    )  # fmt: skip

    _, gap, movie = programmes_from_entries(CHANNEL, entries, MEDIA, GuidePolicy())

    assert (gap.kind, gap.stop_ms) == (ProgrammeKind.FILLER, T0 + 72 * MIN)
    assert movie.start_ms == T0 + 72 * MIN


def test_the_first_programme_keeps_its_pre_roll_when_nothing_is_listed_before_it() -> None:
    entries = timeline((EntryKind.PRE_ROLL, 9, 2, 0), (EntryKind.CONTENT, 2, 90, 0))

    [movie] = programmes_from_entries(CHANNEL, entries, MEDIA, GuidePolicy())

    assert (movie.start_ms, movie.title) == (T0, "Heat")


@given(
    st.lists(st.tuples(GROUP_KINDS | st.just((EntryKind.CONTENT, EntryKind.OFFLINE)),
                       st.integers(1, 90)), min_size=1, max_size=30),
    st.booleans(),
)  # fmt: skip
def test_with_the_default_policy_no_content_programme_covers_offline_time(
    groups: list[tuple[tuple[EntryKind, ...], int]], pre_roll_first: bool
) -> None:
    entries = grouped_timeline(groups)
    policy = GuidePolicy(pre_roll_starts_programme=pre_roll_first)

    programmes = fold(entries, policy)

    assert all(a.stop_ms == b.start_ms for a, b in itertools.pairwise(programmes))
    for offline in (e for e in entries if e.kind is EntryKind.OFFLINE):
        [listed] = [p for p in programmes if p.start_ms <= offline.start_ms < p.stop_ms]
        assert listed.kind is not ProgrammeKind.CONTENT
        assert listed.stop_ms >= offline.finish_ms
    for content in (e for e in entries if e.kind is EntryKind.CONTENT):
        [listed] = [p for p in programmes if p.start_ms <= content.start_ms < p.stop_ms]
        assert listed.kind is ProgrammeKind.CONTENT

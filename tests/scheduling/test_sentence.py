"""The sentence grammar and the week grid, pure: any text is understood without raising,
titles with punctuation or "and" stay whole, times past midnight run into the next day,
and the grid covers every minute of the week."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from exstreamtv.domain.channel_plans import LibraryFacets
from exstreamtv.domain.media import MediaKind
from exstreamtv.scheduling.sentence import MAX_SENTENCE, understand
from exstreamtv.scheduling.week_grid import plan_channel

FACETS = LibraryFacets(
    genres={"Animation": 5, "Horror": 2, "Sci-Fi & Fantasy": 3},
    shows={"Tom and Jerry": 4, "Batman: The Animated Series": 4, "M*A*S*H": 3},
    kinds={MediaKind.MOVIE: 5, MediaKind.EPISODE: 11, MediaKind.OTHER: 2},
)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=2 * MAX_SENTENCE))
def test_any_text_is_understood_without_raising_and_the_week_is_covered(text: str) -> None:
    plan = plan_channel(understand(text, FACETS), FACETS, text)
    assert all(0 <= i < len(plan.collections) for s in plan.slots for i in s.collections)
    if plan.collections:
        assert plan.slots, "a plan with content always has a slot"


def test_titles_with_punctuation_or_and_stay_whole() -> None:
    found = understand("Tom and Jerry, Batman: the animated series and m.a.s.h at night", FACETS)
    shows = [p.show for s in found.segments for p in s.picks] + [p.show for p in found.rest or ()]
    assert sorted(s for s in shows if s) == ["Batman: The Animated Series", "M*A*S*H",
                                             "Tom and Jerry"]  # fmt: skip


def test_a_window_past_midnight_runs_into_the_next_day() -> None:
    found = understand("horror movies on fridays from 11pm to 3am", FACETS)
    [segment] = found.segments
    assert (sorted(segment.weekdays), segment.windows) == ([4], ((23 * 60, 27 * 60),))
    plan = plan_channel(found, FACETS, "")
    starts = {(f"{s.start:%H:%M}", tuple(sorted(s.weekdays))) for s in plan.slots}
    assert starts == {("23:00", (4,)), ("03:00", (5,))}


def test_sci_fi_finds_a_compound_library_genre() -> None:
    [segment] = understand("sci-fi", FACETS).segments
    assert [p.genres for p in segment.picks] == [("Sci-Fi & Fantasy",)]


def test_words_past_the_limit_are_not_read() -> None:
    found = understand("x " * (MAX_SENTENCE // 2) + "horror", FACETS)
    assert found.segments == ()

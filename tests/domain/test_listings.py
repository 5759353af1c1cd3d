"""When an item's listings changed, as a scan judges it: the first moment they differ, from
the window the scan read on."""

from __future__ import annotations

from exstreamtv.domain.listings import Listing, first_change

MIN = 60_000
NEWS = Listing(0, 30 * MIN, "News")
WEATHER = Listing(30 * MIN, 40 * MIN, "Weather")
SPORT = Listing(40 * MIN, 90 * MIN, "Sport")


def test_the_same_listings_have_no_change() -> None:
    assert first_change([NEWS, WEATHER], [NEWS, WEATHER], 0) is None
    assert first_change([], [], 0) is None


def test_a_change_is_dated_from_the_first_listing_that_differs() -> None:
    retitled = Listing(WEATHER.start_ms, WEATHER.stop_ms, "Weather and Traffic")
    assert first_change([NEWS, WEATHER, SPORT], [NEWS, retitled, SPORT], 0) == 30 * MIN
    assert first_change([NEWS, WEATHER], [NEWS, WEATHER, SPORT], 0) == 40 * MIN  # added
    assert first_change([NEWS, WEATHER, SPORT], [NEWS], 0) == 30 * MIN  # removed
    moved = Listing(SPORT.start_ms, SPORT.stop_ms + MIN, "Sport")
    assert first_change([SPORT], [moved], 0) == 40 * MIN


def test_what_ended_before_the_window_is_not_compared_and_a_change_starts_in_it() -> None:
    assert first_change([NEWS, WEATHER], [WEATHER], 30 * MIN) is None  # NEWS ended at 30
    assert first_change([NEWS, WEATHER], [WEATHER], 29 * MIN) == 29 * MIN

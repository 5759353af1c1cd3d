"""Where each build mode starts, and with which cursor (pure)."""

from __future__ import annotations

import pytest

from exstreamtv.domain.playout import EntryKind, PlayoutEntry
from exstreamtv.scheduling.state import BuildState, EnumeratorState
from exstreamtv.services.playout_plan import BuildMode, BuildPlan, plan_build, plan_repair
from exstreamtv.store.playouts import StoredEntry

NOW = 1_000_000
POSITIONS = (("season_episode:1", EnumeratorState(seed=3, index=17)),)


def stored(start: int, finish: int, group: int, *, cursor: bool = True) -> StoredEntry:
    entry = PlayoutEntry(start, finish, EntryKind.CONTENT, 1, 0, finish - start, group)
    state = BuildState(
        next_ms=finish, position=2, remaining=1, element_start_ms=start,
        enumerators=POSITIONS, guide_group=group + 1, draws=9,
    )  # fmt: skip
    return StoredEntry(entry, state if cursor else None)


def test_continue_resumes_from_the_last_entry_and_its_cursor() -> None:
    last = stored(NOW + 10, NOW + 50, 8)
    plan = plan_build(BuildMode.CONTINUE, NOW, last=last, airing_end=None)
    assert last.cursor is not None
    assert plan == BuildPlan(NOW + 50, last.cursor)


@pytest.mark.parametrize("mode", [BuildMode.CONTINUE, BuildMode.REFRESH])
def test_an_expired_playout_restarts_at_now_keeping_content_positions(mode: BuildMode) -> None:
    last = stored(NOW - 50, NOW - 10, 8)
    plan = plan_build(mode, NOW, last=last, airing_end=None)
    assert plan == BuildPlan(
        NOW, BuildState(next_ms=NOW, enumerators=POSITIONS, guide_group=9, draws=9)
    )


def test_reset_of_an_expired_playout_forgets_positions_but_not_group_numbers() -> None:
    last = stored(NOW - 50, NOW - 10, 8)
    plan = plan_build(BuildMode.RESET, NOW, last=last, airing_end=None)
    assert plan == BuildPlan(NOW, BuildState(next_ms=NOW, guide_group=9))


@pytest.mark.parametrize("mode", list(BuildMode))
def test_an_empty_playout_starts_at_now(mode: BuildMode) -> None:
    assert plan_build(mode, NOW, last=None, airing_end=None) == BuildPlan(NOW, BuildState(NOW))


def test_refresh_resumes_after_the_airing_group_with_its_cursor() -> None:
    airing_end = stored(NOW - 5, NOW + 20, 4)
    plan = plan_build(BuildMode.REFRESH, NOW, last=stored(NOW, NOW + 90, 9), airing_end=airing_end)
    assert airing_end.cursor is not None
    assert plan == BuildPlan(NOW + 20, airing_end.cursor)


def test_reset_keeps_the_airing_group_and_starts_a_fresh_cursor_after_it() -> None:
    airing_end = stored(NOW - 5, NOW + 20, 4)
    plan = plan_build(BuildMode.RESET, NOW, last=stored(NOW, NOW + 90, 9), airing_end=airing_end)
    assert plan == BuildPlan(NOW + 20, BuildState(next_ms=NOW + 20, guide_group=5))


def test_refresh_without_a_stored_cursor_falls_back_to_a_fresh_one() -> None:
    airing_end = stored(NOW - 5, NOW + 20, 4, cursor=False)
    plan = plan_build(BuildMode.REFRESH, NOW, last=airing_end, airing_end=airing_end)
    assert plan == BuildPlan(NOW + 20, BuildState(next_ms=NOW + 20, guide_group=5))


@pytest.mark.parametrize("mode", list(BuildMode))
def test_a_playout_started_between_seconds_starts_at_the_whole_second_before(
    mode: BuildMode,
) -> None:
    plan = plan_build(mode, NOW + 839, last=None, airing_end=None)
    assert plan == BuildPlan(NOW, BuildState(NOW))  # on air at once, and XMLTV-exact


def test_a_restart_between_seconds_never_overlaps_the_last_stored_entry() -> None:
    last = stored(NOW - 50, NOW + 300, 8)  # ended 539 ms ago, after the whole second
    plan = plan_build(BuildMode.RESET, NOW + 839, last=last, airing_end=None)
    assert plan.boundary_ms == plan.state.next_ms == NOW + 300


def test_a_repair_resumes_with_the_cursor_stored_just_before_the_group() -> None:
    before = stored(NOW, NOW + 60_000, 6)
    assert before.cursor is not None
    assert plan_repair(NOW + 60_000, before) == BuildPlan(NOW + 60_000, before.cursor)


def test_a_repair_without_a_cursor_before_the_group_starts_fresh_positions() -> None:
    before = stored(NOW, NOW + 60_000, 6, cursor=False)
    fresh = BuildPlan(NOW + 60_000, BuildState(next_ms=NOW + 60_000, guide_group=7))
    assert plan_repair(NOW + 60_000, before) == fresh
    assert plan_repair(NOW + 60_000, None) == BuildPlan(NOW + 60_000, BuildState(NOW + 60_000))
    apart = stored(NOW, NOW + 1000, 6)  # a hole in the rows: the cursor is not for this point
    assert plan_repair(NOW + 60_000, apart) == fresh

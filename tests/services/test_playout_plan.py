"""Where each build mode starts, and with which cursor (pure)."""

from __future__ import annotations

import pytest

from exstreamtv.domain.playout import EntryKind, PlayoutEntry
from exstreamtv.scheduling.state import BuildState, EnumeratorState
from exstreamtv.services.playout_plan import BuildMode, BuildPlan, plan_build
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

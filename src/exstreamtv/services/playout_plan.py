"""Where a playout build starts, for each build mode (pure; times are UTC ms).

* ``continue``: from the end of the playout, with the cursor stored on its last entry.
* ``refresh``: from the end of the guide group on air now (the airing programme with its
  filler), with that group's cursor: schedule edits take effect at the next programme,
  without interrupting viewers or resetting enumerator positions.
* ``reset``: from the same boundary, with a fresh cursor (enumerators start over).

Whatever the mode, the airing group is never replaced. When nothing is on air (an empty
or expired playout) the build starts at ``now`` rounded down to a whole second (so every
entry starts on one, and something is on air at ``now`` at once; never before the last
stored entry's end); ``continue`` and ``refresh`` then keep the content and filler
positions of the last cursor, ``reset`` does not. Guide group numbers always continue after
the last stored one, so they stay unique within a channel.

A *repair* (:func:`plan_repair`) rebuilds from the start of a given guide group with the
cursor stored just before it, so every entry before that group keeps its slot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from exstreamtv.domain.playout import PlayoutEntry, floor_second
from exstreamtv.scheduling.state import BuildState
from exstreamtv.store.playouts import StoredEntry


class BuildMode(enum.StrEnum):
    CONTINUE = "continue"
    REFRESH = "refresh"
    RESET = "reset"


@dataclass(frozen=True, slots=True)
class BuildPlan:
    """Entries starting at or after ``boundary_ms`` are replaced by a build resuming from
    ``state`` (whose ``next_ms`` is ``boundary_ms``)."""

    boundary_ms: int
    state: BuildState


def plan_build(
    mode: BuildMode,
    now_ms: int,
    *,
    last: StoredEntry | None,
    airing_end: StoredEntry | None,
) -> BuildPlan:
    """The plan for a build at ``now_ms``.

    ``last`` is the playout's last entry and ``airing_end`` the entry closing the guide
    group on air at ``now_ms`` (``None`` when nothing is on air).
    """
    if mode is BuildMode.CONTINUE and last is not None and last.entry.finish_ms > now_ms:
        return BuildPlan(last.entry.finish_ms, last.cursor or _fresh_after(last.entry))
    if mode is not BuildMode.CONTINUE and airing_end is not None:
        end = airing_end.entry
        if mode is BuildMode.REFRESH and airing_end.cursor is not None:
            return BuildPlan(end.finish_ms, airing_end.cursor)
        return BuildPlan(end.finish_ms, _fresh_after(end))
    group = 0 if last is None else last.entry.guide_group + 1
    kept = None if last is None or mode is BuildMode.RESET else last.cursor
    start = floor_second(now_ms)
    if last is not None and start < last.entry.finish_ms <= now_ms:
        start = last.entry.finish_ms  # never overlap what is stored
    return BuildPlan(start, _restart(kept, start, group))


def plan_repair(group_start_ms: int, before: StoredEntry | None) -> BuildPlan:
    """The plan that rebuilds everything from the guide group starting at
    ``group_start_ms``; ``before`` is the entry just before it (``None``: none).

    It resumes with ``before``'s cursor, as if the build had stopped there; without one (an
    entry inside a group, or a gap in the rows) it starts fresh positions after it.
    """
    if before is not None and before.entry.finish_ms == group_start_ms:
        return BuildPlan(group_start_ms, before.cursor or _fresh_after(before.entry))
    group = 0 if before is None else before.entry.guide_group + 1
    return BuildPlan(group_start_ms, BuildState(next_ms=group_start_ms, guide_group=group))


def _fresh_after(entry: PlayoutEntry) -> BuildState:
    """A fresh cursor right after ``entry``, numbering guide groups after its group."""
    return BuildState(next_ms=entry.finish_ms, guide_group=entry.guide_group + 1)


def _restart(kept: BuildState | None, now_ms: int, group: int) -> BuildState:
    """A cursor at ``now_ms`` at the top of the schedule, keeping ``kept``'s content and
    filler positions (if any)."""
    if kept is None:
        return BuildState(next_ms=now_ms, guide_group=group)
    return BuildState(
        next_ms=now_ms,
        enumerators=kept.enumerators,
        filler_last_played=kept.filler_last_played,
        guide_group=group,
        draws=kept.draws,
    )

"""An overview of a playout at a fixed resolution: what a timeline bar can show.

A day of one-second clips is 86,400 entries; drawn one box each, a bar of about a thousand
pixels is mostly boxes narrower than a pixel, and a browser spends seconds laying them out.
:func:`overview` folds the entries into at most ``resolution + 1`` runs: a run shorter than
one ``grain`` (the span over ``resolution``) takes the entries after it until it is a grain
long, and takes the kind that holds most of its time. So short clips share boxes a grain
wide, a short pre-roll shares the box of the programme it introduces, and no box holds two
entries a grain or longer: every programme one can see on the bar is its own box.

Why at most ``resolution + 1``: a new run starts only after a run of at least a grain or a
gap of at least a grain, and runs and gaps are disjoint within the span (entries ordered by
start, not overlapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from exstreamtv.domain.playout import EntryKind, PlayoutEntry

OVERVIEW_RESOLUTION = 1000
"""Runs in an overview (plus one): about the pixels of a timeline bar."""


@dataclass(frozen=True, slots=True)
class OverviewRun:
    """``count`` consecutive entries from index ``first``, drawn as one box of ``kind``."""

    start_ms: int
    finish_ms: int
    kind: EntryKind
    first: int
    count: int


@dataclass(slots=True)
class _Open:
    start_ms: int
    finish_ms: int
    first: int
    kind: EntryKind
    """The kind holding most of the run's time (the first to reach it on a tie)."""
    count: int = 0
    time_by_kind: dict[EntryKind, int] = field(default_factory=dict)

    def take(self, entry: PlayoutEntry) -> None:
        self.finish_ms = max(self.finish_ms, entry.finish_ms)
        self.count += 1
        time = self.time_by_kind[entry.kind] = (
            self.time_by_kind.get(entry.kind, 0) + entry.duration_ms
        )
        if time > self.time_by_kind.get(self.kind, 0):
            self.kind = entry.kind

    def closed(self) -> OverviewRun:
        return OverviewRun(self.start_ms, self.finish_ms, self.kind, self.first, self.count)


def overview(
    entries: Sequence[PlayoutEntry], resolution: int = OVERVIEW_RESOLUTION
) -> list[OverviewRun]:
    """At most ``resolution + 1`` runs covering ``entries`` (ordered by start) in order."""
    if resolution < 1:
        raise ValueError(f"resolution must be at least 1, not {resolution}")
    if not entries:
        return []
    span = max(e.finish_ms for e in entries) - entries[0].start_ms
    grain = span / resolution
    runs: list[OverviewRun] = []
    current = _Open(entries[0].start_ms, entries[0].finish_ms, 0, entries[0].kind)
    current.take(entries[0])
    for index in range(1, len(entries)):
        entry = entries[index]
        gap = entry.start_ms - current.finish_ms
        if current.finish_ms - current.start_ms >= grain or gap >= grain:
            runs.append(current.closed())
            current = _Open(entry.start_ms, entry.finish_ms, index, entry.kind)
        current.take(entry)
    runs.append(current.closed())
    return runs

"""A channel planned from a sentence: what is proposed before anything is saved.

A sentence such as "90s cartoons on weekday mornings, movies at night" is understood as
:class:`Segment` s (what plays, on which weekdays, from when to when) plus the content for
the rest of the week and the filler; the week grid turns that into a :class:`ChannelPlan`:
the collections to create (:class:`ContentPick`: a smart query or a show), a weekly
``slots`` schedule over them, and the filler. Nothing here is stored; applying a plan is
the services layer's job, and only after a person confirmed it.

Times are minutes after local midnight in the schedule's time zone; weekdays are 0
(Monday) to 6 (Sunday).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time

from exstreamtv.domain.collections import SmartQuery
from exstreamtv.domain.media import MediaKind
from exstreamtv.domain.schedules import PlaybackOrder

DAY_MINUTES = 24 * 60
EVERY_DAY = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class LibraryFacets:
    """What the library holds, in the names a sentence may use: genre names as stored,
    show titles, and present items per kind, per genre and per show."""

    genres: Mapping[str, int] = field(default_factory=dict)
    shows: Mapping[str, int] = field(default_factory=dict)
    kinds: Mapping[MediaKind, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContentPick:
    """One collection a plan would create: a show's episodes (``show``), or a smart query
    over kinds, genres (any of them) and years (inclusive). ``label`` names it."""

    label: str
    kinds: tuple[MediaKind, ...] = ()
    genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    show: str | None = None

    @property
    def query(self) -> SmartQuery:
        kinds = (MediaKind.EPISODE,) if self.show is not None else self.kinds
        return SmartQuery(
            kinds=kinds,
            show=self.show,
            genres=self.genres,
            year_min=self.year_min,
            year_max=self.year_max,
        )

    @property
    def order(self) -> PlaybackOrder:
        """Episodes of one show in order; shows interleaved with their episodes in order;
        anything else shuffled."""
        if self.show is not None:
            return PlaybackOrder.SEASON_EPISODE
        if self.kinds == (MediaKind.EPISODE,):
            return PlaybackOrder.SHUFFLE_IN_ORDER
        return PlaybackOrder.SHUFFLE

    @property
    def key(self) -> tuple[object, ...]:
        """Equal for picks that select the same items (the label aside)."""
        return (self.kinds, self.genres, self.year_min, self.year_max, self.show)


@dataclass(frozen=True, slots=True)
class Segment:
    """``picks`` (played in rotation) on ``weekdays`` during each ``(start, end)`` window.
    A window may end past :data:`DAY_MINUTES` (it runs into the next day)."""

    picks: tuple[ContentPick, ...]
    weekdays: frozenset[int] = EVERY_DAY
    windows: tuple[tuple[int, int], ...] = ((0, DAY_MINUTES),)


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a sentence asks for: segments in the order given (a later one wins where two
    overlap), the content for the rest of the week (``None``: a mix of every segment's),
    the filler, a name if the sentence gave one, and notes for the person reading the
    preview (what was not found or not understood)."""

    segments: tuple[Segment, ...]
    rest: tuple[ContentPick, ...] | None = None
    filler: ContentPick | None = None
    name: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """A weekly slot: from local ``start`` on ``weekdays`` (empty: every day) until the next
    slot, playing ``collections`` (indices into :attr:`ChannelPlan.collections`) in
    rotation; ``title`` is its guide title."""

    start: time
    weekdays: frozenset[int]
    collections: tuple[int, ...]
    title: str


@dataclass(frozen=True, slots=True)
class ChannelPlan:
    """A proposed channel. ``mode`` says who understood the sentence: ``rules`` or
    ``llm``."""

    sentence: str
    name: str
    collections: tuple[ContentPick, ...]
    slots: tuple[PlannedSlot, ...]
    filler: ContentPick | None
    notes: tuple[str, ...]
    mode: str = "rules"

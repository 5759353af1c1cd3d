"""Schedules: how a channel's timeline is built from collections.

Three kinds share one vocabulary of sources, orders, play modes and filler:

* ``items``: a list of schedule items played in order, looping (flood, one, multiple,
  duration; optional fixed start times with a lateness policy);
* ``slots``: a weekly grid of local-time slots, each pointing at a source;
* ``blocks``: fixed-length blocks placed on weekdays by templates.

Local times (fixed starts, slots, block placements) are wall-clock times in the schedule's
IANA time zone; the engine converts them to UTC per date, so they stay right across DST.
All values here are pure data; the engine in ``exstreamtv.scheduling`` interprets them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import time


class PlaybackOrder(enum.StrEnum):
    """How a source's items are enumerated.

    Every order but ``rotate`` applies to the union of the source's collections (an item
    in two of them counts once); ``rotate`` takes one item from each collection in turn.
    """

    CHRONOLOGICAL = "chronological"  # by year, then title
    SEASON_EPISODE = "season_episode"  # by show, season, episode
    SHUFFLE = "shuffle"  # a new permutation each pass: no repeat until all have played
    RANDOM = "random"  # independent draws (repeats possible)
    SHUFFLE_IN_ORDER = "shuffle_in_order"  # shows interleaved at random, episodes in order
    ROTATE = "rotate"  # A, B, C, A, ...: each collection in season/episode order


class PlayMode(enum.StrEnum):
    FLOOD = "flood"  # fill until the next fixed start (or slot end)
    ONE = "one"
    MULTIPLE = "multiple"  # ``count`` items
    DURATION = "duration"  # fill ``duration_minutes``, then trim or pad the tail


class TailMode(enum.StrEnum):
    """What a ``duration`` item does with an item that does not fit its window."""

    TRIM = "trim"  # play it and cut it at the window's end
    FILLER = "filler"  # leave it for later and pad the rest of the window with filler


class Lateness(enum.StrEnum):
    """What happens when the content before a fixed start runs past it."""

    START_LATE = "start_late"  # start when the previous content ends
    SKIP = "skip"  # skip this occurrence
    CUT_PREVIOUS = "cut_previous"  # cut the previous content so this starts on time


class FillerKind(enum.StrEnum):
    PRE_ROLL = "pre_roll"  # before each content item
    MID_ROLL = "mid_roll"  # inside content, at chapter marks or every N minutes
    POST_ROLL = "post_roll"  # after each content item
    TAIL = "tail"  # after content, pad to a clock boundary or a fixed length
    FALLBACK = "fallback"  # whenever nothing else fits, and when a source is unavailable


class ScheduleKind(enum.StrEnum):
    ITEMS = "items"
    SLOTS = "slots"
    BLOCKS = "blocks"


@dataclass(frozen=True, slots=True)
class ContentSource:
    """Where content comes from: one or more collections, played in ``order``.

    With several collections, ``order`` applies to their union (``shuffle`` shuffles every
    item of all of them together); ``rotate`` instead takes one item from each collection
    in turn (A, B, C, A, ...), each keeping its own season/episode position.
    """

    collection_ids: tuple[int, ...]
    order: PlaybackOrder = PlaybackOrder.SEASON_EPISODE

    @property
    def key(self) -> str:
        """Identifies the enumerator (and its persisted position) for this source."""
        return f"{self.order.value}:{','.join(map(str, self.collection_ids))}"


@dataclass(frozen=True, slots=True)
class WeightedCollection:
    collection_id: int
    weight: int = 1


@dataclass(frozen=True, slots=True)
class FillerPreset:
    """Filler of one kind, drawn from weighted collections.

    ``cooldown_minutes``: an item is not repeated within this time. ``count``: items per
    pre/post-roll break. Mid-roll: at chapter marks when ``mid_roll_every_minutes`` is
    ``None``, else every that many minutes of content. Tail: pad to the next multiple of
    ``tail_boundary_minutes`` of the clock (15 for :00/:15/:30/:45) or, when it is ``None``,
    for ``tail_fixed_seconds``. ``cut_to_fit``: a tail or fallback pad is filled exactly,
    its last item cut to the remainder (and faded out); when false only whole items play
    and the fallback filler (then offline time) covers the rest.
    """

    id: int
    name: str
    kind: FillerKind
    collections: tuple[WeightedCollection, ...]
    cooldown_minutes: int = 0
    count: int = 1
    mid_roll_every_minutes: int | None = None
    tail_boundary_minutes: int | None = 30
    tail_fixed_seconds: int | None = None
    cut_to_fit: bool = True


@dataclass(frozen=True, slots=True)
class FillerSet:
    """Filler preset ids, by kind; ``None`` means none of that kind."""

    pre_roll: int | None = None
    mid_roll: int | None = None
    post_roll: int | None = None
    tail: int | None = None
    fallback: int | None = None


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    """One entry of an ``items`` schedule."""

    source: ContentSource
    mode: PlayMode = PlayMode.ONE
    count: int = 1
    duration_minutes: int | None = None
    tail_mode: TailMode = TailMode.TRIM
    fixed_start: time | None = None
    lateness: Lateness = Lateness.START_LATE
    guide_title: str | None = None
    filler: FillerSet = field(default_factory=FillerSet)


@dataclass(frozen=True, slots=True)
class TimeSlot:
    """A slot of a weekly grid starting at local ``start`` on ``weekdays`` (0 = Monday;
    empty = every day). It lasts until the next slot starts. ``lateness`` applies when
    the previous slot's content runs into this one."""

    start: time
    source: ContentSource
    weekdays: frozenset[int] = frozenset()
    mode: PlayMode = PlayMode.FLOOD
    count: int = 1
    lateness: Lateness = Lateness.START_LATE
    guide_title: str | None = None
    filler: FillerSet = field(default_factory=FillerSet)


@dataclass(frozen=True, slots=True)
class BlockEntry:
    source: ContentSource
    count: int = 1


@dataclass(frozen=True, slots=True)
class Block:
    """A fixed-length sequence: ``entries`` in order, cut at ``minutes``, the rest padded."""

    key: str
    name: str
    minutes: int
    entries: tuple[BlockEntry, ...]
    filler: FillerSet = field(default_factory=FillerSet)


@dataclass(frozen=True, slots=True)
class BlockPlacement:
    start: time
    block_key: str


@dataclass(frozen=True, slots=True)
class BlockTemplate:
    """Where blocks go on ``weekdays`` (0 = Monday; empty = every day)."""

    placements: tuple[BlockPlacement, ...]
    weekdays: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Schedule:
    """A channel's schedule. ``fallback`` is a filler preset id used for any gap that
    nothing else fills (and when content is unavailable); without one, gaps are offline."""

    id: int
    name: str
    kind: ScheduleKind
    timezone: str = "UTC"
    items: tuple[ScheduleItem, ...] = ()
    slots: tuple[TimeSlot, ...] = ()
    blocks: tuple[Block, ...] = ()
    templates: tuple[BlockTemplate, ...] = ()
    fallback: int | None = None
    seed: int = 0

"""The playout: a channel's timeline of entries with absolute UTC times.

This is the one source of truth for "what is on at time t". The guide and the stream both
read it through :meth:`Timeline.at`; nothing else keeps its own idea of "now playing".

Entries of one timeline are contiguous: each ``finish`` is the next ``start``. Times are
milliseconds since the epoch, timezone-aware UTC; the engine starts every entry on a whole
second (:data:`SECOND_MS`), so a guide with one-second resolution (XMLTV) is exact.
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND_MS = 1000
CUT_FADE_MS = 1000
"""How long the stream fades out an entry marked ``cut`` (at most half the entry)."""
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (exact, no float rounding)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: playout times must be aware UTC")
    return (moment - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime ``ms`` milliseconds after the Unix epoch."""
    return EPOCH + timedelta(milliseconds=ms)


def floor_second(ms: int) -> int:
    """``ms`` rounded down to a whole second (of the epoch, so of every UTC clock)."""
    return ms - ms % SECOND_MS


def ceil_second(ms: int) -> int:
    """``ms`` rounded up to a whole second."""
    return -floor_second(-ms)


class EntryKind(enum.StrEnum):
    CONTENT = "content"
    PRE_ROLL = "pre_roll"
    MID_ROLL = "mid_roll"
    POST_ROLL = "post_roll"
    TAIL = "tail"
    FALLBACK = "fallback"
    OFFLINE = "offline"  # nothing to play: the stream shows the offline slate

    @property
    def is_filler(self) -> bool:
        return self not in (EntryKind.CONTENT, EntryKind.OFFLINE)


@dataclass(frozen=True, slots=True)
class Playable:
    """What the engine needs to know about a media item.

    ``duration_ms`` is the playable length (0 when unknown: never scheduled as content).
    ``chapters_ms`` are chapter start offsets (ms) used for mid-roll breaks.
    """

    id: int
    duration_ms: int
    title: str = ""
    show: str | None = None
    season: int | None = None
    episode: int | None = None
    year: int | None = None
    chapters_ms: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PlayoutEntry:
    """One row of the timeline.

    ``start_ms``/``finish_ms``: absolute UTC, ms since the epoch. ``media_id`` is ``None``
    for offline entries. The media plays from ``in_point_ms`` to ``out_point_ms``
    (``finish - start == out - in`` for media entries). Entries with the same
    ``guide_group`` form one guide programme (content with its pre/mid/post/tail filler);
    ``guide_title`` overrides the media's title in the guide. ``source`` names the schedule
    element that produced the entry (``item:2``, ``slot:0``, ``block:news``...). ``cut`` is
    true when the media is stopped before its natural end to meet a boundary (filler cut to
    fill a pad exactly, content cut at a deadline): the stream fades it out over its last
    :data:`CUT_FADE_MS` rather than cutting mid-sentence.
    """

    start_ms: int
    finish_ms: int
    kind: EntryKind
    media_id: int | None
    in_point_ms: int
    out_point_ms: int
    guide_group: int
    guide_title: str | None = None
    source: str = ""
    cut: bool = False

    @property
    def start(self) -> datetime:
        return from_ms(self.start_ms)

    @property
    def finish(self) -> datetime:
        return from_ms(self.finish_ms)

    @property
    def duration_ms(self) -> int:
        return self.finish_ms - self.start_ms

    @property
    def fade_out_ms(self) -> int:
        """How long the stream fades out before ``finish`` (ms): 0 unless ``cut``."""
        return min(CUT_FADE_MS, self.duration_ms // 2) if self.cut else 0


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """The entry on air at a moment, and where in the media to join it (ms)."""

    entry: PlayoutEntry
    offset_ms: int

    @property
    def seek_ms(self) -> int:
        """Where in the media file to start: ``offset + in_point``."""
        return self.entry.in_point_ms + self.offset_ms


class Timeline:
    """Contiguous entries ordered by start, with an O(log n) :meth:`at`."""

    __slots__ = ("_entries", "_starts")

    def __init__(self, entries: Sequence[PlayoutEntry]) -> None:
        self._entries = list(entries)
        self._starts = [entry.start_ms for entry in self._entries]

    @property
    def entries(self) -> list[PlayoutEntry]:
        return self._entries

    def at(self, moment: datetime) -> NowPlaying | None:
        """What is on at ``moment`` (aware), or ``None`` outside the timeline."""
        return self.at_ms(to_ms(moment))

    def at_ms(self, ms: int) -> NowPlaying | None:
        index = bisect_right(self._starts, ms) - 1
        if index < 0:
            return None
        entry = self._entries[index]
        if ms >= entry.finish_ms:
            return None
        return NowPlaying(entry, ms - entry.start_ms)


@dataclass(frozen=True, slots=True)
class BuildWarning:
    """Something a build could not do as asked, and what it did instead.

    ``code`` is stable for programs (``empty_collection``, ``missing_collection``,
    ``no_durations``, ``flood_without_fixed_start``...); ``message`` is for people.
    """

    code: str
    message: str

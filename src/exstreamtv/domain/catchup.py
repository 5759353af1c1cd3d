"""Catch-up: which span of a channel's past a request asks for, and whether it may.

The materialised playout says exactly which file, from which in-point, aired at every
instant, and past rows are kept for ``catchup.days``; so any past programme is replayed
from the media itself, with no recording. This module is the pure part: reading the
instants an IPTV app substitutes into its ``catchup-source`` template and deciding what
the request may replay.

Instants are Unix seconds (what ``{utc}``/``{utcend}`` become in Kodi's IPTV Simple and in
TiviMate) or ISO 8601 with an offset. A span ends at ``end``, or ``duration`` seconds
after ``start``, or after :data:`DEFAULT_SPAN` when neither is given (an app that only
sends the start). It may reach into the future: a replay runs a fixed delay behind the
channel, so "watch from the start" of the programme on air now plays on to its end.

Over HLS a span is cut on a fixed grid of :data:`SEGMENT_MS` from its start: segment
``n`` is ``[start + n * SEGMENT_MS, start + (n + 1) * SEGMENT_MS)`` (the last one ends
with the span), so its place, length and air time are known before it is made, and a
player can seek anywhere in the span.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from exstreamtv.domain.playout import SECOND_MS, to_ms
from exstreamtv.errors import Gone, InvalidInput

DEFAULT_SPAN = timedelta(hours=4)
MAX_SPAN = timedelta(hours=24)
DAY_MS = 86_400_000
SEGMENT_MS = 6_000  # an HLS catch-up segment: 150 frames at 25 fps, 180 at 30 (and 60)
_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


@dataclass(frozen=True, slots=True)
class CatchupSpan:
    """The past ``[start_ms, end_ms)`` of one channel to replay (ms since the epoch)."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def key(self, number: str) -> str:
        """The replay's name: viewers asking for the same span of a channel share it."""
        return f"{number}@{self.start_ms // SECOND_MS}-{self.end_ms // SECOND_MS}"

    @property
    def segment_count(self) -> int:
        """How many HLS segments the span is cut into (the last may be shorter)."""
        return -(-self.duration_ms // SEGMENT_MS)

    def segment(self, sequence: int) -> CatchupSpan:
        """HLS segment ``sequence`` of the span; raises :class:`InvalidInput` past its end."""
        if not 0 <= sequence < self.segment_count:
            raise InvalidInput(f"segment {sequence} is not in this span")
        start = self.start_ms + sequence * SEGMENT_MS
        return CatchupSpan(start, min(start + SEGMENT_MS, self.end_ms))

    def aired_segments(self, now_ms: int) -> int:
        """How many of its segments have wholly aired by ``now_ms`` (all, once it ended)."""
        if now_ms >= self.end_ms:
            return self.segment_count
        return max(0, (now_ms - self.start_ms) // SEGMENT_MS)


def parse_instant(text: str, name: str) -> int:
    """``text`` as ms since the epoch: Unix seconds, or ISO 8601 with a UTC offset.

    Raises :class:`InvalidInput` naming ``name`` for anything else (a naive time, an
    out-of-range number, an empty value)."""
    value = text.strip()
    if _SECONDS.fullmatch(value):
        return math.floor(float(value) * SECOND_MS)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: expected Unix seconds or an ISO 8601 time with an offset"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name}: an ISO 8601 time needs an offset (Z or +hh:mm)")
    return to_ms(moment)


def parse_span(start: str, end: str | None = None, duration: str | None = None) -> CatchupSpan:
    """The span asked for by ``start`` and ``end`` or ``duration`` (seconds).

    Raises :class:`InvalidInput` when a value does not parse, both ``end`` and
    ``duration`` are given, the span is empty or longer than :data:`MAX_SPAN`."""
    start_ms = parse_instant(start, "start")
    if end is not None and duration is not None:
        raise InvalidInput("give end or duration, not both")
    if end is not None:
        end_ms = parse_instant(end, "end")
    elif duration is not None:
        if not _SECONDS.fullmatch(duration.strip()):
            raise InvalidInput("duration: expected a number of seconds")
        end_ms = start_ms + math.floor(float(duration) * SECOND_MS)
    else:
        end_ms = start_ms + int(DEFAULT_SPAN / timedelta(milliseconds=1))
    if end_ms <= start_ms:
        raise InvalidInput("end: must be after start")
    if end_ms - start_ms > int(MAX_SPAN / timedelta(milliseconds=1)):
        raise InvalidInput(f"a catch-up span is at most {MAX_SPAN.total_seconds() / 3600:g} h")
    return CatchupSpan(start_ms, end_ms)


def check_window(span: CatchupSpan, now_ms: int, days: int) -> None:
    """Refuse a span the history cannot replay: one starting in the future (nothing has
    aired yet, :class:`InvalidInput`) or before the kept history (:class:`Gone`)."""
    if span.start_ms >= now_ms:
        raise InvalidInput("start: must be in the past (use the live stream for now)")
    if span.start_ms < now_ms - days * DAY_MS:
        raise Gone(f"start: catch-up keeps the last {days} day(s); that programme is pruned")

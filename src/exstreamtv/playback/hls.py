"""HLS from the same packets as the MPEG-TS stream: segments cut in process, no second FFmpeg.

The channel feeds every spliced packet to :class:`SegmentRing` as it is *produced*, ahead of
the paced MPEG-TS (by up to the work-ahead buffer). An HLS player starts three target
durations behind the newest segment (RFC 8216 §6.3.3), so cutting from the producer side
puts it close to the guide's time instead of three segments behind it, with a full buffer
from its first request on; and a segment is never published late, which would starve the
player ("PCR is called too late" in VLC).

Segments (RFC 8216):

* every segment starts at a video keyframe with the latest PAT and PMT, so each decodes on
  its own (``EXT-X-INDEPENDENT-SEGMENTS``, except for copy profiles, see below);
* ``EXT-X-TARGETDURATION`` is fixed when the ring is made and never changes (at least one
  GOP of the profile, so a keyframe always comes in time). A segment is cut
  at a keyframe once waiting for the next one (one GOP later) would take it past
  ``target + 0.4`` s; so segments last about ``target`` and never round above it. If no
  keyframe comes in time (a copied source with long GOPs), the segment is cut at the next
  video frame anyway; rings of copy profiles therefore do not claim independent segments;
* ``EXT-X-PROGRAM-DATE-TIME`` is the guide's wall time of the segment's first frame
  (``wall_of`` its PTS), and each segment's ``EXTINF`` is the media time to the next
  segment's first frame, so successive dates differ by exactly the previous duration;
* media sequence numbers start at ``first_sequence`` and grow by one per segment; the
  stream is one timeline, so there are no discontinuities.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from exstreamtv.domain.catchup import SEGMENT_MS, CatchupSpan
from exstreamtv.domain.playout import from_ms
from exstreamtv.domain.profiles import PMT_PID, VIDEO_PID
from exstreamtv.formats.mpegts import (
    CLOCK_HZ,
    PACKET_SIZE,
    PAT_PID,
    pes_timestamps,
    pid,
    random_access,
)
from exstreamtv.formats.splice import unwrap

TARGET_SECONDS = 4.0
WINDOW = 6
SLACK_SECONDS = 0.4  # how far past the target a segment may run (rounds to the target)


@dataclass(slots=True)
class Segment:
    """One HLS segment: its sequence number, first frame's PTS (90 kHz, unwrapped) and wall
    time, bytes, and media duration in seconds (known once the next segment starts)."""

    sequence: int
    first_pts: int
    started_at: datetime | None
    data: bytearray = field(default_factory=bytearray)
    duration: float = 0.0


class SegmentRing:
    """The last ``window`` complete segments, and the one being filled."""

    def __init__(
        self,
        *,
        target_seconds: float = TARGET_SECONDS,
        window: int = WINDOW,
        gop_seconds: float | None = None,
        independent: bool = True,
        first_sequence: int = 0,
        wall_of: Callable[[int], datetime | None] | None = None,
    ) -> None:
        # A segment holds at least one whole GOP, so the target is never below it.
        target_seconds = max(target_seconds, gop_seconds or 0.0)
        self.target_seconds = target_seconds
        self.target_duration = max(1, math.ceil(target_seconds))
        self._limit = (target_seconds + SLACK_SECONDS) * CLOCK_HZ
        self._gop = None if gop_seconds is None else gop_seconds * CLOCK_HZ
        self._independent = independent
        self._wall_of = wall_of or (lambda _pts: None)
        self._segments: deque[Segment] = deque(maxlen=window)
        self._current: Segment | None = None
        self._pat: bytes | None = None
        self._pmt: bytes | None = None
        self._next_sequence = first_sequence
        self._last_pts: int | None = None
        self._last_key: int | None = None  # PTS of the latest keyframe
        self._seen_gop: float | None = None  # the latest keyframe-to-keyframe distance

    @property
    def completed(self) -> int:
        """How many segments have been completed so far (grows by one per segment)."""
        return self._next_sequence - (self._current is not None)

    def feed_batch(self, data: bytes) -> None:
        """Add whole 188-byte packets (``len(data)`` a multiple of 188), in stream order."""
        for start in range(0, len(data), PACKET_SIZE):
            self.feed(data[start : start + PACKET_SIZE])

    def feed(self, packet: bytes | bytearray) -> None:
        """Add one 188-byte packet."""
        packet_pid = pid(packet)
        if packet_pid == PAT_PID:
            self._pat = bytes(packet)
        elif packet_pid == PMT_PID:
            self._pmt = bytes(packet)
        if packet_pid == VIDEO_PID:
            stamps = pes_timestamps(packet)
            if stamps is not None:
                self._video_frame(unwrap(stamps[0], self._last_pts), random_access(packet))
        if self._current is not None:
            self._current.data += packet

    def _video_frame(self, pts: int, keyframe: bool) -> None:
        """A video PES starts with ``pts``: open, cut or carry on the current segment."""
        self._last_pts = pts
        current = self._current
        if keyframe:
            if self._last_key is not None and pts > self._last_key:
                self._seen_gop = pts - self._last_key
            self._last_key = pts
        if current is None:
            if keyframe:
                self._open(pts)
            return
        length = pts - current.first_pts
        late = keyframe and length > 0 and length + self._next_gop() > self._limit
        if late or length >= self._limit:  # past the limit without a keyframe: cut anyway
            self._cut(pts)

    def _next_gop(self) -> float:
        """How far the next keyframe probably is: the profile's GOP, else the last seen."""
        return self._gop or self._seen_gop or 0.0

    def _cut(self, pts: int) -> None:
        current = self._current
        if current is not None:
            current.duration = (pts - current.first_pts) / CLOCK_HZ
            self._segments.append(current)
        self._open(pts)

    def _open(self, pts: int) -> None:
        segment = Segment(self._next_sequence, pts, self._wall_of(pts))
        self._next_sequence += 1
        for table in (self._pat, self._pmt):
            if table is not None:
                segment.data += table
        self._current = segment

    def segment(self, sequence: int) -> Segment | None:
        """A complete segment still in the window."""
        for segment in self._segments:
            if segment.sequence == sequence:
                return segment
        return None

    def playlist(self, segment_url: str) -> str | None:
        """The live playlist (``segment_url`` has ``{sequence}``), or ``None`` until a
        segment is complete."""
        if not self._segments:
            return None
        segments = list(self._segments)
        lines = _header(self.target_duration, segments[0].sequence, self._independent)
        for segment in segments:
            if segment.started_at is not None:
                lines.append(_dated(segment.started_at))
            lines += [
                f"#EXTINF:{segment.duration:.3f},",
                segment_url.format(sequence=segment.sequence),
            ]
        return "\n".join(lines) + "\n"


def span_playlist(span: CatchupSpan, now_ms: int, segment_url: str) -> str:
    """The playlist of a catch-up span, on its fixed grid (``domain/catchup.py``): every
    segment that has wholly aired by ``now_ms``, each dated with its air time. Once the
    span has aired it is a ``VOD`` playlist with ``EXT-X-ENDLIST``, seekable anywhere; a
    span still airing (start-over of the programme on now) is an ``EVENT`` playlist that
    grows as the player reloads it. Every segment is made from its own start, a keyframe
    first, so segments are independent whatever the profile."""
    aired = span.aired_segments(now_ms)
    lines = _header(math.ceil(SEGMENT_MS / 1000), 0, True)
    lines.insert(2, f"#EXT-X-PLAYLIST-TYPE:{'VOD' if aired == span.segment_count else 'EVENT'}")
    for sequence in range(aired):
        part = span.segment(sequence)
        lines += [
            _dated(from_ms(part.start_ms)),
            f"#EXTINF:{part.duration_ms / 1000:.3f},",
            segment_url.format(sequence=sequence),
        ]
    if aired == span.segment_count:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _header(target_duration: int, first_sequence: int, independent: bool) -> list[str]:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        f"#EXT-X-MEDIA-SEQUENCE:{first_sequence}",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
    ]
    if independent:
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    return lines


def _dated(at: datetime) -> str:
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"#EXT-X-PROGRAM-DATE-TIME:{stamp}"

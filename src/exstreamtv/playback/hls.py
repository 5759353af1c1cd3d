"""HLS from the same packets as the MPEG-TS stream: segments cut in process, no second FFmpeg.

The channel feeds every paced packet to :class:`SegmentRing`. A new segment starts at a
video keyframe once the current one holds at least ``target_seconds`` of media (the very
first segment ends at the second keyframe, so HLS starts one GOP after it is asked), and every
segment begins with the latest PAT and PMT, so each can be decoded on its own
(``EXT-X-INDEPENDENT-SEGMENTS``). The ring keeps the last ``window`` segments; the
playlist is a sliding window with ``EXT-X-PROGRAM-DATE-TIME`` (the wall-clock time the
segment's first packet went out), so players show the right time of day.

Media time comes from the PCR (27 MHz) of the packets, so segment durations are the
media's, not the wall clock's.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from exstreamtv.domain.profiles import PMT_PID, VIDEO_PID
from exstreamtv.formats.mpegts import PACKET_SIZE, PAT_PID, PCR_HZ, pcr, pid, random_access

TARGET_SECONDS = 4.0
WINDOW = 6


@dataclass(slots=True)
class Segment:
    """One HLS segment: its sequence number, bytes, media duration (s) and start time."""

    sequence: int
    started_at: datetime
    data: bytearray = field(default_factory=bytearray)
    first_pcr: int | None = None
    last_pcr: int | None = None
    duration: float = 0.0

    def media_seconds(self) -> float:
        if self.first_pcr is None or self.last_pcr is None:
            return 0.0
        return (self.last_pcr - self.first_pcr) / PCR_HZ


class SegmentRing:
    """The last ``window`` complete segments, and the one being filled."""

    def __init__(self, *, target_seconds: float = TARGET_SECONDS, window: int = WINDOW) -> None:
        self._target = target_seconds
        self.target_seconds = target_seconds
        self._segments: deque[Segment] = deque(maxlen=window)
        self._current: Segment | None = None
        self._pat: bytes | None = None
        self._pmt: bytes | None = None
        self._next_sequence = 0

    @property
    def completed(self) -> int:
        """How many segments have been completed so far (grows by one per segment)."""
        return self._next_sequence - (self._current is not None)

    def feed_batch(self, data: bytes, now: datetime) -> None:
        """Add whole 188-byte packets (``len(data)`` a multiple of 188) released at ``now``."""
        for start in range(0, len(data), PACKET_SIZE):
            self.feed(data[start : start + PACKET_SIZE], now)

    def feed(self, packet: bytes | bytearray, now: datetime) -> None:
        """Add one 188-byte packet released at wall-clock time ``now`` (aware UTC)."""
        packet_pid = pid(packet)
        if packet_pid == PAT_PID:
            self._pat = bytes(packet)
        elif packet_pid == PMT_PID:
            self._pmt = bytes(packet)
        keyframe = packet_pid == VIDEO_PID and random_access(packet)
        clock = pcr(packet)
        current = self._current
        if keyframe and (current is None or self._long_enough(current, clock)):
            self._close(current, clock)
            current = self._open(now)
        if current is None:
            return  # nothing is decodable before the first keyframe
        if clock is not None:
            current.first_pcr = clock if current.first_pcr is None else current.first_pcr
            current.last_pcr = clock
        current.data += packet

    def _open(self, now: datetime) -> Segment:
        segment = Segment(self._next_sequence, now)
        self._next_sequence += 1
        for table in (self._pat, self._pmt):
            if table is not None:
                segment.data += table
        self._current = segment
        return segment

    def _long_enough(self, segment: Segment, clock: int | None) -> bool:
        """Whether ``segment`` reaches the target at a keyframe whose PCR is ``clock``."""
        if segment.first_pcr is None:
            return False
        end = clock if clock is not None else segment.last_pcr
        # The first segment ends at the next keyframe, however short: a player can start
        # about one GOP after the first request instead of a whole target duration.
        target = 0.0 if segment.sequence == 0 else self._target
        return (
            end is not None
            and end > segment.first_pcr
            and ((end - segment.first_pcr) / PCR_HZ >= target)
        )

    def _close(self, segment: Segment | None, next_pcr: int | None) -> None:
        """Finish ``segment``; it lasts until the next segment's first PCR when known."""
        if segment is None:
            return
        if next_pcr is not None and segment.first_pcr is not None:
            segment.duration = (next_pcr - segment.first_pcr) / PCR_HZ
        else:
            segment.duration = segment.media_seconds()
        self._segments.append(segment)

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
        target = max(1, math.ceil(max(s.duration for s in segments)))
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:6",
            "#EXT-X-INDEPENDENT-SEGMENTS",
            f"#EXT-X-TARGETDURATION:{target}",
            f"#EXT-X-MEDIA-SEQUENCE:{segments[0].sequence}",
        ]
        for segment in segments:
            stamp = segment.started_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines += [
                f"#EXT-X-PROGRAM-DATE-TIME:{stamp}",
                f"#EXTINF:{segment.duration:.3f},",
                segment_url.format(sequence=segment.sequence),
            ]
        return "\n".join(lines) + "\n"

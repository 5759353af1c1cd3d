"""Splicing per-process MPEG-TS into one stream whose clocks only ever go forward.

Each item of a channel is written by its own FFmpeg, offset (``-output_ts_offset``) to
start where the previous one ended. That offset is a good estimate but not a guarantee:
AAC priming starts the audio one frame (21 ms) before the offset, B-frame reordering
starts the video's DTS a frame or two before it, a killed process ends mid-GOP, and a
copied source brings timestamps of its own. Any of these can make a timestamp repeat or go
back at the splice, which freezes hls.js and set-top boxes.

So the :class:`Splicer` holds the first packets of each new process until it has seen the
first timestamp of every elementary stream, then shifts the whole process (PTS, DTS and
PCR alike, so audio and video stay in sync) forward by the smallest amount that puts every
stream strictly after the previous process: each stream's first DTS after its last DTS,
its first PTS at or after the end of its last frame, and the first PCR after the last PCR.
The shift is zero when the offset was right. An audio PES whose DTS would still repeat or
go back is dropped (21 ms of sound), never a video one.

Continuity counters are rewritten across processes (:class:`ContinuityRewriter`). All
timestamps are 90 kHz ticks unwrapped past the 33-bit wrap; what is written back is taken
modulo 2^33.
"""

from __future__ import annotations

from collections.abc import Mapping

from exstreamtv.formats.mpegts import (
    ContinuityRewriter,
    payload_offset,
    pcr,
    pes_timestamps,
    pid,
    unit_start,
)

_WRAP = 1 << 33
HOLD_LIMIT = 4096  # packets (770 KB): a keyframe of a 1080p high-bitrate source fits


def unwrap(value: int, near: int | None) -> int:
    """``value`` (33-bit) on a line that does not wrap, nearest to ``near``."""
    if near is None:
        return value
    delta = (value - near) % _WRAP
    if delta > _WRAP // 2:
        delta -= _WRAP
    return near + delta


def _write_timestamp(packet: bytearray, at: int, value: int) -> None:
    """Write a 33-bit PTS/DTS at ``at``, keeping the 4-bit prefix and the marker bits."""
    value %= _WRAP
    packet[at] = (packet[at] & 0xF0) | ((value >> 29) & 0x0E) | 0x01
    packet[at + 1] = (value >> 22) & 0xFF
    packet[at + 2] = ((value >> 14) & 0xFE) | 0x01
    packet[at + 3] = (value >> 7) & 0xFF
    packet[at + 4] = ((value << 1) & 0xFE) | 0x01


def _write_pcr(packet: bytearray, value: int) -> None:
    """Write a 27 MHz PCR into a packet that carries one."""
    value %= _WRAP * 300
    base, extension = divmod(value, 300)
    packet[6] = (base >> 25) & 0xFF
    packet[7] = (base >> 17) & 0xFF
    packet[8] = (base >> 9) & 0xFF
    packet[9] = (base >> 1) & 0xFF
    packet[10] = ((base & 0x01) << 7) | 0x7E | ((extension >> 8) & 0x01)
    packet[11] = extension & 0xFF


def shift_packet(packet: bytearray, ticks: int) -> None:
    """Move the PCR and the PES PTS/DTS of ``packet`` forward by ``ticks`` (90 kHz)."""
    if ticks == 0:
        return
    clock = pcr(packet)
    if clock is not None:
        _write_pcr(packet, clock + ticks * 300)
    stamps = pes_timestamps(packet)
    if stamps is None:
        return
    at = payload_offset(packet)
    _write_timestamp(packet, at + 9, stamps[0] + ticks)
    if packet[at + 7] >> 6 == 0x3:
        _write_timestamp(packet, at + 14, stamps[1] + ticks)


class Splicer:
    """Joins the outputs of consecutive processes (see the module docstring).

    ``frames`` gives, for each elementary stream PID, its frame duration in 90 kHz ticks;
    ``audio`` names the PIDs whose PES may be dropped. Call :meth:`begin` before the first
    packet of every process, :meth:`feed` with each packet, and :meth:`finish` when the
    process has ended (it releases anything still held).
    """

    def __init__(self, frames: Mapping[int, int], *, audio: frozenset[int] = frozenset()) -> None:
        self._frames = dict(frames)
        self._audio = audio
        self._rewriter = ContinuityRewriter()
        self._last_dts: dict[int, int] = {}
        self._last_end: dict[int, int] = {}  # last PTS + one frame, per stream
        self._last_pcr: int | None = None  # 27 MHz, unwrapped
        self._held: list[bytearray] = []
        self._holding = False
        self._first: dict[int, tuple[int, int]] = {}  # stream -> (pts, dts) of the process
        self._first_pcr: int | None = None
        self._dropping: set[int] = set()
        self.shift = 0
        self.shifted = 0  # processes that needed a shift
        self.dropped = 0  # audio PES dropped

    def begin(self) -> None:
        """The next packets come from a new process."""
        self._held.clear()
        self._holding = True
        self._first.clear()
        self._first_pcr = None
        self._dropping.clear()
        self.shift = 0

    def rewind(self) -> None:
        """Forget where the last process ended: the caller dropped packets that were not
        sent and places the next process after what was (continuity counters go on)."""
        self._last_dts.clear()
        self._last_end.clear()
        self._last_pcr = None

    def feed(self, packet: bytearray) -> list[bytearray]:
        """The packets ready to go out after ``packet`` (possibly none while holding)."""
        if not self._holding:
            return self._out(packet)
        self._note_first(packet)
        self._held.append(packet)
        if len(self._first) == len(self._frames) or len(self._held) >= HOLD_LIMIT:
            return self._release()
        return []

    def finish(self) -> list[bytearray]:
        """The process has ended: whatever is still held, ready to go out."""
        return self._release() if self._holding else []

    def _note_first(self, packet: bytearray) -> None:
        packet_pid = pid(packet)
        if self._first_pcr is None and (clock := pcr(packet)) is not None:
            self._first_pcr = clock
        if packet_pid in self._frames and packet_pid not in self._first:
            stamps = pes_timestamps(packet)
            if stamps is not None:
                self._first[packet_pid] = stamps

    def _release(self) -> list[bytearray]:
        self._holding = False
        self.shift = self._needed_shift()
        self.shifted += self.shift > 0
        ready: list[bytearray] = []
        for packet in self._held:
            ready += self._out(packet)
        self._held.clear()
        return ready

    def _needed_shift(self) -> int:
        """The smallest shift (≥ 0 ticks) that puts this process after the last one."""
        needed = 0
        for stream, (pts, dts) in self._first.items():
            last_dts = self._last_dts.get(stream)
            if last_dts is not None:
                needed = max(needed, last_dts + 1 - unwrap(dts, last_dts))
            last_end = self._last_end.get(stream)
            if last_end is not None:
                needed = max(needed, last_end - unwrap(pts, last_end))
        if self._first_pcr is not None and self._last_pcr is not None:
            first = self._last_pcr + _pcr_delta(self._first_pcr, self._last_pcr)
            needed = max(needed, -(-(self._last_pcr + 1 - first) // 300))
        return max(0, needed)

    def _out(self, packet: bytearray) -> list[bytearray]:
        """Shift, police and renumber one packet; [] when it is dropped."""
        shift_packet(packet, self.shift)
        packet_pid = pid(packet)
        if packet_pid in self._dropping and not unit_start(packet):
            return []
        self._dropping.discard(packet_pid)
        stamps = pes_timestamps(packet)
        if stamps is not None and packet_pid in self._frames:
            last = self._last_dts.get(packet_pid)
            dts = unwrap(stamps[1], last)
            if last is not None and dts <= last and packet_pid in self._audio:
                self._dropping.add(packet_pid)
                self.dropped += 1
                return []
            self._last_dts[packet_pid] = dts
            end = unwrap(stamps[0], dts) + self._frames[packet_pid]
            self._last_end[packet_pid] = max(end, self._last_end.get(packet_pid, end))
        clock = pcr(packet)
        if clock is not None:
            self._last_pcr = (
                clock
                if self._last_pcr is None
                else self._last_pcr + _pcr_delta(clock, self._last_pcr)
            )
        self._rewriter.rewrite(packet)
        return [packet]


def _pcr_delta(value: int, last: int) -> int:
    """``value - last`` for 27 MHz PCRs, across the wrap (nearest direction)."""
    wrap = _WRAP * 300
    delta = (value - last) % wrap
    return delta - wrap if delta > wrap // 2 else delta

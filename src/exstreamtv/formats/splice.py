"""Splicing per-process MPEG-TS into one stream whose clocks only ever go forward.

Each item of a channel is written by its own FFmpeg, offset (``-output_ts_offset``) to
start where the previous one ended. That offset is a good estimate but not a guarantee:
AAC priming starts the audio one frame (21 ms) before the offset, B-frame reordering
starts the video's DTS a frame or two before it, a killed process ends mid-GOP, and a
copied source brings timestamps of its own. Any of these can make a timestamp repeat or go
back at the splice, which freezes hls.js and set-top boxes.

The PCR must come at least every 100 ms (DVB recommends 40), and PAT and PMT as often:
across a splice the next process's first PCR can be a few frames after the last one
(B-frame reordering puts its first DTS after the last frame's PTS), so the splicer fills
such a gap every 40 ms with an adaptation-only packet that carries nothing but a PCR,
followed by the latest PAT and PMT. FFmpeg's own tables (``-pat_period``) are placed
before whole PES, so on the PCR's clock they come up to a frame later than asked for;
the splicer therefore also repeats the latest PAT and PMT after any PCR that comes
:data:`TABLE_EVERY` or more after the last table, which bounds the gap at that plus one
PCR interval (≤ 40 ms): under 100 ms, whatever FFmpeg does.

So the :class:`Splicer` holds the first packets of each new process until it has seen the
first timestamp of every elementary stream, then shifts the whole process (PTS, DTS and
PCR alike, so audio and video stay in sync) forward by the smallest amount that puts the
video strictly after the previous process (its first DTS after the last DTS, its first PTS
at or after the end of the last frame) and the first PCR after the last PCR. The shift is
zero when the offset was right.

Audio never moves the picture. An AAC encoder starts one frame (21 ms) before the offset
(priming) and ends up to a frame after the video (1024-sample frames do not divide a video
frame), so every transcoded process overlaps the last one's sound by about a frame;
shifting for that would put each item's picture 20-40 ms late against the guide, and a
frame more once rounded to whole frames. Instead an audio PES whose DTS would repeat or go
back, or that would start more than half a frame before the end of the last audio frame,
is dropped (21 ms of sound), never a video one; an overlap of less than half a frame is
kept (DTS still grow, and players absorb a few ms).

Continuity counters are renumbered across processes, per PID. All
timestamps are 90 kHz ticks unwrapped past the 33-bit wrap; what is written back is taken
modulo 2^33.
"""

from __future__ import annotations

from collections.abc import Mapping

from exstreamtv.formats.audio_frames import AudioFrames
from exstreamtv.formats.mpegts import (
    NULL_PID,
    PAT_PID,
    has_payload,
    pat_pmt_pid,
    payload_offset,
    pcr,
    pcr_packet,
    pes_timestamps,
    pid,
    unit_start,
)

_WRAP = 1 << 33
HOLD_LIMIT = 4096  # packets (770 KB): a keyframe of a 1080p high-bitrate source fits
PCR_FILL = 27_000_000 * 40 // 1000  # a PCR at least every 40 ms across a splice (DVB)
MAX_FILL = 27_000_000 * 30  # gaps longer than 30 s are not filled
TABLE_EVERY = 27_000_000 * 50 // 1000  # PAT and PMT again after a PCR 50 ms past the last


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


class StreamEdge:
    """Where a stream stands after the packets noted so far: per elementary stream the last
    DTS and the end of its last frame (the last PES's PTS + its frames), the last PCR, and
    every PID's next continuity counter. ``frames`` gives each stream's frame duration
    (90 kHz ticks); ``audio`` the codec (``aac``, ``ac3``) of each audio PID, whose PES
    may hold several frames (counted from their headers)."""

    def __init__(self, frames: Mapping[int, int], audio: Mapping[int, str] | None = None) -> None:
        self.frames = dict(frames)
        self.audio = dict(audio or {})
        self._pes: dict[int, tuple[int, AudioFrames]] = {}  # audio PID -> (PTS, its frames)
        self.last_dts: dict[int, int] = {}
        self.last_end: dict[int, int] = {}
        self.last_pcr: int | None = None  # 27 MHz, unwrapped
        self.last_table: int | None = None  # the last PCR before the latest PAT (27 MHz)
        self.counters: dict[int, int] = {}  # PID -> the continuity counter that comes next
        self.tables: dict[int, bytes] = {}  # the latest PAT and PMT packet, by PID
        self._pmt_pid: int | None = None

    def copy(self) -> StreamEdge:
        edge = StreamEdge(self.frames, self.audio)
        edge.last_dts, edge.last_end = dict(self.last_dts), dict(self.last_end)
        edge.last_pcr, edge.counters = self.last_pcr, dict(self.counters)
        edge.last_table = self.last_table
        edge.tables, edge._pmt_pid = dict(self.tables), self._pmt_pid
        return edge

    def overlaps(self, packet: bytes | bytearray) -> bool:
        """Whether ``packet`` starts a PES whose DTS is not after its stream's last one, or
        whose PTS is more than half a frame before the end of its stream's last frame."""
        stamps = pes_timestamps(packet)
        packet_pid = pid(packet)
        last = self.last_dts.get(packet_pid)
        if stamps is None or last is None:
            return False
        if unwrap(stamps[1], last) <= last:
            return True
        end = self.last_end.get(packet_pid)
        half = self.frames.get(packet_pid, 0) // 2
        return end is not None and unwrap(stamps[0], end) < end - half

    def note(self, packet: bytes | bytearray) -> None:
        """Move the edge past ``packet`` (already renumbered and shifted)."""
        packet_pid = pid(packet)
        if has_payload(packet):  # a packet without payload does not advance its counter
            self.counters[packet_pid] = ((packet[3] & 0x0F) + 1) & 0x0F
        if packet_pid == PAT_PID:
            self._pmt_pid = pat_pmt_pid(packet) or self._pmt_pid
            self.tables[PAT_PID] = bytes(packet)
            self.last_table = self.last_pcr
        elif packet_pid == self._pmt_pid:
            self.tables[packet_pid] = bytes(packet)
        stamps = pes_timestamps(packet) if packet_pid in self.frames else None
        if stamps is not None:
            dts = unwrap(stamps[1], self.last_dts.get(packet_pid))
            self.last_dts[packet_pid] = dts
            pts = unwrap(stamps[0], dts)
            self._end_at(packet_pid, pts + self.frames[packet_pid])
            codec = self.audio.get(packet_pid)
            if codec is not None:
                found = self._pes.get(packet_pid)
                counter = found[1] if found else AudioFrames(codec)
                counter.start()
                self._pes[packet_pid] = (pts, counter)
                at = payload_offset(packet)
                counter.feed(packet[at + 9 + packet[at + 8] :])
        elif packet_pid in self._pes and has_payload(packet):
            self._pes[packet_pid][1].feed(packet[payload_offset(packet) :])
        if packet_pid in self._pes:  # the PES's frames so far
            pts, counter = self._pes[packet_pid]
            self._end_at(packet_pid, pts + max(1, counter.frames) * self.frames[packet_pid])
        clock = pcr(packet)
        if clock is not None:
            last = self.last_pcr
            self.last_pcr = clock if last is None else last + _pcr_delta(clock, last)

    def _end_at(self, stream: int, end: int) -> None:
        self.last_end[stream] = max(end, self.last_end.get(stream, end))

    def shift_after(self, first: Mapping[int, tuple[int, int]], first_pcr: int | None) -> int:
        """The smallest shift (≥ 0 ticks) that puts a process whose streams start at
        ``first`` (PID -> (PTS, DTS)) and whose PCR starts at ``first_pcr`` after the edge.
        Audio streams count only when there is nothing else (see the module docstring)."""
        needed = 0
        pictures = {stream: at for stream, at in first.items() if stream not in self.audio}
        for stream, (pts, dts) in (pictures or first).items():
            last_dts = self.last_dts.get(stream)
            if last_dts is not None:
                needed = max(needed, last_dts + 1 - unwrap(dts, last_dts))
            last_end = self.last_end.get(stream)
            if last_end is not None:
                needed = max(needed, last_end - unwrap(pts, last_end))
        if first_pcr is not None and self.last_pcr is not None:
            first_clock = self.last_pcr + _pcr_delta(first_pcr, self.last_pcr)
            needed = max(needed, -(-(self.last_pcr + 1 - first_clock) // 300))
        return max(0, needed)


class Splicer:
    """Joins the outputs of consecutive processes (see the module docstring).

    ``frames`` gives, for each elementary stream PID, its frame duration in 90 kHz ticks;
    ``audio`` the codec of each audio PID (their PES may be dropped; their frames are
    counted). Call :meth:`begin` before the first
    packet of every process, :meth:`feed` with each packet, and :meth:`finish` when the
    process has ended (it releases anything still held).
    """

    def __init__(
        self, frames: Mapping[int, int], *, audio: Mapping[int, str] | None = None
    ) -> None:
        self._edge = StreamEdge(frames, audio)
        self._audio = frozenset(audio or {})
        self._held: list[bytearray] = []
        self._holding = False
        self._first: dict[int, tuple[int, int]] = {}  # stream -> (pts, dts) of the process
        self._first_pcr: int | None = None
        self._pcr_pid: int | None = None
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

    def rewind(self, edge: StreamEdge) -> None:
        """Continue from ``edge`` instead of from the last packet given out: the caller
        dropped what came after it (packets never sent) and the next process follows the
        packets that were."""
        self._edge = edge.copy()

    def feed(self, packet: bytearray) -> list[bytearray]:
        """The packets ready to go out after ``packet`` (possibly none while holding)."""
        if not self._holding:
            return self._out(packet)
        self._note_first(packet)
        self._held.append(packet)
        if len(self._first) == len(self._edge.frames) or len(self._held) >= HOLD_LIMIT:
            return self._release()
        return []

    def finish(self) -> list[bytearray]:
        """The process has ended: whatever is still held, ready to go out."""
        return self._release() if self._holding else []

    def _note_first(self, packet: bytearray) -> None:
        packet_pid = pid(packet)
        if self._first_pcr is None and (clock := pcr(packet)) is not None:
            self._first_pcr, self._pcr_pid = clock, packet_pid
        if packet_pid in self._edge.frames and packet_pid not in self._first:
            stamps = pes_timestamps(packet)
            if stamps is not None:
                self._first[packet_pid] = stamps

    def _release(self) -> list[bytearray]:
        self._holding = False
        self.shift = self._edge.shift_after(self._first, self._first_pcr)
        self.shifted += self.shift > 0
        ready = self._fill_pcr()
        for packet in self._held:
            ready += self._out(packet)
        self._held.clear()
        return ready

    def _fill_pcr(self) -> list[bytearray]:
        """PCR-only packets between the last PCR sent and this process's first, so no PCR
        interval across the splice exceeds :data:`PCR_FILL`."""
        edge, first, carrier = self._edge, self._first_pcr, self._pcr_pid
        if edge.last_pcr is None or first is None or carrier is None:
            return []
        counter = edge.counters.get(carrier)
        if counter is None:
            return []
        end = edge.last_pcr + _pcr_delta(first + self.shift * 300, edge.last_pcr)
        if end - edge.last_pcr > MAX_FILL:  # a jump of its own (a skip ahead): no filling it
            return []
        fill: list[bytearray] = []
        clock = edge.last_pcr + PCR_FILL
        while clock < end - PCR_FILL // 4:
            packet = pcr_packet(carrier, (counter - 1) & 0x0F, clock)
            edge.note(packet)
            fill.append(packet)
            fill += self._tables()  # PAT and PMT keep their pace too
            clock += PCR_FILL
        return fill

    def _tables(self) -> list[bytearray]:
        """Copies of the latest PAT and PMT, renumbered, as the next packets out."""
        copies: list[bytearray] = []
        for table in list(self._edge.tables.values()):
            copy = bytearray(table)
            _renumber(copy, self._edge.counters)
            self._edge.note(copy)
            copies.append(copy)
        return copies

    def _out(self, packet: bytearray) -> list[bytearray]:
        """Shift, police and renumber one packet; [] when it is dropped."""
        shift_packet(packet, self.shift)
        packet_pid = pid(packet)
        if packet_pid in self._dropping and not unit_start(packet):
            return []
        self._dropping.discard(packet_pid)
        if packet_pid in self._audio and self._edge.overlaps(packet):
            self._dropping.add(packet_pid)
            self.dropped += 1
            return []
        _renumber(packet, self._edge.counters)
        edge = self._edge
        edge.note(packet)
        due = (
            pcr(packet) is not None
            and edge.last_pcr is not None
            and edge.last_table is not None
            and edge.last_pcr - edge.last_table >= TABLE_EVERY
        )
        return [packet, *self._tables()] if due else [packet]


def _renumber(packet: bytearray, counters: Mapping[int, int]) -> None:
    """Give ``packet`` the continuity counter its PID expects next (the first packet of a PID
    keeps its own) and clear the discontinuity indicator FFmpeg sets on a process's first
    packets (``+initial_discontinuity``): a seamless splice is not a discontinuity."""
    packet_pid = pid(packet)
    if packet_pid == NULL_PID:
        return
    if packet[3] & 0x20 and packet[4] > 0:
        packet[5] &= 0x7F
    expected = counters.get(packet_pid)
    if expected is not None:  # a packet without payload repeats the last counter
        packet[3] = (packet[3] & 0xF0) | ((expected - (not has_payload(packet))) & 0x0F)


def _pcr_delta(value: int, last: int) -> int:
    """``value - last`` for 27 MHz PCRs, across the wrap (nearest direction)."""
    wrap = _WRAP * 300
    delta = (value - last) % wrap
    return delta - wrap if delta > wrap // 2 else delta

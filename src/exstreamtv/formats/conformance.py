"""An MPEG-TS conformance checker (ISO/IEC 13818-1), for captures of our own streams.

TSDuck is not packaged here, so this checks what players and set-top boxes trip over:

* a sync byte every 188 bytes;
* continuity counters per PID (+1 on every packet with a payload, none on adaptation-only
  packets; one duplicate packet is allowed; a set discontinuity indicator resets);
* per elementary stream, DTS strictly increasing (a repeat counts as an error) and
  PTS ≥ DTS (33-bit wrap-around is unwrapped);
* every PES arrives before it is decoded (the T-STD model): its DTS is not before the PCR
  in force when it starts;
* PCR strictly increasing, at most ``max_pcr_interval`` apart (100 ms in the standard;
  DVB recommends 40 ms);
* PAT and PMT at least every ``max_psi_interval`` of stream time (PCR time), 100 ms being
  the common practice;
* a clean start: the first packets are PAT, PMT, then the video keyframe (random access).

Times are seconds. Feed packets (or bytes) with :meth:`Conformance.feed`, then read
:meth:`Conformance.report`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exstreamtv.formats.mpegts import (
    CLOCK_HZ,
    NULL_PID,
    PACKET_SIZE,
    PAT_PID,
    PCR_HZ,
    SYNC_BYTE,
    continuity_counter,
    has_payload,
    pat_pmt_pid,
    pcr,
    pes_timestamps,
    pid,
    pmt_streams,
    random_access,
)

_TS_WRAP = 1 << 33
_PCR_WRAP = _TS_WRAP * 300
MAX_EXAMPLES = 20
_DVB_SI = range(0x10, 0x20)  # SDT, EIT...: informative tables that may come first


def _unwrap(value: int, last: int | None, wrap: int) -> int:
    """``value`` on a line that does not wrap, nearest to ``last``."""
    if last is None:
        return value
    delta = (value - last) % wrap
    if delta > wrap // 2:
        delta -= wrap
    return last + delta


@dataclass(slots=True)
class ConformanceReport:
    """What :class:`Conformance` found. ``problems`` holds up to 20 examples in order."""

    packets: int = 0
    sync_errors: int = 0
    continuity_errors: int = 0
    dts_repeats: int = 0
    dts_backwards: int = 0
    pts_before_dts: int = 0
    late_data: int = 0
    pcr_backwards: int = 0
    pcr_late: int = 0
    psi_late: int = 0
    max_pcr_interval: float = 0.0
    max_psi_interval: float = 0.0
    max_dts_step: float = 0.0
    clean_start: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Every violation counted (0 for a conformant stream)."""
        return (
            self.sync_errors
            + self.continuity_errors
            + self.dts_repeats
            + self.dts_backwards
            + self.pts_before_dts
            + self.late_data
            + self.pcr_backwards
            + self.pcr_late
            + self.psi_late
        )

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def summary(self) -> str:
        """One line of figures, then the first examples."""
        head = (
            f"{self.packets} packets, {self.errors} errors (sync {self.sync_errors}, cc "
            f"{self.continuity_errors}, dts repeat {self.dts_repeats}, dts back "
            f"{self.dts_backwards}, pts<dts {self.pts_before_dts}, late {self.late_data}, pcr back "
            f"{self.pcr_backwards}, pcr late {self.pcr_late}, psi late {self.psi_late}); "
            f"max PCR interval {self.max_pcr_interval * 1000:.1f} ms, max PSI interval "
            f"{self.max_psi_interval * 1000:.1f} ms, max DTS step {self.max_dts_step:.3f} s, "
            f"clean start {self.clean_start}"
        )
        return "\n".join([head, *self.problems])


class Conformance:
    """Checks a stream packet by packet (see the module docstring)."""

    def __init__(
        self,
        *,
        max_pcr_interval: float = 0.1,
        max_psi_interval: float = 0.1,
        video_pid: int | None = None,
    ) -> None:
        self.report = ConformanceReport()
        self._max_pcr = max_pcr_interval
        self._max_psi = max_psi_interval
        self._video_pid = video_pid
        self._pmt_pid: int | None = None
        self._counters: dict[int, int] = {}
        self._duplicate: dict[int, bool] = {}
        self._dts: dict[int, int] = {}
        self._pcr: int | None = None
        self._pcr_at: int | None = None  # packet number of the last PCR
        self._psi_seen: dict[int, int] = {}  # PID -> stream time (27 MHz) when last seen
        self._pending_psi: list[tuple[int, int]] = []  # (PID, packet number) since the PCR
        self._start: list[str] = []  # the kinds of the first packets, for clean_start
        self._rest = b""

    def feed(self, data: bytes) -> None:
        """Check ``data`` (any length; a partial packet waits for the next call)."""
        data = self._rest + data
        end = len(data) - len(data) % PACKET_SIZE
        for at in range(0, end, PACKET_SIZE):
            self.packet(data[at : at + PACKET_SIZE])
        self._rest = data[end:]

    def packet(self, packet: bytes | bytearray) -> None:
        """Check one 188-byte packet."""
        report = self.report
        report.packets += 1
        if packet[0] != SYNC_BYTE:
            report.sync_errors += 1
            self._problem(f"packet {report.packets}: no sync byte")
            return
        packet_pid = pid(packet)
        if packet_pid == NULL_PID:
            return
        self._tables(packet, packet_pid)
        self._continuity(packet, packet_pid)
        clock = pcr(packet)
        if clock is not None:
            self._clock(clock)
        stamps = pes_timestamps(packet)
        if stamps is not None:
            self._timestamps(packet_pid, *stamps)
        if len(self._start) < 3 and not _DVB_SI.start <= packet_pid < _DVB_SI.stop:
            self._opening(packet, packet_pid)

    def _problem(self, text: str) -> None:
        if len(self.report.problems) < MAX_EXAMPLES:
            self.report.problems.append(text)

    def _tables(self, packet: bytes | bytearray, packet_pid: int) -> None:
        if packet_pid == PAT_PID:
            found = pat_pmt_pid(packet)
            if found is not None:
                self._pmt_pid = found
        elif packet_pid == self._pmt_pid and self._video_pid is None:
            streams = pmt_streams(packet) or ()
            video = [stream for stream, kind in streams if kind in (0x01, 0x02, 0x1B, 0x24)]
            self._video_pid = video[0] if video else None
        if packet_pid in (PAT_PID, self._pmt_pid) and self._pcr is not None:
            self._pending_psi.append((packet_pid, self.report.packets))

    def _time_tables(self, clock: int) -> None:
        """Time the tables seen since the last PCR by interpolating, on packet position,
        between that PCR and ``clock`` (the PCR of the current packet)."""
        if self._pcr is None or self._pcr_at is None:
            self._pending_psi.clear()
            return
        span = self.report.packets - self._pcr_at
        for table_pid, position in self._pending_psi:
            at = self._pcr + (clock - self._pcr) * (position - self._pcr_at) // max(1, span)
            last = self._psi_seen.get(table_pid)
            if last is not None:
                gap = (at - last) / PCR_HZ
                self.report.max_psi_interval = max(self.report.max_psi_interval, gap)
                if gap > self._max_psi:
                    self.report.psi_late += 1
                    self._problem(f"pid {table_pid:#x}: table {gap * 1000:.0f} ms after the last")
            self._psi_seen[table_pid] = at
        self._pending_psi.clear()

    def _continuity(self, packet: bytes | bytearray, packet_pid: int) -> None:
        counter = continuity_counter(packet)
        last = self._counters.get(packet_pid)
        discontinuity = packet[3] & 0x20 and packet[4] > 0 and packet[5] & 0x80
        if last is not None and not discontinuity:
            expected = (last + 1) & 0x0F if has_payload(packet) else last
            if counter != expected:
                duplicate = has_payload(packet) and counter == last
                if duplicate and not self._duplicate.get(packet_pid):
                    self._duplicate[packet_pid] = True
                    return
                self.report.continuity_errors += 1
                self._problem(f"pid {packet_pid:#x}: continuity {counter} after {last}")
        self._duplicate[packet_pid] = False
        self._counters[packet_pid] = counter

    def _clock(self, value: int) -> None:
        report = self.report
        value = _unwrap(value, self._pcr, _PCR_WRAP)
        if self._pcr is not None:
            gap = (value - self._pcr) / PCR_HZ
            if gap <= 0:
                report.pcr_backwards += 1
                self._problem(f"PCR went back {-gap * 1000:.1f} ms")
            else:
                report.max_pcr_interval = max(report.max_pcr_interval, gap)
                if gap > self._max_pcr:
                    report.pcr_late += 1
                    self._problem(f"PCR interval {gap * 1000:.1f} ms")
        self._time_tables(value)
        self._pcr, self._pcr_at = value, report.packets

    def _timestamps(self, packet_pid: int, pts: int, dts: int) -> None:
        report = self.report
        last = self._dts.get(packet_pid)
        dts = _unwrap(dts, last, _TS_WRAP)
        pts = _unwrap(pts, dts, _TS_WRAP)
        if pts < dts:
            report.pts_before_dts += 1
            self._problem(f"pid {packet_pid:#x}: PTS {pts} before DTS {dts}")
        if self._pcr is not None and dts * 300 < self._pcr:
            report.late_data += 1
            late = (self._pcr - dts * 300) / PCR_HZ
            self._problem(f"pid {packet_pid:#x}: data arrives {late * 1000:.1f} ms after its DTS")
        if last is not None:
            step = (dts - last) / CLOCK_HZ
            report.max_dts_step = max(report.max_dts_step, step)
            if dts == last:
                report.dts_repeats += 1
                self._problem(f"pid {packet_pid:#x}: DTS {dts} repeated")
            elif dts < last:
                report.dts_backwards += 1
                self._problem(f"pid {packet_pid:#x}: DTS went back {-step * 1000:.1f} ms")
        self._dts[packet_pid] = dts

    def _opening(self, packet: bytes | bytearray, packet_pid: int) -> None:
        """Record the first PAT, PMT and video packet: a clean start is them, in order,
        with the video packet a random access point."""
        if packet_pid == PAT_PID:
            kind = "pat"
        elif packet_pid == self._pmt_pid:
            kind = "pmt"
        elif packet_pid == self._video_pid or (self._video_pid is None and random_access(packet)):
            kind = "key" if random_access(packet) else "video"
        else:
            kind = "other"
        self._start.append(kind)
        if len(self._start) == 3:
            self.report.clean_start = self._start == ["pat", "pmt", "key"]


def check_stream(
    data: bytes, *, max_pcr_interval: float = 0.1, max_psi_interval: float = 0.1
) -> ConformanceReport:
    """Check a whole capture at once (see :class:`Conformance`)."""
    checker = Conformance(max_pcr_interval=max_pcr_interval, max_psi_interval=max_psi_interval)
    checker.feed(data)
    return checker.report

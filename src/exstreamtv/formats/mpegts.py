"""MPEG transport stream packets (ISO/IEC 13818-1): read, inspect and splice.

Pure bit operations on 188-byte packets. The stream pipeline uses them to cut FFmpeg's
output into packets, find keyframes (the random-access indicator), read PCR/PTS/DTS for
pacing, and keep continuity counters running across the boundary between two FFmpeg
processes so that the channel is one seamless stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

PACKET_SIZE = 188
SYNC_BYTE = 0x47
PAT_PID = 0x0000
NULL_PID = 0x1FFF
CLOCK_HZ = 90_000  # PTS/DTS units
PCR_HZ = 27_000_000


def pid(packet: bytes | bytearray) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def unit_start(packet: bytes | bytearray) -> bool:
    """Payload unit start indicator: a PES packet or PSI section begins here."""
    return bool(packet[1] & 0x40)


def continuity_counter(packet: bytes | bytearray) -> int:
    return packet[3] & 0x0F


def has_payload(packet: bytes | bytearray) -> bool:
    return bool(packet[3] & 0x10)


def _adaptation_length(packet: bytes | bytearray) -> int:
    """Length of the adaptation field (0 when there is none)."""
    return packet[4] if packet[3] & 0x20 else 0


def random_access(packet: bytes | bytearray) -> bool:
    """True when the adaptation field flags a random access point (a keyframe starts)."""
    return _adaptation_length(packet) > 0 and bool(packet[5] & 0x40)


def pcr(packet: bytes | bytearray) -> int | None:
    """The program clock reference in 27 MHz units, if this packet carries one."""
    if _adaptation_length(packet) < 7 or not packet[5] & 0x10:
        return None
    base = (packet[6] << 25) | (packet[7] << 17) | (packet[8] << 9) | (packet[9] << 1)
    base |= packet[10] >> 7
    extension = ((packet[10] & 0x01) << 8) | packet[11]
    return base * 300 + extension


def pcr_packet(packet_pid: int, counter: int, value: int) -> bytearray:
    """An adaptation-only packet on ``packet_pid`` that carries the PCR ``value`` (27 MHz)
    and no payload; ``counter`` is the PID's current continuity counter (a packet without
    payload does not advance it)."""
    base, extension = divmod(value % ((1 << 33) * 300), 300)
    header = [SYNC_BYTE, (packet_pid >> 8) & 0x1F, packet_pid & 0xFF, 0x20 | (counter & 0x0F)]
    adaptation = [
        183, 0x10, (base >> 25) & 0xFF, (base >> 17) & 0xFF, (base >> 9) & 0xFF,
        (base >> 1) & 0xFF, ((base & 0x01) << 7) | 0x7E | (extension >> 8), extension & 0xFF,
    ]  # fmt: skip
    return bytearray(bytes(header + adaptation) + b"\xff" * (PACKET_SIZE - 12))


def payload_offset(packet: bytes | bytearray) -> int:
    """Index of the first payload byte (188 when there is no payload)."""
    if not has_payload(packet):
        return PACKET_SIZE
    return 4 + (1 + _adaptation_length(packet) if packet[3] & 0x20 else 0)


def _timestamp(data: bytes | bytearray, at: int) -> int:
    return (
        ((data[at] & 0x0E) << 29)
        | (data[at + 1] << 22)
        | ((data[at + 2] & 0xFE) << 14)
        | (data[at + 3] << 7)
        | (data[at + 4] >> 1)
    )


def pes_timestamps(packet: bytes | bytearray) -> tuple[int, int] | None:
    """``(pts, dts)`` in 90 kHz units when a PES header with a PTS starts in this packet
    (``dts`` equals ``pts`` when the header has none); otherwise ``None``."""
    if not unit_start(packet):
        return None
    at = payload_offset(packet)
    if at + 14 > PACKET_SIZE or packet[at : at + 3] != b"\x00\x00\x01":
        return None
    flags = packet[at + 7] >> 6
    if not flags & 0x2:
        return None
    pts = _timestamp(packet, at + 9)
    dts = _timestamp(packet, at + 14) if flags == 0x3 and at + 19 <= PACKET_SIZE else pts
    return pts, dts


class PacketSplitter:
    """Cuts a byte stream into whole packets, resynchronising on the sync byte.

    Data arrives in arbitrary chunks (pipe reads); a partial packet waits for the rest.
    Bytes that do not start with 0x47 are skipped until a sync byte that is followed by
    another one 188 bytes later (or the end of the buffer) is found; ``dropped`` counts them.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> Iterator[bytearray]:
        self._buffer += data
        buffer, at = self._buffer, 0
        while len(buffer) - at >= PACKET_SIZE:
            if buffer[at] != SYNC_BYTE or (
                len(buffer) - at > PACKET_SIZE and buffer[at + PACKET_SIZE] != SYNC_BYTE
            ):
                at += 1
                self.dropped += 1
                continue
            yield bytearray(buffer[at : at + PACKET_SIZE])
            at += PACKET_SIZE
        del buffer[:at]


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """The programme's PMT PID and its elementary streams ``(pid, stream_type)``."""

    pmt_pid: int
    streams: tuple[tuple[int, int], ...]


def _section(packet: bytes | bytearray) -> bytes | None:
    if not unit_start(packet):
        return None
    at = payload_offset(packet)
    if at >= PACKET_SIZE:
        return None
    start = at + 1 + packet[at]  # skip the pointer field
    if start + 3 > PACKET_SIZE:
        return None
    length = ((packet[start + 1] & 0x0F) << 8) | packet[start + 2]
    return bytes(packet[start : min(PACKET_SIZE, start + 3 + length)])


def pat_pmt_pid(packet: bytes | bytearray) -> int | None:
    """The PMT PID of the first programme in a PAT packet."""
    section = _section(packet) if pid(packet) == PAT_PID else None
    if section is None or len(section) < 16 or section[0] != 0x00:
        return None
    for at in range(8, len(section) - 4 - 3, 4):
        if (section[at] << 8 | section[at + 1]) != 0:  # program 0 is the network PID
            return ((section[at + 2] & 0x1F) << 8) | section[at + 3]
    return None


def pmt_streams(packet: bytes | bytearray) -> tuple[tuple[int, int], ...] | None:
    """``(pid, stream_type)`` of each elementary stream in a PMT packet."""
    section = _section(packet)
    if section is None or len(section) < 16 or section[0] != 0x02:
        return None
    info_length = ((section[10] & 0x0F) << 8) | section[11]
    at, end, streams = 12 + info_length, len(section) - 4, []
    while at + 5 <= end:
        stream_type = section[at]
        stream_pid = ((section[at + 1] & 0x1F) << 8) | section[at + 2]
        streams.append((stream_pid, stream_type))
        at += 5 + (((section[at + 3] & 0x0F) << 8) | section[at + 4])
    return tuple(streams)

"""The GOP cache a joining viewer (and a new HLS ring) starts from."""

from __future__ import annotations

from exstreamtv.domain.profiles import PMT_PID, VIDEO_PID
from exstreamtv.formats.mpegts import PACKET_SIZE, PAT_PID
from exstreamtv.playback.pacer import GopCache


def packet(packet_pid: int, counter: int, *, keyframe: bool = False) -> bytes:
    header = bytes([0x47, packet_pid >> 8, packet_pid & 0xFF, 0x30 | (counter & 0x0F)])
    adaptation = bytes([1, 0x40 if keyframe else 0x00])
    return header + adaptation + b"\xff" * (PACKET_SIZE - 6)


def test_the_prelude_is_the_tables_then_the_gop_from_its_keyframe() -> None:
    cache = GopCache()
    for counter in range(3):
        cache.add(packet(VIDEO_PID, counter))  # before any keyframe: not cached
    cache.add(packet(PAT_PID, 0))
    cache.add(packet(PMT_PID, 0))
    gop = [packet(VIDEO_PID, 3, keyframe=True), *(packet(VIDEO_PID, n) for n in range(4, 9))]
    for item in gop:
        cache.add(item)
    assert cache.prelude() == packet(PAT_PID, 0) + packet(PMT_PID, 0) + b"".join(gop)


def test_a_gop_too_long_to_keep_is_dropped_whole_never_cut() -> None:
    cache = GopCache(limit=10 * PACKET_SIZE)
    cache.add(packet(PAT_PID, 0))
    cache.add(packet(PMT_PID, 0))
    cache.add(packet(VIDEO_PID, 0, keyframe=True))
    for counter in range(1, 30):
        cache.add(packet(VIDEO_PID, counter))
    # A prelude with a hole would break continuity before the live edge: none at all.
    assert cache.prelude() == b""
    cache.add(packet(VIDEO_PID, 30, keyframe=True))
    assert cache.prelude().endswith(packet(VIDEO_PID, 30, keyframe=True))

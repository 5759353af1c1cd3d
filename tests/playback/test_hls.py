"""HLS segments cut from real FFmpeg MPEG-TS: keyframe starts, PAT/PMT first, a sliding
window, and a playlist that ffprobe can read."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exstreamtv.formats.mpegts import PacketSplitter, pat_pmt_pid, pid, random_access
from exstreamtv.playback.hls import SegmentRing

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    target = tmp_path_factory.mktemp("hls") / "ten.ts"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-streamid", "0:256", "-streamid", "1:257",
         "-mpegts_pmt_start_pid", "4096", "-muxdelay", "0", "-muxpreload", "0",
         "-f", "mpegts", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return target.read_bytes()


def feed_all(ring: SegmentRing, data: bytes) -> None:
    for index, packet in enumerate(PacketSplitter().feed(data)):
        ring.feed(packet, START + timedelta(milliseconds=index))


def test_segments_start_with_tables_and_a_keyframe_and_last_four_seconds_after_the_first(
    ten_seconds: bytes,
) -> None:
    ring = SegmentRing(target_seconds=4.0, window=6)
    feed_all(ring, ten_seconds)
    segments = [ring.segment(n) for n in range(2)]
    assert all(segments)
    for segment in segments:
        assert segment is not None
        packets = list(PacketSplitter().feed(bytes(segment.data)))
        assert pat_pmt_pid(packets[0]) == 0x1000
        assert pid(packets[1]) == 0x1000
        assert pid(packets[2]) == 0x100 and random_access(packets[2])
    # the first segment ends at the second keyframe (one 2 s GOP), so players start early
    assert [round(s.duration, 1) for s in segments if s] == [2.0, 4.0]


def test_window_keeps_only_the_latest_segments(ten_seconds: bytes) -> None:
    ring = SegmentRing(target_seconds=2.0, window=2)
    feed_all(ring, ten_seconds)
    assert ring.segment(0) is None
    playlist = ring.playlist("/seg/{sequence}.ts")
    assert playlist is not None
    assert "#EXT-X-MEDIA-SEQUENCE:2" in playlist
    assert playlist.count("#EXTINF:") == 2
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-06-01T12:00:" in playlist


def test_no_playlist_before_the_first_complete_segment() -> None:
    assert SegmentRing().playlist("/s/{sequence}.ts") is None


def test_ffprobe_reads_the_playlist_and_segments(ten_seconds: bytes, tmp_path: Path) -> None:
    ring = SegmentRing(target_seconds=2.0, window=10)
    feed_all(ring, ten_seconds)
    playlist = ring.playlist("seg{sequence}.ts")
    assert playlist is not None
    for sequence in range(10):
        segment = ring.segment(sequence)
        if segment is not None:
            (tmp_path / f"seg{sequence}.ts").write_bytes(segment.data)
    # A live playlist has no end; closed here so the readers finish instead of waiting.
    (tmp_path / "live.m3u8").write_text(playlist + "#EXT-X-ENDLIST\n")
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(tmp_path / "live.m3u8")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"h264", "aac"}
    report = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "warning", "-i", str(tmp_path / "live.m3u8"),
         "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "corrupt" not in report.stderr.lower()

"""HLS segments: keyframe starts, PAT/PMT first, a sliding window, a target duration that
never changes and bounds every segment (RFC 8216), dates that follow the media, and a
playlist that the m3u8 parser and ffprobe read."""

from __future__ import annotations

import itertools
import math
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import m3u8
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.domain.catchup import CatchupSpan
from exstreamtv.domain.profiles import VIDEO_PID
from exstreamtv.formats.mpegts import PacketSplitter, pat_pmt_pid, pid, random_access
from exstreamtv.playback.hls import SLACK_SECONDS, SegmentRing, span_playlist

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HZ = 90_000


def wall_of(pts: int) -> datetime:
    """The guide's time of a frame: the stream starts at START."""
    return START + timedelta(seconds=pts / HZ)


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
    for packet in PacketSplitter().feed(data):
        ring.feed(packet)


def video_packet(pts: int, *, keyframe: bool) -> bytes:
    """A minimal video packet that starts a PES with ``pts`` (a keyframe when asked)."""
    stamp = pts % (1 << 33)
    pes = bytes(
        [0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5,
         0x21 | ((stamp >> 29) & 0x0E), (stamp >> 22) & 0xFF, ((stamp >> 14) & 0xFE) | 1,
         (stamp >> 7) & 0xFF, ((stamp << 1) & 0xFE) | 1]
    )  # fmt: skip
    adaptation = bytes([1, 0x40 if keyframe else 0x00])
    header = bytes([0x47, 0x40 | (VIDEO_PID >> 8), VIDEO_PID & 0xFF, 0x30])
    body = header + adaptation + pes
    return body + b"\xff" * (188 - len(body))


def frames(gops: list[float], fps: int = 25) -> list[bytes]:
    """Video packets for GOPs of the given lengths (seconds, whole frames), back to back."""
    packets, pts = [], 10 * HZ
    for length in gops:
        count = max(1, round(length * fps))
        for frame in range(count):
            packets.append(video_packet(pts, keyframe=frame == 0))
            pts += HZ // fps
    return packets


def test_segments_start_with_tables_and_a_keyframe_and_last_the_target(
    ten_seconds: bytes,
) -> None:
    ring = SegmentRing(target_seconds=4.0, window=6, gop_seconds=2.0)
    feed_all(ring, ten_seconds)
    segments = [ring.segment(n) for n in range(2)]
    assert all(segments)
    for segment in segments:
        assert segment is not None
        packets = list(PacketSplitter().feed(bytes(segment.data)))
        assert pat_pmt_pid(packets[0]) == 0x1000
        assert pid(packets[1]) == 0x1000
        first_video = next(p for p in packets if pid(p) == VIDEO_PID)
        assert random_access(first_video)
    assert [round(s.duration, 2) for s in segments if s] == [4.0, 4.0]


def test_window_keeps_only_the_latest_segments(ten_seconds: bytes) -> None:
    ring = SegmentRing(target_seconds=2.0, window=2, gop_seconds=2.0, wall_of=wall_of)
    feed_all(ring, ten_seconds)
    assert ring.segment(0) is None
    playlist = ring.playlist("/seg/{sequence}.ts")
    assert playlist is not None
    assert "#EXT-X-MEDIA-SEQUENCE:2" in playlist
    assert playlist.count("#EXTINF:") == 2
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-06-01T12:00:" in playlist


def test_no_playlist_before_the_first_complete_segment() -> None:
    assert SegmentRing().playlist("/s/{sequence}.ts") is None


@given(
    gops=st.lists(st.floats(min_value=0.04, max_value=2.0), min_size=5, max_size=60),
    target=st.sampled_from([1.0, 2.0, 4.0, 6.0]),
)
def test_target_duration_never_changes_and_bounds_every_segment(
    gops: list[float], target: float
) -> None:
    """Splices make GOPs of any length up to the profile's: the playlist's target duration
    stays the same from the first playlist to the last, and every segment rounds to at
    most it, each starting on a keyframe."""
    ring = SegmentRing(target_seconds=target, window=100, gop_seconds=2.0, wall_of=wall_of)
    targets = set()
    for packet in frames(gops):
        ring.feed(packet)
        text = ring.playlist("{sequence}.ts")
        if text is not None:
            targets.add(m3u8.loads(text).target_duration)
    assert len(targets) <= 1
    text = ring.playlist("{sequence}.ts")
    if text is None:
        return
    parsed = m3u8.loads(text)
    effective = max(target, 2.0)  # a segment holds at least one GOP of the profile
    assert parsed.target_duration == math.ceil(effective)
    for segment in parsed.segments:
        assert round(segment.duration) <= parsed.target_duration
        assert segment.duration <= effective + SLACK_SECONDS + 1e-6
        found = ring.segment(int(segment.uri.split(".")[0]))
        assert found is not None
        first_video = next(p for p in PacketSplitter().feed(bytes(found.data)))
        assert random_access(first_video)


@given(gops=st.lists(st.floats(min_value=4.0, max_value=12.0), min_size=2, max_size=8))
def test_long_source_gops_are_cut_at_the_target_anyway(gops: list[float]) -> None:
    """A copied source may have keyframes 10 s apart: segments still keep the target."""
    ring = SegmentRing(target_seconds=4.0, window=100, independent=False, wall_of=wall_of)
    for packet in frames(gops):
        ring.feed(packet)
    text = ring.playlist("{sequence}.ts")
    assert text is not None
    parsed = m3u8.loads(text)
    assert not parsed.is_independent_segments
    assert all(round(s.duration) <= parsed.target_duration == 4 for s in parsed.segments)


def test_dates_follow_the_media_and_the_sequence_starts_where_told(ten_seconds: bytes) -> None:
    ring = SegmentRing(
        target_seconds=2.0, window=10, gop_seconds=2.0, first_sequence=500, wall_of=wall_of
    )
    feed_all(ring, ten_seconds)
    text = ring.playlist("{sequence}.ts")
    assert text is not None
    parsed = m3u8.loads(text)
    assert parsed.media_sequence == 500
    assert parsed.discontinuity_sequence == 0
    dates = [segment.current_program_date_time for segment in parsed.segments]
    for (before, after), segment in zip(itertools.pairwise(dates), parsed.segments, strict=False):
        assert (after - before).total_seconds() == pytest.approx(segment.duration, abs=0.0011)
    # the first frame of the capture is PTS 0 + FFmpeg's start: its date is START plus that
    first = ring.segment(500)
    assert first is not None
    assert abs((dates[0] - wall_of(first.first_pts)).total_seconds()) < 0.001  # ms precision


def test_ffprobe_reads_the_playlist_and_segments(ten_seconds: bytes, tmp_path: Path) -> None:
    ring = SegmentRing(target_seconds=2.0, window=10, gop_seconds=2.0, wall_of=wall_of)
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


@given(
    st.integers(min_value=1, max_value=3_600_000),
    st.integers(min_value=-10_000, max_value=4_000_000),
)
def test_a_catch_up_playlist_lists_what_has_aired_on_its_grid_and_ends_once_all_has(
    length_ms: int, elapsed_ms: int
) -> None:
    start_ms = int(START.timestamp() * 1000)
    span = CatchupSpan(start_ms, start_ms + length_ms)
    text = span_playlist(span, start_ms + elapsed_ms, "s/{sequence}.ts")
    playlist = m3u8.loads(text)
    done = elapsed_ms >= length_ms

    assert playlist.playlist_type == ("vod" if done else "event")
    assert playlist.is_endlist is done
    assert len(playlist.segments) == span.aired_segments(start_ms + elapsed_ms)
    assert playlist.target_duration >= max((s.duration for s in playlist.segments), default=0)
    for sequence, segment in enumerate(playlist.segments):
        part = span.segment(sequence)
        assert segment.uri == f"s/{sequence}.ts"
        assert segment.current_program_date_time == START + timedelta(
            milliseconds=part.start_ms - start_ms
        )
        assert segment.duration == pytest.approx(part.duration_ms / 1000)
    if done:
        assert sum(s.duration for s in playlist.segments) == pytest.approx(length_ms / 1000)

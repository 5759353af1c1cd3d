"""The splicer on real FFmpeg output and on hostile timestamps: continuity counters run on,
and per stream DTS only ever grows, PTS never falls behind the end of the last frame and the
PCR only grows, whatever offsets the processes were given."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import PacketSplitter, pcr, pes_timestamps, pid
from exstreamtv.formats.splice import Splicer, StreamEdge, shift_packet, unwrap
from tests.playback.test_hls import video_packet

VIDEO, AUDIO = 256, 257
FRAMES = {VIDEO: 3600, AUDIO: 1920}  # 25 fps; 1024 samples at 48 kHz


def transcode_ts(source: Path, target: Path, *, offset: float) -> bytes:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "aac",
         "-muxdelay", "0.1", "-muxpreload", "0", "-mpegts_copyts", "1",
         "-output_ts_offset", str(offset),
         "-pcr_period", "20", "-pat_period", "0.075", "-pes_payload_size", "0",
         "-streamid", "0:256", "-streamid", "1:257", "-f", "mpegts", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return target.read_bytes()


def splice(items: list[bytes], splicer: Splicer | None = None) -> bytes:
    splicer = splicer or Splicer(FRAMES, audio={AUDIO: "aac"})
    out = bytearray()
    for item in items:
        splicer.begin()
        for packet in PacketSplitter().feed(item):
            out += b"".join(splicer.feed(packet))
        out += b"".join(splicer.finish())
    return bytes(out)


def decode_warnings(data: bytes, tmp_path: Path) -> str:
    target = tmp_path / "spliced.ts"
    target.write_bytes(data)
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "warning", "-i", str(target), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stderr  # fmt: skip


@pytest.fixture(scope="module")
def items(
    tmp_path_factory: pytest.TempPathFactory, clip_cache: dict[float, Path]
) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("splice")
    return {
        "at 10": transcode_ts(clip_cache[1.0], folder / "a.ts", offset=10.0),
        "at 11": transcode_ts(clip_cache[1.0], folder / "b.ts", offset=11.0),
        "at 10 again": transcode_ts(clip_cache[2.0], folder / "c.ts", offset=10.0),
    }


def test_items_offset_end_to_end_splice_without_a_shift_and_decode_cleanly(
    items: dict[str, bytes], tmp_path: Path
) -> None:
    splicer = Splicer(FRAMES, audio={AUDIO: "aac"})
    data = splice([items["at 10"], items["at 11"]], splicer)
    report = check_stream(data)
    assert report.ok, report.summary()
    assert decode_warnings(data, tmp_path) == ""
    # AAC priming and the last audio frame overlap the neighbour's sound by about a
    # frame: that sound is dropped, the picture is not moved (it would lag the guide).
    assert splicer.shifted == 0
    assert splicer.dropped >= 1


def test_an_item_given_an_offset_in_the_past_is_moved_after_the_last(
    items: dict[str, bytes], tmp_path: Path
) -> None:
    """The second process was told to start where the first did (a killed process, a
    copied source): without the splicer its clocks would go back a whole second."""
    naive = items["at 10"] + items["at 10 again"]
    assert not check_stream(naive).ok
    splicer = Splicer(FRAMES, audio={AUDIO: "aac"})
    data = splice([items["at 10"], items["at 10 again"]], splicer)
    report = check_stream(data)
    assert report.ok, report.summary()
    assert splicer.shifted == 1 and splicer.shift >= 90_000
    assert decode_warnings(data, tmp_path) == ""


def test_rewinding_continues_after_what_was_sent(items: dict[str, bytes]) -> None:
    """Packets given out but never sent are forgotten: the next process follows the edge of
    what was sent, counters and clocks alike."""
    sent = StreamEdge(FRAMES, {AUDIO: "aac"})
    splicer = Splicer(FRAMES, audio={AUDIO: "aac"})
    first = splice([items["at 10"]], splicer)
    half = first[: len(first) // 2 // 188 * 188]
    for at in range(0, len(half), 188):
        sent.note(half[at : at + 188])
    splicer.rewind(sent)
    rest = splice([items["at 10 again"]], splicer)
    report = check_stream(half + rest)
    assert report.ok, report.summary()


def audio_packet(pts: int) -> bytes:
    """A minimal audio packet starting a PES with ``pts``."""
    data = bytearray(video_packet(pts, keyframe=False))
    data[1], data[2], data[3] = 0x40 | (AUDIO >> 8), AUDIO & 0xFF, 0x30
    data[9] = 0xC0  # an audio stream id
    return bytes(data)


@given(
    starts=st.lists(
        st.tuples(st.integers(0, 5 * 90_000), st.integers(-3 * 1920, 3 * 1920)),
        min_size=2,
        max_size=8,
    )
)
def test_clocks_only_move_forward_whatever_the_processes_bring(
    starts: list[tuple[int, int]],
) -> None:
    """Each "process" brings five video frames from ``start`` and audio from ``start +
    skew``: after splicing, DTS and PCR only grow and audio never repeats."""
    splicer = Splicer(FRAMES, audio={AUDIO: "aac"})
    out: list[bytearray] = []
    for start, skew in starts:
        splicer.begin()
        for frame in range(5):
            video = bytearray(video_packet(start + frame * 3600, keyframe=frame == 0))
            _add_pcr(video, (start + frame * 3600) * 300)
            out += splicer.feed(video)
            out += splicer.feed(bytearray(audio_packet(start + skew + frame * 1920)))
        out += splicer.finish()
    last: dict[int, int] = {}
    clock = None
    for packet in out:
        stamps = pes_timestamps(packet)
        if stamps is not None:
            dts = unwrap(stamps[1], last.get(pid(packet)))
            assert pid(packet) not in last or dts > last[pid(packet)]
            last[pid(packet)] = dts
        found = pcr(packet)
        if found is not None:
            assert clock is None or found > clock
            clock = found


def _add_pcr(packet: bytearray, value: int) -> None:
    """Give a packet made by :func:`video_packet` a PCR (its adaptation field grows)."""
    payload = bytes(packet[6:])
    packet[4], packet[5] = 7, 0x10 | (packet[5] & 0x40)
    packet[6:12] = b"\x00" * 6
    packet[12:] = payload[: 188 - 12]
    base, extension = divmod(value, 300)
    packet[6:12] = bytes(
        [base >> 25 & 0xFF, base >> 17 & 0xFF, base >> 9 & 0xFF, base >> 1 & 0xFF,
         (base & 1) << 7 | 0x7E | extension >> 8, extension & 0xFF]
    )  # fmt: skip


def test_shifting_moves_pcr_pts_and_dts_alike() -> None:
    packet = bytearray(video_packet(90_000, keyframe=True))
    _add_pcr(packet, 90_000 * 300)
    shift_packet(packet, 4500)
    assert pcr(packet) == 94_500 * 300
    assert pes_timestamps(packet) == (94_500, 94_500)


def test_a_pcr_gap_across_a_splice_is_filled_every_40_ms(items: dict[str, bytes]) -> None:
    """The second process starts 0.3 s after the first ends: PCR-only packets keep the PCR
    interval at 40 ms across the gap, and decoders see nothing else."""
    later = bytearray()
    for packet in PacketSplitter().feed(items["at 11"]):
        shift_packet(packet, 27_000)  # 0.3 s later
        later += packet
    data = splice([items["at 10"], bytes(later)])
    report = check_stream(data, max_pcr_interval=0.0401)
    assert report.ok, report.summary()


def test_pat_and_pmt_come_every_100_ms_whatever_ffmpeg_spaces_them(
    items: dict[str, bytes],
) -> None:
    """A process whose tables come only at its start and end (FFmpeg places them before
    whole PES, so its own spacing drifts past the 100 ms it was asked for): the splicer
    repeats the latest PAT and PMT so no gap on the PCR's clock reaches 100 ms."""
    packets = list(PacketSplitter().feed(items["at 10"]))
    tables = [n for n, packet in enumerate(packets) if pid(packet) in (0, 0x1000)]
    keep = set(tables[:6] + tables[-2:])  # timed from the third pair (after a PCR) on
    sparse = b"".join(p for n, p in enumerate(packets) if n in keep or n not in tables)
    assert check_stream(sparse).max_psi_interval > 0.5  # most of a second without tables
    report = check_stream(splice([sparse]))
    assert report.ok, report.summary()
    assert report.max_psi_interval < 0.1


def test_a_process_of_sound_alone_is_moved_after_the_last_not_dropped() -> None:
    """With no picture to keep on time, the sound itself sets the shift: a second
    audio-only process told to start where the first did is moved after it whole."""
    frames = {AUDIO: 1920}
    splicer = Splicer(frames, audio={AUDIO: "aac"})
    out: list[bytearray] = []
    for _ in range(2):
        splicer.begin()
        for n in range(5):
            out += splicer.feed(bytearray(audio_packet(90_000 + n * 1920)))
        out += splicer.finish()
    assert splicer.shift >= 5 * 1920 and splicer.dropped == 0
    assert sum(pid(packet) == AUDIO for packet in out) == 10

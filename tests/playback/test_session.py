"""A live channel on real FFmpeg: seamless splices, shared producer, slow viewers, crashes,
clean stop. Tiny profile (320x180, 25 fps, ultrafast) to keep the CPU low."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.domain.profiles import AUDIO_PID, VIDEO_PID, ProfileMode, StreamProfile
from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import NULL_PID, PACKET_SIZE, has_payload, pes_timestamps, pid
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels, fixed_profile
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.session import ChannelSession, EndTracker, Segment, WhatPlays
from exstreamtv.playback.supervisor import ManagedProcess, Supervisor
from tests.formats.test_splice import audio_packet
from tests.playback.test_hls import video_packet
from tests.support import alive

TINY = StreamProfile(
    name="tiny", width=320, height=180, fps=25, video_bitrate_kbps=200, gop_seconds=1,
    preset="ultrafast", audio_bitrate_kbps=64,
)  # fmt: skip
FRAME = 90_000 // 25


def walker(segments: list[Segment], *, loop: bool = True) -> WhatPlays:
    """A ``what_plays`` that ignores the moment and walks ``segments`` (then repeats)."""
    source = itertools.cycle(segments) if loop else iter(segments)

    async def what_plays(at: datetime) -> Segment:
        return next(source)

    return what_plays


@pytest.fixture
def make_session(supervisor: Supervisor) -> Callable[..., ChannelSession]:
    def make(segments: list[Segment], **options: object) -> ChannelSession:
        return ChannelSession(
            "7", name="Seven", supervisor=supervisor, clock=SystemClock(),
            what_plays=walker(segments), profile=TINY, idle_timeout=0, **options,  # type: ignore[arg-type]
        )  # fmt: skip

    return make


def media_span(data: bytes) -> float:
    """Seconds between the first and last video DTS in ``data``."""
    stamps = [
        found[1]
        for at in range(0, len(data) - PACKET_SIZE + 1, PACKET_SIZE)
        if pid(data[at : at + PACKET_SIZE]) == VIDEO_PID
        and (found := pes_timestamps(data[at : at + PACKET_SIZE]))
    ]
    return (stamps[-1] - stamps[0]) / 90_000 if len(stamps) > 1 else 0.0


def check_packets(data: bytes) -> dict[int, list[int]]:
    """Sync bytes and continuity counters; returns (pid → DTS list) for the A/V PIDs."""
    assert len(data) % PACKET_SIZE == 0
    counters: dict[int, int] = {}
    dts: dict[int, list[int]] = {VIDEO_PID: [], AUDIO_PID: []}
    for at in range(0, len(data), PACKET_SIZE):
        packet = data[at : at + PACKET_SIZE]
        assert packet[0] == 0x47, f"no sync byte at {at}"
        packet_pid, cc = pid(packet), packet[3] & 0x0F
        if packet_pid == NULL_PID:
            continue
        if packet_pid in counters:
            expected = (counters[packet_pid] + has_payload(packet)) & 0x0F
            assert cc == expected, f"pid {packet_pid:#x} cc {cc} after {counters[packet_pid]}"
        counters[packet_pid] = cc
        if packet_pid in dts and (found := pes_timestamps(packet)):
            dts[packet_pid].append(found[1])
    return dts


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    assert value is not None, name
    return value


def walking_channels(supervisor: Supervisor, segments: list[Segment]) -> LiveChannels:
    """Live channels (tiny profile, no idle wait) that all walk ``segments``."""

    async def no_lookup(*args: object) -> None:
        raise AssertionError("what_plays is injected")

    return LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile_for=fixed_profile(TINY), idle_timeout=0, what_plays=lambda _: walker(segments),
    )  # fmt: skip


async def read_until(
    chunks: AsyncIterator[bytes], done: Callable[[bytes], bool], *, within: float = 30
) -> bytes:
    data = bytearray()
    async with asyncio.timeout(within):
        async for chunk in chunks:
            data += chunk
            if done(bytes(data)):
                break
    return bytes(data)


async def test_splices_are_seamless_and_one_ffmpeg_serves_all(
    make_session: Callable[..., ChannelSession],
    supervisor: Supervisor,
    clip_cache: dict[float, Path],
    tmp_path: Path,
) -> None:
    segments = [
        Segment(str(clip_cache[1.0]), 0, 1000),
        Segment(None, 0, 1000, "Seven", "Off the air"),
        Segment(str(clip_cache[2.0]), 500, 1500),
        Segment(str(clip_cache[3.0]), 0, 3000),
    ]
    metrics = Metrics()
    session = make_session(segments, metrics=metrics)
    session.start()
    capture = session.subscribe()
    others = [session.subscribe() for _ in range(20)]
    received = [0] * len(others)
    most_processes = 0

    async def drain(index: int, chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            received[index] += len(chunk)

    def enough(data: bytes) -> bool:
        nonlocal most_processes
        most_processes = max(most_processes, supervisor.process_count)
        return media_span(data[-(len(data) // PACKET_SIZE) * PACKET_SIZE :]) >= 6.5

    drains = [asyncio.create_task(drain(i, chunks)) for i, chunks in enumerate(others)]
    try:
        data = await read_until(capture, enough)
    finally:
        await session.stop()
        await asyncio.gather(*drains)
    data = data[: len(data) // PACKET_SIZE * PACKET_SIZE]

    dts = check_packets(data)  # (a) sync and continuity
    report = check_stream(data)  # (c) clocks only move forward, PCR and tables in time
    assert report.ok and report.clean_start, report.summary()
    steps = [b - a for a, b in itertools.pairwise(dts[VIDEO_PID])]
    assert max(steps) <= 2 * FRAME, f"video gap {max(steps)} at a splice"
    # Audio: a PES of silence holds several frames, so its steps are longer; still no gap
    # across a splice beyond one frame after the last PES's frames.
    assert max(b - a for a, b in itertools.pairwise(dts[AUDIO_PID])) <= 4 * 1920
    capture_file = tmp_path / "capture.ts"
    capture_file.write_bytes(data)
    checked = await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "warning", "-nostdin", "-i", str(capture_file), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.stderr == "", checked.stderr  # (b)
    assert session.spawns >= 4  # 3 transitions, one of them into and out of the slate
    assert most_processes == 1  # (d) 21 viewers, one FFmpeg at a time
    gaps = sample(metrics, "exstreamtv_stream_transition_gap_seconds_count")
    assert (
        gaps >= 3
        and sample(metrics, "exstreamtv_stream_transition_gap_seconds_bucket", le="0.04") == gaps
    )  # every splice gap is under one frame (40 ms)
    assert sample(metrics, "exstreamtv_stream_slate_seconds_total", channel="7") >= 1.0
    assert all(count > 0 for count in received)
    assert supervisor.process_count == 0


async def test_a_slow_viewer_is_dropped_and_the_others_go_on(
    make_session: Callable[..., ChannelSession], clip_cache: dict[float, Path]
) -> None:
    session = make_session([Segment(str(clip_cache[3.0]), 0, 3000)], viewer_queue=32 * 1024)
    session.start()
    slow = session.subscribe()  # never read
    fast = session.subscribe()
    try:
        dropped_at = 0

        def done(data: bytes) -> bool:
            nonlocal dropped_at
            if session.dropped_viewers and not dropped_at:
                dropped_at = len(data)
            return bool(dropped_at) and len(data) > dropped_at + 64 * 1024

        await read_until(fast, done)
        assert session.dropped_viewers == 1
        assert [chunk async for chunk in slow] == []  # its iterator has ended
    finally:
        await session.stop()


async def test_kill_9_keeps_viewers_and_resumes(
    make_session: Callable[..., ChannelSession],
    supervisor: Supervisor,
    clip_cache: dict[float, Path],
) -> None:
    segments = [
        Segment(None, 0, 60_000, "Seven", "Long slate"),
        Segment(str(clip_cache[3.0]), 0, 3000),
    ]
    session = make_session(segments, work_ahead=0.5)
    session.start()
    viewer = session.subscribe()
    try:
        first = await read_until(viewer, lambda data: len(data) > 32 * 1024)
        victim = session.current_pid
        assert victim is not None and session.spawns == 1
        os.kill(victim, signal.SIGKILL)
        after = await read_until(viewer, lambda data: session.spawns >= 2 and len(data) > 64 * 1024)
        assert not session.stopped and session.current_pid not in (None, victim)
        assert supervisor.restart_velocity > 0
        data = first + after
        dts = check_packets(data[: len(data) // PACKET_SIZE * PACKET_SIZE])
        assert all(b > a for a, b in itertools.pairwise(dts[VIDEO_PID]))
    finally:
        await session.stop()
    assert not alive(victim)


async def test_live_channels_share_a_session_and_close_stops_ffmpeg(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    channel = Channel(1, ChannelNumber(5), "Five", None, None, True, None)
    live = walking_channels(supervisor, [Segment(str(clip_cache[3.0]), 0, 3000)])
    one = await live.open(channel)
    two = await live.open(channel)
    assert len(live.sessions) == 1
    session = live.sessions["5"]
    await read_until(one, lambda data: len(data) > 8 * 1024)
    await read_until(two, lambda data: len(data) > 8 * 1024)
    pid_ = session.current_pid
    # One producer for both (the 3 s clip may already have been followed by its repeat:
    # the producer works ahead of the viewers, one FFmpeg at a time).
    assert supervisor.process_count <= 1
    await live.playlist(channel, "{sequence}.ts")  # HLS shares the running producer
    assert live.sessions == {"5": session} and supervisor.process_count <= 1
    await live.close()
    assert live.sessions == {}
    assert supervisor.process_count == 0  # (g) no FFmpeg remains
    assert pid_ is None or not alive(pid_)
    async with asyncio.timeout(5):  # the viewer's stream ends after what was queued
        assert len(b"".join([chunk async for chunk in one])) % PACKET_SIZE == 0


async def test_idle_channel_stops_when_the_last_viewer_leaves(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    channel = Channel(1, ChannelNumber(6), "Six", None, None, True, None)

    async def no_lookup(*args: object) -> None:
        raise AssertionError("what_plays is injected")

    live = LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile_for=fixed_profile(TINY), idle_timeout=0,
        what_plays=lambda _: walker([Segment(str(clip_cache[3.0]), 0, 3000)]),
    )  # fmt: skip
    viewer = await live.open(channel)
    stopped = asyncio.Event()
    session = live.sessions["6"]
    forget = session._on_stopped
    assert forget is not None

    def forget_and_tell(found: ChannelSession) -> None:
        forget(found)
        stopped.set()

    session._on_stopped = forget_and_tell
    async with asyncio.timeout(20):
        async for _chunk in viewer:
            break
        await viewer.aclose()  # type: ignore[attr-defined]
        await stopped.wait()
    assert live.sessions == {}  # the channel stopped by itself
    assert supervisor.process_count == 0


async def test_hls_segments_are_cut_from_the_live_stream_and_decode_cleanly(
    make_session: Callable[..., ChannelSession], clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    segments = [Segment(str(clip_cache[2.0]), 0, 2000), Segment(None, 0, 2000, "Seven", "Slate")]
    session = make_session(segments, hls_target=1.0)
    session.start()
    try:
        async with asyncio.timeout(30):
            while True:
                text = await session.playlist("seg-{sequence}.ts")
                assert text is not None
                names = [line for line in text.splitlines() if line.startswith("seg-")]
                if len(names) >= 3:
                    break
                await asyncio.sleep(0.2)
        parts = [session.segment(int(name[4:-3])) for name in names]
    finally:
        await session.stop()
    assert text.startswith("#EXTM3U") and "#EXT-X-PROGRAM-DATE-TIME:" in text
    for part in parts:
        assert part is not None
        assert (
            pid(part[:PACKET_SIZE]) == 0 and pid(part[2 * PACKET_SIZE :][:PACKET_SIZE]) == VIDEO_PID
        )
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(part for part in parts if part))
    checked = await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "warning", "-nostdin", "-i", str(joined), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.stderr == "", checked.stderr


async def test_an_hls_ring_made_while_the_producer_waits_for_room_misses_no_packet(
    make_session: Callable[..., ChannelSession], clip_cache: dict[float, Path]
) -> None:
    # A short work-ahead keeps the producer waiting for room in the pacer nearly all the
    # time, so the ring is made during such a wait: the batch waiting must reach it too.
    session = make_session([Segment(str(clip_cache[3.0]), 0, 3000)], work_ahead=0.3, hls_target=1.0)
    viewer = session.subscribe()
    session.start()
    try:
        async with asyncio.timeout(30):
            await anext(viewer)  # on air, the producer ahead of the pacer and waiting
            await asyncio.sleep(0.5)
            while True:
                text = await session.playlist("seg-{sequence}.ts")
                assert text is not None
                names = [line for line in text.splitlines() if line.startswith("seg-")]
                if len(names) >= 3:
                    break
                await asyncio.sleep(0.1)
        parts = [session.segment(int(name[4:-3])) for name in names]
    finally:
        await viewer.aclose()  # type: ignore[attr-defined]
        await session.stop()
    assert all(part is not None for part in parts)
    report = check_stream(b"".join(part for part in parts if part))
    assert report.continuity_errors == 0, report.summary()


async def test_an_hls_only_channel_stops_once_its_players_stop_asking(
    make_session: Callable[..., ChannelSession],
    supervisor: Supervisor,
    clip_cache: dict[float, Path],
) -> None:
    stopped = asyncio.Event()
    session = make_session(
        [Segment(str(clip_cache[3.0]), 0, 3000)], hls_target=0.3, on_stopped=lambda _: stopped.set()
    )
    session.start()
    async with asyncio.timeout(30):
        await session.playlist("{sequence}.ts")
        asked = asyncio.get_running_loop().time()
        await stopped.wait()
    quiet = asyncio.get_running_loop().time() - asked
    assert quiet >= session.hls_linger - 0.1  # not before its players could have come back
    assert supervisor.process_count == 0


@pytest.fixture(scope="module")
def ramp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds whose grey level changes every quarter second, with keyframes only every
    2 s, so a seek must decode from an earlier keyframe."""
    target = tmp_path_factory.mktemp("ramp") / "ramp.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "color=c=black:s=320x180:r=25:d=6,"
                             "geq=lum='16+9*floor(T*4)':cb=128:cr=128",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return target


def greys(source: Path, frames: int | None = None) -> bytes:
    """The mean grey of each video frame of ``source`` (one byte per frame)."""
    limit = ["-frames:v", str(frames)] if frames else []
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(source), *limit,
         "-vf", "scale=1:1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip


@pytest.mark.parametrize("seek_ms", [0, 1_600, 3_600, 5_200])
async def test_a_viewer_joining_mid_item_sees_the_frame_at_the_scheduled_offset(
    make_session: Callable[..., ChannelSession], ramp: Path, tmp_path: Path, seek_ms: int
) -> None:
    session = make_session([Segment(str(ramp), seek_ms, 6_000 - seek_ms)], hls_target=1.0)
    session.start()
    try:
        data = await read_until(session.subscribe(), lambda data: media_span(data) >= 0.5)
    finally:
        await session.stop()
    joined = tmp_path / "joined.ts"
    joined.write_bytes(data[: len(data) // PACKET_SIZE * PACKET_SIZE])
    first = (await asyncio.to_thread(greys, joined, 1))[0]
    source = await asyncio.to_thread(greys, ramp)
    # the source frames that look like the first frame shown: one quarter-second run
    matching = [n for n, grey in enumerate(source) if abs(grey - first) <= 3]
    scheduled = seek_ms * 25 // 1000
    assert matching, (first, source)
    assert all(abs(n - scheduled) <= TINY.gop_frames for n in matching)  # within one GOP
    assert scheduled in matching  # in fact frame-accurate: the very frame scheduled


async def test_five_kills_open_the_breaker_and_the_viewer_keeps_receiving_a_stream(
    make_session: Callable[..., ChannelSession],
    supervisor: Supervisor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    long_slate = [Segment(None, 0, 60_000, "Seven", "Long slate")]
    session = make_session(long_slate, work_ahead=0.5)
    session.start()
    viewer = session.subscribe()
    killed: list[int] = []
    try:
        for _ in range(5):  # the breaker opens after five failures in 300 s, not before
            assert supervisor.breaker_state("7") is BreakerState.CLOSED
            await read_until(viewer, lambda _: session.current_pid not in (None, *killed))
            victim = session.current_pid
            assert victim is not None
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        await read_until(viewer, lambda _: supervisor.breaker_state("7") is BreakerState.OPEN)
        # the viewer stays connected: error slates keep coming while the breaker is open
        after = await read_until(viewer, lambda data: media_span(data) >= 1.0)
        assert not session.stopped and media_span(after) >= 1.0
    finally:
        await session.stop()
    assert not any(alive(pid_) for pid_ in killed)
    assert supervisor.breaker_state("7") is BreakerState.OPEN  # stopping does not reset it

    caplog.clear()
    retuned = make_session(long_slate, work_ahead=0.5)
    retuned.start()
    try:
        await read_until(retuned.subscribe(), lambda data: media_span(data) >= 0.5)
    finally:
        await retuned.stop()
    assert "restart of channel 7 denied: circuit breaker open" in caplog.text


@pytest.fixture(scope="module")
def matching_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s clip already in the tiny profile's format (320x180 H.264 25 fps, stereo AAC at
    48 kHz, a keyframe every second), so a copy profile remuxes it."""
    target = tmp_path_factory.mktemp("copy") / "matching.ts"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-t", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-c:a", "aac", "-ac", "2", "-ar", "48000", "-shortest", str(target)],
        check=True, timeout=60,
    )  # fmt: skip
    return target


async def test_transcode_copy_transcode_and_a_slate_splice_into_one_clean_stream(
    supervisor: Supervisor,
    clip_cache: dict[float, Path],
    matching_clip: Path,
    tmp_path: Path,
) -> None:
    copy_profile = dataclasses.replace(TINY, name="tiny-copy", mode=ProfileMode.COPY)
    matching = TechnicalInfo(
        2000, "mpegts", "h264", 320, 180, 25.0, "yuv420p", "aac", 2, 48000
    )  # fmt: skip
    segments = [
        Segment(str(clip_cache[1.0]), 0, 1000),  # 160x120: transcoded
        Segment(str(matching_clip), 0, 2000, technical=matching),  # remuxed
        Segment(str(clip_cache[2.0]), 0, 2000),  # transcoded again
        Segment(None, 0, 1000, "Seven", "Off the air"),
    ]
    argvs: list[list[str]] = []
    spawn = supervisor.spawn

    async def recording(channel: str, argv: Sequence[str], *, purpose: str) -> ManagedProcess:
        argvs.append(list(argv))
        return await spawn(channel, argv, purpose=purpose)

    supervisor.spawn = recording  # type: ignore[method-assign]
    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(),
        what_plays=walker(segments), profile=copy_profile, idle_timeout=0,
    )  # fmt: skip
    session.start()
    try:
        data = await read_until(session.subscribe(), lambda data: media_span(data) >= 5.5)
    finally:
        await session.stop()
    data = data[: len(data) // PACKET_SIZE * PACKET_SIZE]
    assert ["copy" in argv for argv in argvs[:3]] == [False, True, False]

    dts = check_packets(data)  # sync bytes and continuity counters per PID
    for stream in (VIDEO_PID, AUDIO_PID):
        assert all(b > a for a, b in itertools.pairwise(dts[stream])), f"{stream:#x}"
    capture_file = tmp_path / "capture.ts"
    capture_file.write_bytes(data)
    checked = await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "warning", "-nostdin", "-i", str(capture_file), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.stderr == "", checked.stderr
    frames = await asyncio.to_thread(
        subprocess.run,
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=width,height,pix_fmt", "-of", "csv=p=0", str(capture_file)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    shapes = {line.strip(",") for line in frames.stdout.split()}
    assert shapes == {"320,180,yuv420p"}  # constant across the splices
    sound = await asyncio.to_thread(
        subprocess.run,
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "frame=channel_layout:stream=sample_rate", "-of", "csv=p=0", str(capture_file)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert {line.strip(",") for line in sound.stdout.split()} == {"stereo", "48000"}


def test_an_item_ends_with_its_last_picture_not_with_its_sound() -> None:
    """Five video frames from ``start``; AAC primed a frame early and its last frame
    ending 13 ms after the picture (as FFmpeg writes it): the item took five frames, not
    six (a sixth would start the next item a frame late, its first frame skipped)."""
    start, frame, audio = 900_000, 3600, 1920
    tracker = EndTracker(start, {VIDEO_PID: frame, AUDIO_PID: audio}, {AUDIO_PID: "aac"})
    for n in range(5):
        tracker.observe(video_packet(start + n * frame, keyframe=n == 0))
    sound = start - audio
    while sound < start + 5 * frame:
        tracker.observe(audio_packet(sound))
        sound += audio
    assert sound > start + 5 * frame  # the sound ran past the picture
    assert tracker.end == start + 5 * frame
    assert tracker.gap_seconds == 0

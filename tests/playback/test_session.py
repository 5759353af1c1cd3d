"""A live channel on real FFmpeg: seamless splices, shared producer, slow viewers, crashes,
clean stop. Tiny profile (320x180, 25 fps, ultrafast) to keep the CPU low."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.profiles import AUDIO_PID, VIDEO_PID, StreamProfile
from exstreamtv.formats.mpegts import NULL_PID, PACKET_SIZE, has_payload, pes_timestamps, pid
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.session import ChannelSession, Segment, WhatPlays
from exstreamtv.playback.supervisor import Supervisor
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
async def supervisor(tmp_path: Path) -> AsyncIterator[Supervisor]:
    found = Supervisor(
        max_processes=4, clock=SystemClock(), metrics=Metrics(), registry=tmp_path / "pids"
    )
    await found.start()
    try:
        yield found
    finally:
        await found.close()


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


async def read_until(chunks: AsyncIterator[bytes], done: Callable[[bytes], bool]) -> bytes:
    data = bytearray()
    async with asyncio.timeout(30):
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
    session = make_session(segments)
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
    for stream, frame in ((VIDEO_PID, FRAME), (AUDIO_PID, 1920)):
        steps = [b - a for a, b in itertools.pairwise(dts[stream])]
        assert min(steps) > 0, f"pid {stream:#x} DTS not monotonic"  # (c)
        assert max(steps) <= 2 * frame, f"pid {stream:#x} gap {max(steps)} at a splice"
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
    segments = [Segment(str(clip_cache[3.0]), 0, 3000)]

    async def no_lookup(*args: object) -> None:
        raise AssertionError("what_plays is injected")

    live = LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile=TINY, idle_timeout=0, what_plays=lambda _: walker(segments),
    )  # fmt: skip
    one = await live.open(channel)
    two = await live.open(channel)
    assert len(live.sessions) == 1
    session = live.sessions["5"]
    await read_until(one, lambda data: len(data) > 8 * 1024)
    await read_until(two, lambda data: len(data) > 8 * 1024)
    pid_ = session.current_pid
    assert session.spawns == 1 and supervisor.process_count == 1
    with pytest.raises(Exception, match="HLS"):
        await live.open(channel, hls=True)
    await live.close()
    assert live.sessions == {}
    assert supervisor.process_count == 0  # (g) no FFmpeg remains
    assert pid_ is None or not alive(pid_)
    assert [chunk async for chunk in one] == []


async def test_idle_channel_stops_when_the_last_viewer_leaves(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    channel = Channel(1, ChannelNumber(6), "Six", None, None, True, None)

    async def no_lookup(*args: object) -> None:
        raise AssertionError("what_plays is injected")

    live = LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile=TINY, idle_timeout=0,
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

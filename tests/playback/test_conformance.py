"""Strictly conformant MPEG-TS at every splice, slate, kill and half-open trial, with both
cores busy; and a file that cannot be decoded is skipped without touching the breaker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.formats.conformance import Conformance
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.metrics import Metrics
from exstreamtv.playback.restarts import BreakerState, RestartLimits, RestartPolicy
from exstreamtv.playback.session import ChannelSession, Segment
from exstreamtv.playback.supervisor import Supervisor
from tests.playback.test_item_ends import watch
from tests.playback.test_session import TINY, read_until, walker
from tests.support import cpu_hogs, noise

TRANSITIONS = 20


@pytest.fixture
async def quick_breaker(tmp_path: Path) -> AsyncIterator[Supervisor]:
    """A supervisor whose breaker opens after two failures and half-opens after 1.5 s."""
    limits = RestartLimits(cooldown=0.2, breaker_threshold=2, breaker_open=1.5)
    found = Supervisor(
        max_processes=4, clock=SystemClock(), metrics=Metrics(), registry=tmp_path / "pids",
        policy=RestartPolicy(limits),
    )  # fmt: skip
    await found.start()
    try:
        yield found
    finally:
        await found.close()


async def decode_warnings(data: bytes, folder: Path) -> str:
    capture = folder / "capture.ts"
    capture.write_bytes(data)
    done = await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "warning", "-nostdin", "-i", str(capture), "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.stderr


async def test_every_splice_kill_and_half_open_trial_is_conformant_with_both_cores_busy(
    quick_breaker: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    supervisor = quick_breaker
    segments = [
        Segment(str(clip_cache[1.0]), 0, 1000),
        Segment(None, 0, 600, "Seven", "Between"),
        Segment(str(clip_cache[2.0]), 700, 1100),  # joined mid-item
        Segment(str(clip_cache[3.0]), 0, 1500),
    ]
    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=walker(segments), profile=TINY, work_ahead=1.0,
    )  # fmt: skip
    checker = Conformance()
    received = bytearray()
    kills: list[int] = []
    saw_open = False

    def watch(data: bytes) -> bool:
        """Feed the checker; kill twice (the breaker opens), then wait for the trial."""
        nonlocal saw_open
        fresh = data[len(received) :]
        received.extend(fresh)
        checker.feed(fresh)
        state = supervisor.breaker_state("7")
        saw_open = saw_open or state is BreakerState.OPEN
        victim = session.current_pid
        if len(kills) < 2 and session.spawns >= 4 + 3 * len(kills) and victim not in (None, *kills):
            assert victim is not None
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:  # it ended (a short item) and was reaped: the next
                return False
            kills.append(victim)
        return session.spawns > TRANSITIONS + 6 and saw_open and state is BreakerState.CLOSED

    with cpu_hogs(2):
        session.start()
        try:
            await read_until(session.subscribe(), watch, within=120)
        finally:
            await session.stop()
    report = checker.report
    assert len(kills) == 2 and saw_open  # two crashes opened it; a trial closed it again
    assert report.ok and report.clean_start, report.summary()
    assert report.max_pcr_interval <= 0.1 and report.max_psi_interval <= 0.1
    data = bytes(received[: len(received) // PACKET_SIZE * PACKET_SIZE])
    assert await decode_warnings(data, tmp_path) == ""


async def test_a_file_that_cannot_be_decoded_is_skipped_and_never_opens_the_breaker(
    quick_breaker: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    """Garbage with a video name, scheduled again and again: each time it is a media fault
    (reported once, remembered), the channel plays on, and the breaker that two crashes
    would open stays closed."""
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(noise(256 * 1024))
    segments = [
        Segment(str(garbage), 0, 45_000, media_id=41),
        Segment(str(clip_cache[1.0]), 0, 1000, media_id=42),
    ]
    metrics = Metrics()
    session, data, reported = await watch(
        quick_breaker, walker(segments), TINY, 4.0, metrics=metrics
    )
    assert quick_breaker.breaker_state("7") is BreakerState.CLOSED
    assert reported and {media for media, _ in reported} == {41}  # reported once
    assert "Invalid data" in reported[0][1] or "nothing decodable" in reported[0][1]
    assert session.failed_media == {str(garbage): reported[0][1]}
    faults = metrics.registry.get_sample_value(
        "exstreamtv_stream_faults_total", {"channel": "7", "kind": "process"}
    )
    assert not faults
    report_ = Conformance()
    report_.feed(data)
    assert report_.report.ok, report_.report.summary()

"""A hardware encoder that fails on the live path: this machine has no GPU, so a profile
asking for VA-API makes the first real FFmpeg fail; the session goes on with libx264."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.domain.profiles import VIDEO_PID, VideoEncoder
from exstreamtv.ffmpeg.profiles import VAAPI_DEVICE
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.metrics import Metrics
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.session import ChannelSession, Segment
from exstreamtv.playback.supervisor import Supervisor
from tests.playback.test_session import TINY, check_packets, media_span, read_until, walker

VAAPI = replace(TINY, video_encoder=VideoEncoder.H264_VAAPI)
pytestmark = pytest.mark.skipif(
    Path(VAAPI_DEVICE).exists(), reason="VA-API works here, so it would not fail"
)
X264_SEI = b"x264 - core"  # libx264 writes its version and options into the stream


def whole_packets(data: bytes) -> bytes:
    return data[: len(data) // PACKET_SIZE * PACKET_SIZE]


def session_on(supervisor: Supervisor, segments: list[Segment], metrics: Metrics) -> ChannelSession:
    return ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(),
        what_plays=walker(segments), profile=VAAPI, idle_timeout=0, metrics=metrics,
    )  # fmt: skip


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_failing_hardware_encoder_switches_the_channel_to_libx264_without_a_restart(
    supervisor: Supervisor,
    clip_cache: dict[float, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    session = session_on(supervisor, [Segment(str(clip_cache[2.0]), 0, 2000)], metrics)
    with caplog.at_level(logging.WARNING, logger="exstreamtv.playback.session"):
        session.start()
        viewer = session.subscribe()
        try:
            data = await read_until(viewer, lambda d: media_span(whole_packets(d)) >= 3.0)
            breaker = supervisor.breaker_state("7")
        finally:
            await session.stop()
    data = whole_packets(data)

    assert sample(metrics, "exstreamtv_encoder_fallbacks_total", channel="7") == 1
    assert breaker is BreakerState.CLOSED  # the hardware failure was not held against it
    supervisor_metrics = supervisor._metrics
    for outcome in ("allowed", "denied"):
        assert sample(supervisor_metrics, "exstreamtv_channel_restarts_total",
                      reason="crash", outcome=outcome) == 0  # fmt: skip
    assert session.spawns >= 3  # the failed VA-API process, then two libx264 items
    assert X264_SEI in data
    dts = check_packets(data)[VIDEO_PID]
    assert all(b > a for a, b in itertools.pairwise(dts))
    capture = tmp_path / "capture.ts"
    capture.write_bytes(data)
    decoded = await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "warning", "-nostdin", "-i", str(capture), "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr
    said = [r.getMessage() for r in caplog.records if "using libx264" in r.getMessage()]
    assert len(said) == 1
    assert "channel 7" in said[0] and "h264_vaapi" in said[0]


async def test_a_software_failure_after_the_fallback_is_still_a_failure(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    metrics = Metrics()
    session = session_on(supervisor, [Segment(str(clip_cache[3.0]), 0, 3000)], metrics)
    session.start()
    viewer = session.subscribe()
    try:
        # The VA-API process fails, then libx264 plays; kill that one: a crash is a crash.
        await read_until(viewer, lambda _: session.spawns >= 2 and session.current_pid is not None)
        victim = session.current_pid
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        await read_until(viewer, lambda _: session.current_pid not in (None, victim))
        crashes = sample(
            supervisor._metrics, "exstreamtv_channel_restarts_total", reason="crash",
            outcome="allowed",
        )  # fmt: skip
    finally:
        await session.stop()
    assert sample(metrics, "exstreamtv_encoder_fallbacks_total", channel="7") == 1
    assert crashes >= 1
    assert sample(metrics, "exstreamtv_stream_faults_total", channel="7", kind="process") == 1

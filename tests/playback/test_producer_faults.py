"""A producer that never dies silently: lookup failures play slates and recover, a channel
that is gone ends its viewers cleanly, a bug in the producer still stops the session and
closes its viewers, and a retired channel frees its number at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from exstreamtv.clock import SystemClock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.errors import DatabaseUnavailable, NotFound
from exstreamtv.formats.conformance import check_stream
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels, fixed_profile
from exstreamtv.playback.session import ChannelSession, Segment, WhatPlays
from exstreamtv.playback.supervisor import Supervisor
from tests.playback.test_session import TINY, media_span, read_until


def whole(data: bytes) -> bytes:
    return data[: len(data) // PACKET_SIZE * PACKET_SIZE]


async def drain(chunks: AsyncIterator[bytes]) -> bytes:
    """Everything a viewer gets until its stream ends (bounded)."""
    data = bytearray()
    async with asyncio.timeout(30):
        async for chunk in chunks:
            data += chunk
    return bytes(data)


def session_for(
    supervisor: Supervisor, what_plays: WhatPlays, metrics: Metrics | None = None
) -> ChannelSession:
    return ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY, work_ahead=1.0, metrics=metrics,
    )  # fmt: skip


async def test_a_failing_lookup_plays_error_slates_and_the_schedule_comes_back(
    supervisor: Supervisor, clip_cache: dict[float, Path], caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    async def what_plays(at: datetime) -> Segment:
        nonlocal calls
        calls += 1
        if 2 <= calls <= 4:  # the database goes away at an item boundary, then comes back
            raise DatabaseUnavailable("the database cannot be reached: connection refused")
        return Segment(str(clip_cache[1.0]), 0, 1000)

    caplog.set_level(logging.INFO, logger="exstreamtv.playback.session")
    metrics = Metrics()
    session = session_for(supervisor, what_plays, metrics)
    session.start()
    try:
        data = await read_until(session.subscribe(), lambda _: calls >= 6)
    finally:
        await session.stop()
    report = check_stream(whole(data))
    assert report.ok, report.summary()
    faults = metrics.registry.get_sample_value(
        "exstreamtv_stream_faults_total", {"channel": "7", "kind": "lookup"}
    )
    assert faults == 1  # one outage, logged and counted once
    said = [r.getMessage() for r in caplog.records if "cannot look up" in r.getMessage()]
    assert len(said) == 1 and "channel 7" in said[0]
    assert any("lookups work again" in r.getMessage() for r in caplog.records)
    assert supervisor.breaker_state("7").value == "closed"  # not the channel's fault


async def test_a_channel_that_is_gone_ends_its_viewers_after_a_short_slate(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    calls = 0

    async def what_plays(at: datetime) -> Segment:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise NotFound("channel 7 does not exist")
        return Segment(str(clip_cache[1.0]), 0, 1000)

    stopped = asyncio.Event()
    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY, work_ahead=1.0, on_stopped=lambda _: stopped.set(),
    )  # fmt: skip
    session.start()
    data = await drain(session.subscribe())  # the stream ends by itself
    await asyncio.wait_for(stopped.wait(), 10)
    assert session.removed and supervisor.process_count == 0
    report = check_stream(whole(data))
    assert report.ok, report.summary()
    # What the viewer had of the programme, then the whole 2 s "removed" slate (the part of
    # the programme still in the work-ahead buffer is dropped, never shown late).
    assert media_span(whole(data)) >= 2.0 - 0.04


async def test_a_producer_that_fails_stops_the_session_and_closes_its_viewers(
    supervisor: Supervisor, clip_cache: dict[float, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever ends the producer, nobody is left on a silent open stream."""
    stopped = asyncio.Event()

    async def what_plays(at: datetime) -> Segment:
        return Segment(str(clip_cache[1.0]), 0, 1000)

    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY, on_stopped=lambda _: stopped.set(),
    )  # fmt: skip
    broken = RuntimeError("a bug in the producer")

    async def fail(wall: datetime) -> Segment:
        raise broken

    session._next_segment = fail  # type: ignore[method-assign]  # past the lookup guard
    session.start()
    viewer = session.subscribe()
    await asyncio.wait_for(stopped.wait(), 10)
    assert await drain(viewer) == b""  # ended, not hanging
    assert session.stopped and supervisor.process_count == 0
    assert any("the producer failed" in r.getMessage() for r in caplog.records)


async def test_stop_ends_a_session_whose_lookup_never_answers(supervisor: Supervisor) -> None:
    stopped: list[ChannelSession] = []
    asked = asyncio.Event()

    async def what_plays(at: datetime) -> Segment:
        asked.set()
        await asyncio.Event().wait()  # a database that never answers
        raise AssertionError("unreachable")

    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY, on_stopped=stopped.append,
    )  # fmt: skip
    session.start()
    viewer = session.subscribe()
    await asyncio.wait_for(asked.wait(), 10)
    await asyncio.wait_for(session.stop(), 10)
    assert stopped == [session] and await drain(viewer) == b""
    await session.stop()  # again: nothing more happens
    assert stopped == [session]


async def test_a_retired_channel_frees_its_number_at_once_and_ends_after_the_slate(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    channel = Channel(1, ChannelNumber(5), "Five", None, None, True, None)

    async def what_plays(at: datetime) -> Segment:
        return Segment(str(clip_cache[3.0]), 0, 3000)

    async def no_lookup(*args: object) -> None:
        raise AssertionError("what_plays is injected")

    live = LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile_for=fixed_profile(TINY), idle_timeout=0, what_plays=lambda _: what_plays,
    )  # fmt: skip
    try:
        viewer = await live.open(channel)
        first = await read_until(viewer, lambda data: media_span(whole(data)) >= 1.0)
        old = live.sessions["5"]
        retiring = asyncio.create_task(live.retire(ChannelNumber(5), "channel deleted"))
        await asyncio.sleep(0)
        assert "5" not in live.sessions  # the number is free at once
        again = await live.open(channel)  # a re-created channel gets a new session
        assert live.sessions["5"] is not old
        rest = await drain(viewer)
        await retiring
        assert old.stopped
        report = check_stream(whole(first + rest))
        assert report.ok, report.summary()  # the slate follows what the viewer had
        fresh = await read_until(again, lambda data: media_span(whole(data)) >= 1.0)
        assert check_stream(whole(fresh)).ok
    finally:
        await live.close()
    assert supervisor.process_count == 0


async def test_an_ffmpeg_that_cannot_start_is_a_counted_fault_not_the_end(
    supervisor: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    async def what_plays(at: datetime) -> Segment:
        return Segment(str(clip_cache[1.0]), 0, 1000)

    metrics = Metrics()
    session = ChannelSession(
        "7", name="Seven", supervisor=supervisor, clock=SystemClock(), idle_timeout=0,
        what_plays=what_plays, profile=TINY, metrics=metrics,
        ffmpeg=str(tmp_path / "no-such-ffmpeg"),
    )  # fmt: skip
    session.start()
    try:
        labels = {"channel": "7", "kind": "spawn"}
        for _ in range(600):  # the fault is counted within 30 s (no event to wait on)
            if metrics.registry.get_sample_value("exstreamtv_stream_faults_total", labels):
                break
            await asyncio.sleep(0.05)
        assert metrics.registry.get_sample_value("exstreamtv_stream_faults_total", labels)
        assert not session.stopped  # it keeps trying through the restart path
    finally:
        await session.stop()
    assert supervisor.process_count == 0

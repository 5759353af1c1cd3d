"""``LiveChannels`` asks ``profile_for`` for a channel's profile when it starts the channel,
and two viewers tuning during that lookup still share one session."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import replace
from pathlib import Path

from exstreamtv.clock import SystemClock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.profiles import StreamProfile
from exstreamtv.formats.mpegts import PACKET_SIZE
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.session import Segment
from exstreamtv.playback.supervisor import Supervisor
from tests.playback.test_session import TINY, read_until, walker

SMALL = replace(TINY, name="small", width=256, height=144)


async def no_lookup(*args: object) -> None:
    raise AssertionError("what_plays is injected")


async def test_viewers_tuning_during_the_profile_lookup_share_a_session_with_that_profile(
    supervisor: Supervisor, clip_cache: dict[float, Path], tmp_path: Path
) -> None:
    channel = Channel(1, ChannelNumber(8), "Eight", None, None, True, 3)
    asked: list[Channel] = []
    both_asked, answer = asyncio.Event(), asyncio.Event()

    async def profile_for(found: Channel) -> StreamProfile:
        asked.append(found)
        if len(asked) == 2:
            both_asked.set()
        await answer.wait()
        return SMALL

    live = LiveChannels(
        supervisor, SystemClock(), now=no_lookup, item=no_lookup,  # type: ignore[arg-type]
        profile_for=profile_for, idle_timeout=0,
        what_plays=lambda _: walker([Segment(str(clip_cache[2.0]), 0, 2000)]),
    )  # fmt: skip
    one = asyncio.create_task(live.open(channel))
    two = asyncio.create_task(live.open(channel))
    await both_asked.wait()
    answer.set()
    first, second = await one, await two
    try:
        assert len(live.sessions) == 1
        data = await read_until(first, lambda d: len(d) > 64 * 1024)
        await read_until(second, lambda d: len(d) > 8 * 1024)
        assert supervisor.process_count <= 1
    finally:
        await live.close()
    assert asked == [channel, channel]
    capture = tmp_path / "capture.ts"
    capture.write_bytes(data[: len(data) // PACKET_SIZE * PACKET_SIZE])
    probe = await asyncio.to_thread(
        subprocess.run,
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries",
         "stream=width,height", "-of", "csv=p=0", str(capture)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert set(probe.stdout.split()) == {"256,144"}

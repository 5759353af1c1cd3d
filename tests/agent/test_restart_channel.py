"""``restart_channel`` on a real live channel: only through ``Supervisor.restart``; viewers
keep receiving bytes; the supervisor's cooldown and breaker can refuse it."""

from __future__ import annotations

from pathlib import Path

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.playback.session import Segment
from exstreamtv.playback.supervisor import Supervisor
from tests.playback.test_session import read_until, walking_channels
from tests.support import alive


async def test_a_restart_replaces_the_process_and_the_viewer_carries_on(
    supervisor: Supervisor, clip_cache: dict[float, Path]
) -> None:
    channel = Channel(1, ChannelNumber(5), "Five", None, None, True, None)
    live = walking_channels(supervisor, [Segment(str(clip_cache[3.0]), 0, 3000)])
    try:
        assert await live.restart(ChannelNumber(5), "agent") is None  # not streaming
        viewer = await live.open(channel)
        await read_until(viewer, lambda data: len(data) > 8 * 1024)
        session = live.sessions["5"]
        before = session.current_pid
        decision = await live.restart(ChannelNumber(5), "agent")
        assert decision is not None and decision.allowed
        assert before is not None and not alive(before)  # stopped before restart returned
        await read_until(viewer, lambda data: len(data) > 64 * 1024)  # still flowing
        assert session.spawns >= 2
        assert session.current_pid != before
        denied = await live.restart(ChannelNumber(5), "agent")
        assert denied is not None and not denied.allowed
        assert denied.reason == "channel cooldown"
        registry = supervisor._metrics.registry
        allowed = registry.get_sample_value(
            "exstreamtv_channel_restarts_total", {"reason": "agent", "outcome": "allowed"}
        )
        assert allowed == 1
    finally:
        await live.close()

"""Guardrails proven on the live path: a container opened (and started) as ``exstreamtv
serve`` opens and starts it, never internals called by hand. Each test fails if its
guardrail is removed from that path: the real tool registry's cooldowns, the scheduled
self-resolution pass that ``start_up`` starts, and the FFmpeg watchdog that the supervisor
starts with the container."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.media import MediaKind, MediaMetadata, MetadataStatus
from exstreamtv.domain.profiles import StreamProfile
from exstreamtv.errors import ExStreamTVError, ToolRefused
from exstreamtv.services.container import Container, open_container, start_up
from exstreamtv.store.channels import ChannelFields
from tests.lineups import on_air
from tests.seeding import ManualClock
from tests.support import alive, build_settings

COOLDOWNS = {
    "fetch_metadata_logs": 5.0,
    "rebuild_xmltv": 5.0,
    "reparse_filename_metadata": 30.0,
    "reprobe_media": 30.0,
    "refresh_source_metadata": 30.0,
    "rebuild_playout": 120.0,
    "restart_channel": 120.0,
}
SMALL = StreamProfile(name="Small", width=320, height=180, fps=25, preset="ultrafast",
                      video_bitrate_kbps=300, gop_seconds=1, audio_bitrate_kbps=64)  # fmt: skip


def sqlite(tmp_path: Path, **sections: object) -> Settings:
    return build_settings(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 't.db'}", **sections)


async def until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait (polling the state itself) until ``check()`` holds; fail after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.05)


def sample(container: Container, name: str, **labels: str) -> float:
    return container.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_every_tool_of_the_running_server_keeps_its_cooldown(tmp_path: Path) -> None:
    clock = ManualClock()
    settings = sqlite(tmp_path, ai_agent={"bounded_agent_enabled": True})
    async with open_container(settings, clock=clock) as app:
        channel = await on_air(app, "4", [MediaMetadata(MediaKind.MOVIE, "Film", year=1999)])
        registry = app.automation.registry
        assert {tool.name for tool in registry.tools} == set(COOLDOWNS)
        for tool in registry.tools:
            cooldown = COOLDOWNS[tool.name]
            raw = {"channel": channel.id} if "channel" in tool.args.model_fields else {}
            args = registry.parse(tool, raw)
            await registry.invoke(tool, args)
            clock.ticks += cooldown - 0.5
            with pytest.raises(ToolRefused, match="cooling down"):
                await registry.invoke(tool, args)
            clock.ticks += 0.5
            with contextlib.suppress(ToolRefused):
                await registry.invoke(tool, args)
                continue
            pytest.fail(f"{tool.name} was still cooling down after {cooldown} s")


async def test_a_started_server_runs_the_scheduled_self_resolution_pass(tmp_path: Path) -> None:
    flags = {
        "bounded_agent_enabled": True,
        "metadata_self_resolution_enabled": True,
        "metadata_self_resolution_interval_sec": 0.05,
    }
    async with open_container(sqlite(tmp_path, ai_agent=flags)) as app:
        placeholder = MediaMetadata(MediaKind.MOVIE, "x1", status=MetadataStatus.PLACEHOLDER)
        await on_air(app, "5", [placeholder, placeholder])  # ratio 1.0, above 0.2
        assert not app.automation.agent.runs
        await start_up(app, extend_playouts=False)
        runs = app.automation.agent.runs
        await until(
            lambda: any(r.trigger == "self_resolution:schedule" for r in runs),
            30,
            "the 5-minute pass to run self-resolution",
        )


async def test_a_channel_whose_ffmpeg_goes_silent_is_restarted_by_the_running_watchdog(
    tmp_path: Path,
) -> None:
    settings = sqlite(tmp_path, streaming={"watchdog_timeout_sec": 5})
    async with open_container(settings) as app:
        await app.profiles.create(SMALL, default=True)
        channel = await app.channels.create(ChannelFields(ChannelNumber.parse("8"), "Quiet"))
        received = 0
        viewer = await app.live.open(channel)  # nothing scheduled: the offline slate

        async def watch() -> None:
            nonlocal received
            async for chunk in viewer:
                received += len(chunk)

        reader = asyncio.create_task(watch())
        try:
            session = app.live.sessions["8"]
            await until(lambda: received > 0 and session.current_pid is not None, 60, "bytes")
            silent = session.current_pid
            assert silent is not None
            assert sample(app, "exstreamtv_channel_restarts_total", reason="watchdog",
                          outcome="allowed") == 0  # fmt: skip
            os.kill(silent, signal.SIGSTOP)  # FFmpeg hangs: alive, but no output
            await until(
                lambda: session.current_pid not in (None, silent) and not alive(silent),
                60,
                "the watchdog to replace the silent FFmpeg",
            )
            assert sample(app, "exstreamtv_channel_restarts_total", reason="watchdog",
                          outcome="allowed") == 1  # fmt: skip
            before = received
            await until(lambda: received > before, 30, "the viewer to get bytes again")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ExStreamTVError):
                await reader

"""The demo channels get real schedules and playouts at first start (real FFmpeg clips)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import EntryKind
from exstreamtv.services.container import open_container, start_up
from tests.support import build_settings


@pytest.mark.slow
async def test_demo_channels_air_from_now_to_the_horizon_without_warnings(
    tmp_path: Path,
) -> None:
    settings = build_settings(
        tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", demo={"enabled": True}
    )
    async with open_container(settings) as container:
        await start_up(container)
        await container.extender.wait_for_passes(1)
        now = container.clock.now()
        horizon = timedelta(hours=settings.playout.horizon_hours)
        kinds: dict[str, set[EntryKind]] = {}
        shows: dict[str, set[str | None]] = {}
        for number in ("1", "2"):
            channel = ChannelNumber.parse(number)
            info = await container.playouts.info(channel)
            assert info.warnings == ()
            assert info.first_start is not None and info.first_start <= now
            assert info.last_finish is not None and info.last_finish >= now + horizon
            assert await container.playouts.now(channel) is not None
            listed = await container.playouts.entries(channel, now, now + timedelta(hours=2))
            kinds[number] = {item.entry.kind for item in listed}
            shows[number] = {item.media.show for item in listed if item.media}
    assert {"Color Bars Theater", "Tone Patrol"} <= shows["1"]
    assert EntryKind.TAIL in kinds["1"]
    assert EntryKind.PRE_ROLL in kinds["2"] and EntryKind.CONTENT in kinds["2"]

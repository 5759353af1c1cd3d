"""The lineup/guide mismatch threshold (epg.plex_xmltv_mismatch_ratio_threshold)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideLinks
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.database import transaction
from exstreamtv.store.playouts import PlayoutRepository
from tests.lineups import episode, on_air
from tests.seeding import T0, add_channel
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return build_settings(tmp_path / "data", database_url, playout={"horizon_hours": 2})


async def lose_playout(container: Container, channel_id: int) -> None:
    """Simulate a failed or expired build: the channel keeps its schedule, no rows."""
    async with transaction(container.sessions) as session:
        await PlayoutRepository(session).replace_from(channel_id, T0 - timedelta(days=1), [], [])


async def test_guide_is_refused_when_too_many_scheduled_channels_lack_guide_data(
    clocked: Container,
) -> None:
    channels = [
        await on_air(clocked, str(n), [episode("Show", 1), episode("Show", 2)]) for n in (1, 2, 3)
    ]
    await lose_playout(clocked, channels[0].id)  # 1 of 3 = 33% > 15%
    with pytest.raises(XMLTVValidationError, match=r"1 of 3 channels have a schedule") as caught:
        await clocked.guide.xmltv(LINKS)
    assert (caught.value.reason, caught.value.channel) == ("lineup_mismatch", "1")


async def test_mismatch_under_the_threshold_and_unscheduled_channels_are_served(
    clocked: Container,
) -> None:
    scheduled = [
        await on_air(clocked, str(n), [episode("Show", 1)], minutes=30) for n in range(1, 8)
    ]
    await add_channel(clocked, "50")  # no schedule: honestly offline, never a mismatch
    await add_channel(clocked, "51")
    await lose_playout(clocked, scheduled[0].id)  # 1 of 9 = 11% <= 15%
    document = await clocked.guide.xmltv(LINKS)
    body = b"".join([chunk async for chunk in document.plain_stream()])
    assert b'channel="ch1.exstreamtv"' in body  # listed as offline, still in the guide


async def test_a_channel_that_loses_its_playout_after_a_guide_is_counted_in_the_next(
    clocked: Container,
) -> None:
    channels = [
        await on_air(clocked, str(n), [episode("Show", 1), episode("Show", 2)]) for n in (1, 2, 3)
    ]
    served = await clocked.guide.xmltv(LINKS)
    _ = [chunk async for chunk in served.gzip_stream()]

    await lose_playout(clocked, channels[1].id)
    clocked.guide._changes.playout_changed(channels[1].id)  # as every build and cut says
    with pytest.raises(XMLTVValidationError, match=r"1 of 3 channels") as caught:
        await clocked.guide.xmltv(LINKS)
    assert caught.value.channel == "2"

    await clocked.playouts.build(channels[1].number, BuildMode.RESET)
    again = await clocked.guide.xmltv(LINKS)
    body = b"".join([chunk async for chunk in again.plain_stream()])
    assert body.count(b"<programme ") >= 6

"""The background extender: builds at start, keeps up as time passes, stops cleanly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.services.container import Container, open_container, start_up
from exstreamtv.services.playout_extender import PlayoutExtender
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.database import transaction
from tests.seeding import ManualClock, add_channel, add_collection, add_show, items_schedule
from tests.support import build_settings

HORIZON = timedelta(hours=48)


async def scheduled_channel(container: Container, number: str) -> ChannelNumber:
    """A channel with a schedule attached but no playout (as after a crash mid-attach)."""
    ids = await add_show(container, f"Show {number}", [22, 23])
    collection = await add_collection(container, f"C{number}", ids)
    schedule = await container.schedules.create(items_schedule(f"S{number}", collection))
    channel = await add_channel(container, number)
    async with transaction(container.sessions) as session:
        await ChannelRepository(session).set_schedule(
            channel.number, schedule.id, container.clock.now()
        )
    return channel.number


async def test_extender_builds_every_channel_at_start_and_stops_cleanly(
    clocked: Container, clock: ManualClock
) -> None:
    numbers = [await scheduled_channel(clocked, n) for n in ("1", "2")]
    extender = PlayoutExtender(clocked.playouts, interval_sec=3600)
    extender.start()
    await extender.wait_for_passes(1)
    for number in numbers:
        last = (await clocked.playouts.info(number)).last_finish
        assert last is not None and last >= clock.now() + HORIZON
    was_running = extender.running
    await extender.stop()  # while it sleeps for an hour: returns at once
    assert (was_running, extender.running) == (True, False)
    await extender.stop()  # idempotent


async def test_extender_keeps_extending_as_time_passes(
    clocked: Container, clock: ManualClock
) -> None:
    number = await scheduled_channel(clocked, "1")
    extender = PlayoutExtender(clocked.playouts, interval_sec=0.001)
    extender.start()
    try:
        await extender.wait_for_passes(1)
        later = clock.advance(timedelta(hours=30))
        await extender.wait_for_passes(extender.passes + 2)  # a whole pass after the move
        info = await clocked.playouts.info(number)
        assert info.last_finish is not None and info.last_finish >= later + HORIZON
        assert info.last_mode == "continue"
    finally:
        await extender.stop()


async def test_start_up_starts_the_extender_and_closing_the_container_stops_it(
    tmp_path: Path,
) -> None:
    settings = build_settings(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with open_container(settings) as container:
        number = await scheduled_channel(container, "1")
        await start_up(container)
        await container.extender.wait_for_passes(1)
        assert (await container.playouts.now(number)) is not None
        extender = container.extender
    assert not extender.running
    async with open_container(settings) as container:
        await start_up(container, extend_playouts=False)
        assert not container.extender.running

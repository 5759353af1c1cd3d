"""Two builds of one channel never interleave; the per-channel locks stay bounded."""

from __future__ import annotations

import asyncio
import threading
from itertools import pairwise
from typing import Any, Literal

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.scheduling.engine import BuildResult
from exstreamtv.scheduling.engine import build as engine_build
from exstreamtv.services import playouts as playouts_module
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.services.channels import ChannelService
from exstreamtv.services.container import Container
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import PlayoutService
from tests.seeding import add_channel, add_collection, add_show, items_schedule


class WatchedLock(asyncio.Lock):
    """A lock that reports when someone has to wait for it."""

    def __init__(self, contended: asyncio.Event) -> None:
        super().__init__()
        self._contended = contended

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self._contended.set()
        return await super().acquire()


class WatchedLocks(ChannelLocks):
    """Per-channel locks that set ``contended`` when a build has to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.contended = asyncio.Event()
        self._watched: dict[int, asyncio.Lock] = {}

    def lock(self, channel_id: int) -> asyncio.Lock:
        if channel_id not in self._watched:
            self._watched[channel_id] = WatchedLock(self.contended)
        return self._watched[channel_id]


async def test_concurrent_builds_of_one_channel_are_serialised(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await add_show(container, "A", [20, 25])
    schedule = await container.schedules.create(
        items_schedule("A", await add_collection(container, "A", ids))
    )
    channel = await add_channel(container, "1")
    await container.playouts.attach(channel.number, schedule.id)

    loop = asyncio.get_running_loop()
    events: list[str] = []
    first_inside, second_inside = asyncio.Event(), asyncio.Event()
    release = threading.Event()

    def gated_build(*args: Any) -> BuildResult:
        events.append("enter")
        loop.call_soon_threadsafe((second_inside if first_inside.is_set() else first_inside).set)
        release.wait(timeout=60)
        events.append("exit")
        return engine_build(*args)

    monkeypatch.setattr(playouts_module, "build", gated_build)
    locks = WatchedLocks()
    service = PlayoutService(
        container.sessions, container.settings, container.clock, container.metrics, locks
    )
    first = asyncio.create_task(service.build(channel.number, BuildMode.REFRESH))
    await first_inside.wait()
    second = asyncio.create_task(service.build(channel.number, BuildMode.REFRESH))
    waited = asyncio.create_task(locks.contended.wait())
    entered = asyncio.create_task(second_inside.wait())
    await asyncio.wait({waited, entered}, return_when=asyncio.FIRST_COMPLETED)
    release.set()
    results = await asyncio.gather(first, second)
    waited.cancel()
    entered.cancel()

    assert events == ["enter", "exit", "enter", "exit"]
    assert results[1].removed == results[0].added  # the second saw all of the first's work
    listed = await container.playouts.entries(channel.number)
    assert all(a.entry.finish_ms == b.entry.start_ms for a, b in pairwise(listed))


async def test_deleting_a_channel_drops_its_build_lock(container: Container) -> None:
    locks = ChannelLocks()
    channels = ChannelService(container.sessions, container.clock, locks)
    service = PlayoutService(
        container.sessions, container.settings, container.clock, container.metrics, locks
    )
    ids = await add_show(container, "A", [20])
    schedule = await container.schedules.create(
        items_schedule("A", await add_collection(container, "A", ids))
    )
    for number in ("1", "2"):
        channel = await add_channel(container, number)
        await service.attach(channel.number, schedule.id)
    assert len(locks) == 2
    await channels.delete(ChannelNumber(1))
    assert len(locks) == 1

"""Self-resolution under load: a burst of concurrent triggers runs once per scope per
cooldown, and hundreds of cycles with failing tools leave memory and tasks flat."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.test_metadata_resolution import World, build

SCOPES: list[int | None] = [None, 1, 2, 3, 4]


async def test_a_hundred_concurrent_triggers_run_once_per_scope_per_cooldown(
    tmp_path: Path,
) -> None:
    world = World()
    gate = world.gate = asyncio.Event()
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=300)

    async def burst() -> Counter[str]:
        tasks = [
            asyncio.create_task(resolution.request(SCOPES[n % 5], ("guide", "schedule")[n % 2]))
            for n in range(100)
        ]
        await world.wait_reads(len(SCOPES))  # every scope's first request is inside its run
        gate.set()
        outcomes = await asyncio.gather(*tasks)
        gate.clear()
        world.reads = 0
        return Counter("ran" if o.ran else o.reason for o in outcomes)

    assert await burst() == {"ran": 5, "duplicate": 95}
    assert sorted(Counter(r.channel or 0 for r in h.agent.runs).values()) == [1] * 5
    h.clock.advance(299)
    gate.set()
    again = await asyncio.gather(*(resolution.request(SCOPES[n % 5], "guide")
                                   for n in range(100)))  # fmt: skip
    assert Counter(o.reason for o in again) == {"cooldown": 100}
    h.clock.advance(1)
    gate.clear()
    assert await burst() == {"ran": 5, "duplicate": 95}
    assert len(h.agent.runs) == 10


@pytest.fixture
def quiet() -> Iterator[None]:
    """The soak logs a suspension or an escalation every few cycles; keep them out of the
    captured records so the test measures the server's memory, not pytest's."""
    logger = logging.getLogger("exstreamtv")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@pytest.mark.usefixtures("quiet")
async def test_hundreds_of_failing_cycles_keep_memory_and_tasks_flat(tmp_path: Path) -> None:
    world = World()
    world.ratios.update(dict.fromkeys(range(1, 60), 0.5))
    h, resolution = build(
        tmp_path, world, metadata_self_resolution_cooldown_sec=0,
        metadata_self_resolution_disable_hours=0.01,
    )  # fmt: skip
    tasks_before = len(asyncio.all_tasks())

    async def cycles(count: int, start: int) -> None:
        for i in range(start, start + count):
            scope = None if i % 7 == 0 else i % 59 + 1
            # runs of four failing cycles, then four good ones (three failures shut down)
            for name in ("reparse_filename_metadata", "reprobe_media", "refresh_source_metadata"):
                h.tools[name].results = [(i // 4) % 2 == 1]
            h.tools["rebuild_xmltv"].results = [i % 3 != 0]
            if i % 2:
                await resolution.request(scope, "schedule")
            else:
                resolution.request_soon(scope, "guide")
                resolution.request_soon(scope, "troubleshooting")
                await asyncio.gather(*resolution._pending.values())
            h.clock.advance(31)
            for fake in h.tools.values():
                fake.calls.clear()

    tracemalloc.start()
    try:
        await cycles(300, 0)  # warm up: every map and deque reaches its steady size
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        await cycles(600, 300)
        gc.collect()
        last, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last - first < 64 * 1024, f"grew by {last - first} bytes over 600 cycles"
    assert len(asyncio.all_tasks()) == tasks_before
    assert len(h.agent.runs) == 100
    assert h.sample("exstreamtv_metadata_resolution_suspensions_total") > 0
    assert h.sample("exstreamtv_agent_escalations_total", reason="metadata_failures") > 0

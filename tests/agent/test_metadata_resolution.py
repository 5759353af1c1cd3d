"""Metadata self-resolution on the real agent loop, supervisor and containment: triggers,
duplicates, cooldown, failure memory, guardrails, recursion, regression, and bounds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exstreamtv.agent.metadata_resolution import (
    MAX_PENDING,
    MetadataSelfResolution,
    in_metadata_resolution_context,
)
from exstreamtv.agent.planner import RulePlanner
from exstreamtv.config import AIAgentConfig
from tests.agent.harness import Harness, make_harness

ENABLED = {
    "bounded_agent_enabled": True,
    "metadata_self_resolution_enabled": True,
    "metadata_self_resolution_cooldown_sec": 300,
}


class World:
    """Ratios per scope and the health counters, as the test sets them."""

    def __init__(self) -> None:
        self.ratios: dict[int | None, float] = {}
        self.after: dict[int | None, float] = {}  # the ratio once a run happened
        self.validation_failures = 0.0
        self.stream_failures = 0.0
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self._read = asyncio.Condition()

    async def ratio(self, scope: int | None) -> float:
        async with self._read:
            self.reads += 1
            self._read.notify_all()
        if self.gate is not None:
            await self.gate.wait()
        return self.ratios.get(scope, 0.5)

    async def wait_reads(self, count: int) -> None:
        """Until the ratio has been read ``count`` times (runs are inside)."""
        async with self._read:
            await self._read.wait_for(lambda: self.reads >= count)

    async def counters(self) -> tuple[float, float]:
        return self.validation_failures, self.stream_failures


def build(tmp_path: Path, world: World, **flags: Any) -> tuple[Harness, MetadataSelfResolution]:
    h = make_harness(tmp_path, RulePlanner(), **{**ENABLED, **flags})
    config = AIAgentConfig(**{**ENABLED, **flags})
    resolution = MetadataSelfResolution(
        config, h.agent, ratio=world.ratio, counters=world.counters, clock=h.clock,
        metrics=h.metrics,
    )  # fmt: skip

    def apply_after(_args: object) -> None:
        world.ratios.update(world.after)

    for fake in h.tools.values():
        original = fake.run

        async def run(args: Any, original: Callable[..., Any] = original) -> Any:
            apply_after(args)
            return await original(args)

        fake.run = run  # type: ignore[method-assign]
        h.agent.registry.register(fake.tool())
    return h, resolution


async def test_a_request_runs_the_metadata_goal_and_reports_the_ratios(tmp_path: Path) -> None:
    world = World()
    world.ratios[4], world.after[4] = 0.5, 0.2
    h, resolution = build(tmp_path, world)
    outcome = await resolution.request(4, "api")
    assert outcome.ran
    assert (outcome.ratio_before, outcome.ratio_after) == (0.5, 0.2)
    run = h.agent.runs[-1]
    assert (run.goal.value, run.channel, run.trigger) == ("metadata", 4, "self_resolution:api")
    assert [a.model_dump()["channel"] for a in h.tools["reparse_filename_metadata"].calls] == [4]
    assert h.sample("exstreamtv_metadata_resolution_runs_total", trigger="api",
                    outcome="improved") == 1  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"bounded_agent_enabled": False}, "bounded_agent_disabled"),
        ({"metadata_self_resolution_enabled": False}, "self_resolution_disabled"),
    ],
)
async def test_nothing_runs_unless_both_flags_are_on(
    tmp_path: Path, flags: dict[str, bool], reason: str
) -> None:
    world = World()
    h, resolution = build(tmp_path, world, **flags)
    outcome = await resolution.request(None, "schedule")
    assert (outcome.ran, outcome.reason) == (False, reason)
    assert world.reads == 0
    assert not h.agent.runs
    assert h.sample("exstreamtv_metadata_resolution_aborts_total", reason=reason) == 1


async def test_a_second_request_while_one_runs_is_a_duplicate(tmp_path: Path) -> None:
    world = World()
    world.gate = asyncio.Event()
    _, resolution = build(tmp_path, world)
    first = asyncio.create_task(resolution.request(1, "guide"))
    await world.wait_reads(1)
    assert resolution.active == {1}
    second = await resolution.request(1, "troubleshooting")
    other = asyncio.create_task(resolution.request(2, "guide"))  # another channel may run
    world.gate.set()
    assert (second.ran, second.reason) == (False, "duplicate")
    assert (await first).ran
    assert (await other).ran
    assert resolution.active == frozenset()


async def test_one_run_per_scope_per_cooldown(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=300)
    assert (await resolution.request(None, "schedule")).ran
    h.clock.advance(299)
    assert (await resolution.request(None, "schedule")).reason == "cooldown"
    assert (await resolution.request(5, "schedule")).ran  # its own cooldown
    h.clock.advance(1)
    assert (await resolution.request(None, "schedule")).ran


async def test_three_runs_without_improvement_suspend_the_channel_for_an_hour(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    world.ratios[9] = 0.4
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=0)
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert (await resolution.request(9, "guide")).ran
    assert "Metadata self-resolution temporarily suspended for channel 9" in caplog.messages
    assert (await resolution.request(9, "guide")).reason == "suspended"
    assert resolution.suspensions() == {"9": pytest.approx(3600)}
    assert h.sample("exstreamtv_metadata_resolution_suspensions_total") == 1
    assert (await resolution.request(8, "guide")).ran
    h.clock.advance(3600)
    assert (await resolution.request(9, "guide")).ran


async def test_an_improvement_resets_the_failure_memory(tmp_path: Path) -> None:
    world = World()
    world.ratios[9] = 0.4
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=0)

    async def attempt() -> bool:
        h.clock.advance(30)  # the tools' own cooldowns
        return (await resolution.request(9, "guide")).ran

    assert await attempt()
    assert await attempt()
    world.after[9] = 0.3
    assert await attempt()  # improved: the count starts again
    world.after.clear()
    assert await attempt()
    assert await attempt()
    assert resolution.suspensions() == {}
    assert await attempt()
    assert resolution.suspensions() == {"9": pytest.approx(3600)}


async def test_pool_pressure_aborts_with_a_reason(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world)
    h.supervisor._cap = 10
    try:
        for channel in range(9):
            await h.supervisor.spawn(str(channel), ["sleep", "30"], purpose="item")
        outcome = await resolution.request(None, "schedule")
    finally:
        await h.supervisor.close()
    assert (outcome.ran, outcome.reason) == (False, "pool_pressure")
    [run] = h.agent.runs  # the run id the request reserved names what happened
    assert (run.id, run.outcome, run.reason, run.steps) == (
        outcome.run_id,
        "contained",
        "containment: pool_pressure",
        [],
    )


async def test_an_open_breaker_aborts_a_run_for_that_channel(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world)
    for _ in range(5):
        h.supervisor.record_failure("6")
    assert (await resolution.request(6, "guide")).reason == "breaker_open"
    assert (await resolution.request(None, "guide")).ran  # global runs see no breaker


async def test_restart_velocity_aborts_with_a_reason(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world)
    for channel in range(10):
        h.supervisor.restart(str(channel), "crash")
    assert (await resolution.request(None, "guide")).reason == "restart_velocity"


async def test_a_shut_down_agent_aborts_self_resolution(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world)
    h.agent._shutdown_until = h.clock.monotonic() + 10
    assert (await resolution.request(None, "guide")).reason == "agent_shut_down"


async def test_requests_from_inside_a_resolution_are_refused(tmp_path: Path) -> None:
    world = World()
    _, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=0)
    inner: list[str] = []
    seen: list[bool] = []

    async def nested_ratio(scope: int | None) -> float:
        seen.append(in_metadata_resolution_context())
        if scope == 1 and not inner:
            inner.append((await resolution.request(2, "troubleshooting")).reason)
        return 0.5

    resolution._ratio = nested_ratio
    assert not in_metadata_resolution_context()
    await resolution.request(1, "api")
    assert inner == ["recursion"]
    assert all(seen)
    assert not in_metadata_resolution_context()


@pytest.mark.parametrize(
    ("change", "disabled"),
    [
        ({"after": 0.61}, True),
        ({"after": 0.6}, False),  # a rise of exactly 0.1 is not a regression
        ({"validation_failures": 1.0}, True),
        ({"stream_failures": 1.0}, True),
    ],
)
async def test_a_run_that_makes_things_worse_disables_self_resolution(
    tmp_path: Path, change: dict[str, float], disabled: bool
) -> None:
    world = World()
    world.ratios[None] = 0.5
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=0)
    reparse = h.tools["reparse_filename_metadata"]
    original = reparse.run

    async def worse(args: Any) -> Any:
        if "after" in change:
            world.ratios[None] = change["after"]
        world.validation_failures += change.get("validation_failures", 0.0)
        world.stream_failures += change.get("stream_failures", 0.0)
        return await original(args)

    reparse.run = worse  # type: ignore[method-assign]
    h.agent.registry.register(reparse.tool())
    assert (await resolution.request(None, "guide")).ran
    assert (resolution.disabled_reason is not None) is disabled
    next_outcome = await resolution.request(None, "guide")
    if disabled:
        assert next_outcome.reason == "disabled_after_regression"
        assert [e.reason for e in h.agent.escalations] == ["regression"]
        assert h.sample("exstreamtv_metadata_resolution_regressions_total") == 1
    else:
        assert next_outcome.ran


async def test_the_schedule_runs_globally_only_above_a_ratio_of_0_2(tmp_path: Path) -> None:
    world = World()
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=0)
    world.ratios[None] = 0.2
    assert await resolution.scheduled_pass() is None
    world.ratios[None] = 0.21
    outcome = await resolution.scheduled_pass()
    assert outcome is not None and outcome.ran
    assert h.agent.runs[-1].channel is None


async def test_the_scheduled_task_ticks_and_stops_on_close(tmp_path: Path) -> None:
    world = World()
    world.ratios[None] = 0.9
    h, resolution = build(tmp_path, world)
    resolution._interval = 0.001
    ticked = asyncio.Event()
    real = world.ratio

    async def watched(scope: int | None) -> float:
        ticked.set()
        return await real(scope)

    resolution._ratio = watched
    resolution.start()
    await asyncio.wait_for(ticked.wait(), 10)
    await resolution.close()
    assert resolution._schedule is None
    assert h.agent.runs


async def test_request_soon_returns_at_once_and_bounds_waiting_requests(tmp_path: Path) -> None:
    world = World()
    world.gate = asyncio.Event()
    h, resolution = build(tmp_path, world)
    for channel in range(1, 101):
        resolution.request_soon(channel, "guide")
    resolution.request_soon(1, "guide")  # already waiting
    assert resolution.pending == MAX_PENDING
    assert h.sample("exstreamtv_metadata_resolution_aborts_total", reason="overloaded") == 100 - 32
    assert h.sample("exstreamtv_metadata_resolution_aborts_total", reason="duplicate") == 1
    world.gate.set()
    await asyncio.gather(*resolution._pending.values())
    assert len({run.channel for run in h.agent.runs}) == MAX_PENDING


async def test_request_soon_says_whether_it_started_joined_or_was_refused(
    tmp_path: Path,
) -> None:
    world = World()
    world.gate = asyncio.Event()
    h, resolution = build(tmp_path, world, metadata_self_resolution_cooldown_sec=300)
    first = resolution.request_soon(None, "guide")
    second = resolution.request_soon(None, "troubleshooting")
    other = resolution.request_soon(3, "guide")
    assert (first.status, second.status, other.status) == ("started", "joined", "started")
    assert first.run_id == second.run_id != other.run_id
    assert (first.triggered, second.triggered) == (True, True)
    world.gate.set()
    await asyncio.gather(*resolution._pending.values())
    assert {run.id for run in h.agent.runs} == {first.run_id, other.run_id}
    late = resolution.request_soon(None, "troubleshooting")
    assert (late.status, late.reason, late.run_id, late.triggered) == (
        "refused",
        "cooldown",
        None,
        False,
    )


async def test_close_cancels_waiting_requests(tmp_path: Path) -> None:
    world = World()
    world.gate = asyncio.Event()
    _, resolution = build(tmp_path, world)
    resolution.request_soon(None, "guide")
    await asyncio.sleep(0)
    await resolution.close()
    assert resolution.pending == 0


async def test_the_schedule_checks_every_300_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    world.ratios[None] = 0.9
    h, resolution = build(tmp_path, world)
    delays: list[float] = []
    second_wait = asyncio.Event()
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) > 1:
            second_wait.set()
            await real_sleep(3600)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # the schedule's wait between passes
    resolution.start()
    await asyncio.wait_for(second_wait.wait(), 10)
    await resolution.close()
    assert delays == [300.0, 300.0]
    assert [r.trigger for r in h.agent.runs] == ["self_resolution:schedule"]

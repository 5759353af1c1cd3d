"""Containment measured from the real supervisor and this process: no action while restart
velocity, pool pressure, an open breaker or memory growth says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from exstreamtv.agent.containment import RSS_WARM_UP_SEC
from exstreamtv.agent.planner import Goal
from exstreamtv.agent.tools import ToolArgs, ToolResult
from exstreamtv.errors import AutomationPaused
from tests.agent.harness import ScriptedPlanner, make_harness

SLEEPER = ["sleep", "30"]


async def test_ten_restarts_in_a_minute_hold_every_action(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 1.0)]))
    for channel in range(9):
        assert h.supervisor.restart(str(channel), "crash").allowed
    assert not h.containment.check().active  # 9 per minute is below the limit
    assert h.supervisor.restart("9", "crash").allowed
    with pytest.raises(AutomationPaused, match="restart_velocity"):
        await h.agent.run(Goal.METADATA)
    assert h.tools["fetch_metadata_logs"].calls == []
    assert h.agent.runs[-1].outcome == "contained"
    assert h.sample("exstreamtv_agent_containment_entries_total", reason="restart_velocity") == 1
    assert h.sample("exstreamtv_agent_containment_active") == 1
    h.clock.advance(60)
    await h.agent.run(Goal.METADATA)
    assert len(h.tools["fetch_metadata_logs"].calls) == 1
    assert h.sample("exstreamtv_agent_containment_active") == 0


async def test_pool_pressure_of_0_9_holds_every_action(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 1.0)]), max_processes=10)
    await h.supervisor.start()
    try:
        for n in range(8):
            await h.supervisor.spawn(str(n), SLEEPER, purpose="item")
        assert h.containment.check().pool_pressure == 0.8
        assert not h.containment.check().active
        await h.supervisor.spawn("8", SLEEPER, purpose="item")
        with pytest.raises(AutomationPaused, match="pool_pressure"):
            await h.agent.run(Goal.METADATA)
        assert h.tools["fetch_metadata_logs"].calls == []
    finally:
        await h.supervisor.close()


async def test_an_open_breaker_holds_actions_on_that_channel_only(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    for _ in range(5):
        h.supervisor.record_failure("3")
    h.agent._planner = ScriptedPlanner([("rebuild_playout", 1.0)])
    with pytest.raises(AutomationPaused, match="breaker_open"):
        await h.agent.run(Goal.PLAYOUT, 3)
    h.agent._planner = ScriptedPlanner([("rebuild_playout", 1.0)])
    await h.agent.run(Goal.PLAYOUT, 4)
    assert [a.model_dump() for a in h.tools["rebuild_playout"].calls] == [{"channel": 4}]


async def test_a_half_open_breaker_holds_an_idle_channel_only_while_a_trial_runs(
    tmp_path: Path,
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    for _ in range(5):
        h.supervisor.record_failure("3")
    h.clock.advance(120)  # open period over, and no viewer to make a trial
    state = h.containment.check("3")
    assert (state.breaker, state.active) == ("half_open", False)
    h.agent._planner = ScriptedPlanner([("rebuild_playout", 1.0)])
    run = await h.agent.run(Goal.PLAYOUT, 3)  # an idle channel is not blocked for good
    assert run.outcome == "completed"
    assert h.supervisor.restart("3", "crash").allowed  # a viewer came: the one trial starts
    assert h.containment.check("3").reasons == ("breaker_open",)
    h.agent._planner = ScriptedPlanner([("fetch_metadata_logs", 1.0)])
    with pytest.raises(AutomationPaused, match="breaker_open"):
        await h.agent.run(Goal.GUIDE, 3)
    h.supervisor.record_success("3")  # the trial succeeded
    assert (h.containment.check("3").breaker, h.containment.check("3").active) == (
        "closed",
        False,
    )


async def test_containment_starting_mid_run_ends_the_run(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())

    async def restart_storm(args: ToolArgs) -> ToolResult:
        for channel in range(10):
            h.supervisor.restart(f"s{channel}", "crash")
        return await original(args)

    fake = h.tools["fetch_metadata_logs"]
    original = fake.run
    fake.run = restart_storm  # type: ignore[method-assign]
    h.agent.registry.register(fake.tool())
    h.agent._planner = ScriptedPlanner([("fetch_metadata_logs", 1.0), ("rebuild_xmltv", 1.0)])
    run = await h.agent.run(Goal.GUIDE)
    assert run.outcome == "contained"
    assert h.tools["rebuild_xmltv"].calls == []


async def test_memory_growth_over_100_mb_in_ten_minutes_holds_every_action(
    tmp_path: Path,
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 1.0)]))
    h.clock.advance(RSS_WARM_UP_SEC)
    assert not h.containment.check().active  # the first sample
    ballast = bytearray(b"\x01") * (160 * 1024 * 1024)  # touched pages: real RSS
    try:
        state = h.containment.check()
        assert state.rss_growth_bytes > 100 * 1024 * 1024
        with pytest.raises(AutomationPaused, match="memory_growth"):
            await h.agent.run(Goal.METADATA)
        h.clock.advance(601)  # the low sample leaves the window
        assert not h.containment.check().active
    finally:
        del ballast


async def test_a_fresh_servers_warm_up_is_not_memory_growth(tmp_path: Path) -> None:
    """Its first guide, stream, scan and pages take tens of MB in its first minutes: the
    agent is not held for that; growth counts from the end of the warm-up."""
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 1.0)]))
    assert not h.containment.check().active  # at start: low
    ballast = bytearray(b"\x01") * (160 * 1024 * 1024)  # warming up
    try:
        h.clock.advance(RSS_WARM_UP_SEC - 1)
        assert h.containment.check().rss_growth_bytes == 0
        h.clock.advance(2)
        warm = h.containment.check()  # the first sample that counts
        assert not warm.active and warm.rss_growth_bytes == 0
        run = await h.agent.run(Goal.METADATA)
        assert run.outcome != "contained"
        more = bytearray(b"\x01") * (120 * 1024 * 1024)  # growth after the warm-up counts
        try:
            assert "memory_growth" in h.containment.check().reasons
        finally:
            del more
    finally:
        del ballast


def test_memory_samples_are_bounded(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    h.clock.advance(RSS_WARM_UP_SEC)
    for _ in range(5000):
        h.containment.check()
        h.clock.advance(0.01)
    assert len(h.containment._samples) <= 600


async def test_an_approval_waits_while_containment_holds(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("restart_channel", 0.9)]))
    await h.agent.run(Goal.STREAM, 4)
    [held] = h.agent.approvals
    for _ in range(5):
        h.supervisor.record_failure("4")
    with pytest.raises(AutomationPaused, match="breaker_open"):
        await h.agent.approve(held.id)
    assert h.agent.approvals[0].status == "pending"
    assert h.tools["restart_channel"].calls == []

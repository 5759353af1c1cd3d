"""The bounded loop on the real supervisor and containment: step, risk and repetition
limits, confidence gating and decay, the shutdown after repeated metadata failures, and
approvals."""

from __future__ import annotations

from pathlib import Path

import pytest

from exstreamtv.agent.planner import Goal
from exstreamtv.agent.policy import Policy, RunSoFar, Verdict
from exstreamtv.errors import AutomationDisabled, AutomationPaused, Conflict, NotFound
from tests.agent.harness import ScriptedPlanner, make_harness

META = "reparse_filename_metadata"


async def test_nothing_runs_while_the_agent_flag_is_off(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([(META, 1.0)]), bounded_agent_enabled=False)
    with pytest.raises(AutomationDisabled, match="bounded_agent_enabled"):
        await h.agent.run(Goal.METADATA)
    assert h.tools[META].calls == []


async def test_a_run_takes_at_most_three_steps(tmp_path: Path) -> None:
    planner = ScriptedPlanner(
        [("fetch_metadata_logs", 0.9), (META, 0.9), ("reprobe_media", 0.9),
         ("rebuild_xmltv", 0.9)]
    )  # fmt: skip
    h = make_harness(tmp_path, planner)
    run = await h.agent.run(Goal.METADATA)
    assert [s.tool for s in run.steps] == ["fetch_metadata_logs", META, "reprobe_media"]
    assert h.tools["rebuild_xmltv"].calls == []
    assert run.outcome == "completed"
    assert "step limit (3)" in run.reason


async def test_the_same_tool_runs_at_most_once_per_run(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([(META, 0.9), (META, 0.9)]))
    run = await h.agent.run(Goal.METADATA)
    assert len(h.tools[META].calls) == 1
    assert run.outcome == "denied"
    assert run.steps[-1].verdict == "deny"
    assert "already ran" in run.reason


def test_a_second_high_risk_tool_in_one_run_is_denied_even_when_approved(
    tmp_path: Path,
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    restart = h.agent.registry.get("restart_channel")
    policy = Policy(h.agent._flags)
    assert policy.decide(restart, 1.0, RunSoFar(), approved=True).verdict is Verdict.ALLOW
    second = policy.decide(restart, 1.0, RunSoFar(high_risk_used=1), approved=True)
    assert second.verdict is Verdict.DENY
    assert "one high-risk" in second.reason


@pytest.mark.parametrize(("confidence", "ran"), [(0.29, False), (0.3, True)])
async def test_metadata_tools_need_a_confidence_of_at_least_0_3(
    tmp_path: Path, confidence: float, ran: bool
) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([(META, confidence)]))
    run = await h.agent.run(Goal.METADATA)
    assert bool(h.tools[META].calls) is ran
    if not ran:
        assert run.outcome == "denied"
        assert "below 0.3" in run.reason
        assert h.sample("exstreamtv_agent_policy_decisions_total", verdict="deny") == 1


async def test_forcing_metadata_resolution_lifts_the_confidence_gate(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([(META, 0.05)]), force_metadata_resolution=True)
    await h.agent.run(Goal.METADATA)
    assert len(h.tools[META].calls) == 1


async def test_the_gate_does_not_apply_to_diagnostics(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("fetch_metadata_logs", 0.05)]))
    await h.agent.run(Goal.METADATA)
    assert len(h.tools["fetch_metadata_logs"].calls) == 1


async def test_each_failure_multiplies_confidence_by_0_8_until_the_gate_closes(
    tmp_path: Path,
) -> None:
    planner = ScriptedPlanner([(META, 0.45), ("reprobe_media", 0.45),
                               ("refresh_source_metadata", 0.45)])  # fmt: skip
    h = make_harness(tmp_path, planner)
    h.tools[META].results = [False]
    h.tools["reprobe_media"].results = [False]
    run = await h.agent.run(Goal.METADATA)
    assert [round(s.confidence, 4) for s in run.steps] == [0.45, 0.36, 0.288]
    assert h.tools["refresh_source_metadata"].calls == []  # 0.288 < 0.3
    assert run.outcome == "denied"


async def test_confidence_never_decays_below_0_1(tmp_path: Path) -> None:
    planner = ScriptedPlanner(
        [("fetch_metadata_logs", 0.11), ("rebuild_xmltv", 1.0), ("rebuild_playout", 1.0)]
    )
    h = make_harness(tmp_path, planner)
    for name in ("fetch_metadata_logs", "rebuild_xmltv"):
        h.tools[name].results = [False]
    run = await h.agent.run(Goal.GUIDE, 1)
    assert [round(s.confidence, 4) for s in run.steps] == [0.11, 0.1, 0.1]


async def test_three_consecutive_metadata_failures_shut_the_agent_down(tmp_path: Path) -> None:
    h = make_harness(
        tmp_path, ScriptedPlanner(), metadata_self_resolution_disable_hours=2.0,
        force_metadata_resolution=True,
    )  # fmt: skip
    for name in (META, "reprobe_media", "refresh_source_metadata"):
        h.tools[name].results = [False]
    h.agent._planner = ScriptedPlanner([(META, 1.0), ("reprobe_media", 1.0)])
    await h.agent.run(Goal.METADATA)
    assert h.agent.metadata_failures == 2
    h.agent._planner = ScriptedPlanner([("refresh_source_metadata", 1.0), ("rebuild_xmltv", 1.0)])
    run = await h.agent.run(Goal.METADATA)
    assert run.outcome == "shut_down"
    assert h.tools["rebuild_xmltv"].calls == []
    assert [e.reason for e in h.agent.escalations] == ["metadata_failures"]
    assert h.sample("exstreamtv_agent_escalations_total", reason="metadata_failures") == 1
    with pytest.raises(AutomationPaused, match="consecutive"):
        await h.agent.run(Goal.METADATA)
    h.clock.advance(2 * 3600 - 1)
    with pytest.raises(AutomationPaused):
        await h.agent.run(Goal.METADATA)
    h.clock.advance(2)
    h.agent._planner = ScriptedPlanner([("rebuild_xmltv", 1.0)])
    assert (await h.agent.run(Goal.METADATA)).outcome == "completed"


async def test_a_metadata_success_resets_the_failure_count(tmp_path: Path) -> None:
    planner = ScriptedPlanner([(META, 1.0), ("reprobe_media", 1.0),
                               ("refresh_source_metadata", 1.0)])  # fmt: skip
    h = make_harness(tmp_path, planner)
    h.tools[META].results = [False]
    h.tools["refresh_source_metadata"].results = [False]
    await h.agent.run(Goal.METADATA)
    assert h.agent.metadata_failures == 1
    assert h.agent.shutdown_left() == 0


async def test_high_risk_tools_wait_for_approval_and_run_once_approved(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("restart_channel", 0.9)]))
    run = await h.agent.run(Goal.STREAM, 7)
    assert run.outcome == "awaiting_approval"
    assert h.tools["restart_channel"].calls == []
    [held] = h.agent.approvals
    assert (held.tool, held.channel, held.status) == ("restart_channel", 7, "pending")
    approved = await h.agent.approve(held.id)
    assert (approved.status, approved.result) == ("approved", "ok")
    assert [a.model_dump() for a in h.tools["restart_channel"].calls] == [{"channel": 7}]
    with pytest.raises(Conflict, match="already approved"):
        await h.agent.approve(held.id)


async def test_a_rejected_approval_never_runs(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("restart_channel", 0.9)]))
    await h.agent.run(Goal.STREAM, 7)
    [held] = h.agent.approvals
    assert h.agent.reject(held.id).status == "rejected"
    with pytest.raises(Conflict):
        await h.agent.approve(held.id)
    with pytest.raises(NotFound):
        h.agent.reject(999)
    assert h.tools["restart_channel"].calls == []


async def test_pending_approvals_expire_after_an_hour(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("restart_channel", 0.9)]))
    await h.agent.run(Goal.STREAM, 7)
    h.clock.advance(3601)
    [held] = h.agent.approvals
    assert held.status == "expired"
    with pytest.raises(Conflict, match="expired"):
        await h.agent.approve(held.id)


async def test_kept_runs_and_approvals_are_bounded(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner())
    for _ in range(150):
        h.agent._planner = ScriptedPlanner([("restart_channel", 0.9)])
        await h.agent.run(Goal.STREAM, 1)
    assert len(h.agent.runs) == 100
    assert len(h.agent.approvals) == 50


async def test_an_unknown_planned_tool_ends_the_run_as_failed(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([("rm_rf", 1.0)]))
    run = await h.agent.run(Goal.METADATA)
    assert run.outcome == "failed"
    assert h.sample("exstreamtv_agent_runs_total", outcome="failed") == 1


async def test_a_tool_that_raises_counts_as_a_failure(tmp_path: Path) -> None:
    h = make_harness(tmp_path, ScriptedPlanner([(META, 0.5), ("rebuild_xmltv", 0.5)]))

    async def broken(_args: object) -> object:
        raise RuntimeError("boom")

    h.agent.registry._tools[META] = h.agent.registry.get(META).__class__(
        **{**{f: getattr(h.agent.registry.get(META), f) for f in
              ("name", "description", "args", "risk", "kind")}, "run": broken}
    )  # fmt: skip
    run = await h.agent.run(Goal.METADATA)
    assert run.steps[0].result == "error"
    assert round(run.steps[1].confidence, 2) == 0.4
    assert h.agent.metadata_failures == 1
    assert h.sample("exstreamtv_agent_tool_calls_total", tool=META, result="error") == 1

"""``/api/agent``: the bounded agent's runs, its approvals and its state (admin only).

Starting a run is refused with a 409 problem while ``ai_agent.bounded_agent_enabled`` is
off, and with a 503 problem (and Retry-After) while containment holds or the agent is shut
down after repeated failures; the ``detail`` says which.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from exstreamtv.agent.containment import (
    POOL_PRESSURE_LIMIT,
    RESTART_VELOCITY_LIMIT,
    RSS_GROWTH_LIMIT,
)
from exstreamtv.agent.llm import LLMPlanner
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.web.agent_schemas import (
    ApprovalOut,
    ContainmentOut,
    EscalationOut,
    FlagsOut,
    RunIn,
    RunOut,
    StateOut,
)
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin

router = APIRouter(prefix="/api/agent", tags=["agent"], dependencies=[Depends(require_admin)])


@router.get("/runs")
async def runs(app: ContainerDep, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[RunOut]:
    """The most recent runs, newest first (the server keeps the last 100)."""
    kept = list(app.automation.agent.runs)[-limit:]
    return [RunOut.of(run) for run in reversed(kept)]


@router.post("/runs", status_code=status.HTTP_201_CREATED)
async def start_run(body: RunIn, app: ContainerDep) -> RunOut:
    """Run ``goal`` now (at most 3 steps) and return the finished run. HIGH-risk steps are
    held for approval (outcome ``awaiting_approval``). 409 when the agent is disabled; 503
    under containment or during a shutdown; 404 for an unknown channel."""
    agent = app.automation.agent
    agent.check_ready()
    channel_id = None
    if body.channel is not None:
        channel_id = (await app.channels.channel(ChannelNumber.parse(body.channel))).id
    return RunOut.of(await agent.run(body.goal, channel_id, trigger="api"))


@router.get("/approvals")
async def approvals(app: ContainerDep) -> list[ApprovalOut]:
    """Held HIGH-risk calls and the decided ones kept (newest first, at most 50)."""
    return [ApprovalOut.of(a) for a in app.automation.agent.approvals]


@router.post("/approvals/{approval_id}/approve")
async def approve(approval_id: IdPath, app: ContainerDep) -> ApprovalOut:
    """Run the held call now, through containment, the policy and the cooldowns. 404 for an
    unknown id, 409 when already decided (or the agent is disabled), 503 under containment
    or during a shutdown (the approval stays pending)."""
    return ApprovalOut.of(await app.automation.agent.approve(approval_id))


@router.post("/approvals/{approval_id}/reject")
async def reject(approval_id: IdPath, app: ContainerDep) -> ApprovalOut:
    """Drop the held call. 404 for an unknown id, 409 when already decided."""
    return ApprovalOut.of(app.automation.agent.reject(approval_id))


@router.get("/state")
async def state(app: ContainerDep) -> StateOut:
    """Flags, containment with each measured value, suspensions, shutdown and escalations."""
    automation, flags = app.automation, app.settings.ai_agent
    resolution = automation.resolution
    measured = automation.containment.check(None)
    return StateOut(
        flags=FlagsOut.model_validate(flags.model_dump()),
        planner="llm" if isinstance(automation.planner, LLMPlanner) else "rules",
        containment=ContainmentOut.of(
            measured, (RESTART_VELOCITY_LIMIT, POOL_PRESSURE_LIMIT, RSS_GROWTH_LIMIT)
        ),
        shutdown_until=automation.agent.shutdown_until(),
        consecutive_metadata_failures=automation.agent.metadata_failures,
        self_resolution_disabled_reason=resolution.disabled_reason,
        suspensions={k: round(v, 1) for k, v in resolution.suspensions().items()},
        active_resolutions=sorted(str(k) for k in resolution.active),
        escalations=[EscalationOut.of(e) for e in reversed(automation.agent.escalations)],
    )

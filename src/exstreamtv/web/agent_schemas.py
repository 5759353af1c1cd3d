"""Request and response bodies of ``/api/agent``: runs, approvals and the automation state.

Times are ISO-8601 UTC. Channels are given by number in requests and shown by row id
(``channel_id``) in runs, as the agent keys them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from exstreamtv.agent.containment import ContainmentState
from exstreamtv.agent.loop import AgentRun, Approval, Escalation
from exstreamtv.agent.planner import Goal
from exstreamtv.web.schemas import Input


class RunIn(Input):
    """Start a run for ``goal``; ``channel`` is a channel number (omit it for the library)."""

    goal: Goal
    channel: str | None = Field(default=None, max_length=20, examples=["5"])


class StepOut(BaseModel):
    tool: str
    verdict: str
    reason: str
    confidence: float
    result: str | None
    detail: str


class RunOut(BaseModel):
    id: int
    goal: Goal
    channel_id: int | None
    trigger: str
    outcome: str
    reason: str
    confidence: float
    started_at: datetime
    finished_at: datetime | None
    steps: list[StepOut]

    @classmethod
    def of(cls, run: AgentRun) -> RunOut:
        return cls(
            id=run.id, goal=run.goal, channel_id=run.channel, trigger=run.trigger,
            outcome=run.outcome, reason=run.reason, confidence=round(run.confidence, 4),
            started_at=run.started_at, finished_at=run.finished_at,
            steps=[
                StepOut(
                    tool=s.tool, verdict=s.verdict, reason=s.reason,
                    confidence=round(s.confidence, 4), result=s.result, detail=s.detail,
                )
                for s in run.steps
            ],
        )  # fmt: skip


class ApprovalOut(BaseModel):
    id: int
    run_id: int
    tool: str
    channel_id: int | None
    reason: str
    confidence: float
    status: str
    result: str | None
    detail: str
    created_at: datetime

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls(
            id=approval.id, run_id=approval.run_id, tool=approval.tool,
            channel_id=approval.channel, reason=approval.reason,
            confidence=round(approval.confidence, 4), status=approval.status,
            result=approval.result, detail=approval.detail, created_at=approval.created_at,
        )  # fmt: skip


class ContainmentOut(BaseModel):
    """Containment as measured now (no channel: the breaker is not consulted)."""

    active: bool
    reasons: list[str]
    restart_velocity_per_min: float
    restart_velocity_limit: float
    pool_pressure: float
    pool_pressure_limit: float
    rss_bytes: int
    rss_growth_bytes_10min: int
    rss_growth_limit_bytes: int

    @classmethod
    def of(cls, state: ContainmentState, limits: tuple[float, float, int]) -> ContainmentOut:
        velocity, pressure, growth = limits
        return cls(
            active=state.active, reasons=list(state.reasons),
            restart_velocity_per_min=state.restart_velocity, restart_velocity_limit=velocity,
            pool_pressure=state.pool_pressure, pool_pressure_limit=pressure,
            rss_bytes=state.rss_bytes, rss_growth_bytes_10min=state.rss_growth_bytes,
            rss_growth_limit_bytes=growth,
        )  # fmt: skip


class FlagsOut(BaseModel):
    bounded_agent_enabled: bool
    metadata_self_resolution_enabled: bool
    metadata_self_resolution_cooldown_sec: int
    metadata_self_resolution_disable_hours: float
    force_metadata_resolution: bool


class EscalationOut(BaseModel):
    at: datetime
    reason: str
    detail: str

    @classmethod
    def of(cls, event: Escalation) -> EscalationOut:
        return cls(at=event.at, reason=event.reason, detail=event.detail)


class StateOut(BaseModel):
    """Everything that decides whether automation acts now."""

    flags: FlagsOut
    planner: str
    containment: ContainmentOut
    shutdown_until: datetime | None
    consecutive_metadata_failures: int
    self_resolution_disabled_reason: str | None
    suspensions: dict[str, float] = Field(description="Scope -> seconds left.")
    active_resolutions: list[str]
    escalations: list[EscalationOut]

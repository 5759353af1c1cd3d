"""The bounded agent loop: plan, check, act, at most three times per run.

Per run:

* at most :data:`MAX_STEPS` (3) steps, at most one HIGH-risk tool, each tool at most once;
* before every step, containment is measured (``agent/containment.py``); while it holds
  nothing runs;
* every planned call goes through the policy (``agent/policy.py``): allow, deny, or hold for
  approval (listed by :attr:`AgentLoop.approvals`, acted on with :meth:`AgentLoop.approve` /
  :meth:`AgentLoop.reject`);
* tools have cooldowns (``agent/tools.py``);
* on a failed tool the run's confidence becomes ``max(0.1, confidence * 0.8)``.

Across runs: :data:`METADATA_FAILURE_LIMIT` (3) consecutive failed metadata tools shut the
loop down for ``ai_agent.metadata_self_resolution_disable_hours`` and raise an escalation
event. Nothing runs unless ``ai_agent.bounded_agent_enabled`` is set.

Memory is bounded: the last :data:`MAX_RUNS` runs, :data:`MAX_EVENTS` escalation events and
:data:`MAX_APPROVALS` approvals are kept (pending approvals expire after
:data:`APPROVAL_TTL_SEC`).
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from exstreamtv.agent.containment import Containment, ContainmentState
from exstreamtv.agent.planner import STOP, Done, Goal, Planner, PlanState
from exstreamtv.agent.policy import Policy, RunSoFar, Verdict
from exstreamtv.agent.tools import Risk, Tool, ToolArgs, ToolRegistry, ToolResult
from exstreamtv.clock import Clock
from exstreamtv.config import AIAgentConfig
from exstreamtv.errors import (
    AutomationDisabled,
    AutomationPaused,
    Conflict,
    ExStreamTVError,
    InvalidInput,
    NotFound,
    ToolRefused,
)
from exstreamtv.metrics import Metrics

log = logging.getLogger(__name__)
MAX_STEPS = 3
METADATA_FAILURE_LIMIT = 3
MIN_CONFIDENCE = 0.1
DECAY = 0.8
MAX_RUNS = 100
MAX_EVENTS = 50
MAX_APPROVALS = 50
APPROVAL_TTL_SEC = 3600.0

ChannelKey = Callable[[int], Awaitable[str | None]]


@dataclass(slots=True)
class StepRecord:
    tool: str
    verdict: str
    reason: str
    confidence: float
    result: str | None = None  # ok, failed, error, refused; None when not run
    detail: str = ""


@dataclass(slots=True)
class AgentRun:
    """One run: its goal, its steps and how it ended (times are aware UTC)."""

    id: int
    goal: Goal
    channel: int | None
    trigger: str
    started_at: datetime
    confidence: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    outcome: str = "running"
    reason: str = ""
    finished_at: datetime | None = None


@dataclass(slots=True)
class Approval:
    """A held HIGH-risk call waiting for a person (status pending, approved, rejected,
    expired)."""

    id: int
    run_id: int
    tool: str
    channel: int | None
    args: dict[str, Any]
    reason: str
    confidence: float
    created_at: datetime
    created_mono: float
    status: str = "pending"
    result: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Escalation:
    at: datetime
    reason: str
    detail: str


class AgentLoop:
    """Runs goals with a planner, the policy, containment and the tool registry."""

    def __init__(
        self,
        flags: AIAgentConfig,
        registry: ToolRegistry,
        planner: Planner,
        containment: Containment,
        *,
        clock: Clock,
        metrics: Metrics,
        channel_key: ChannelKey,
    ) -> None:
        self._flags, self._registry, self._planner = flags, registry, planner
        self._policy = Policy(flags)
        self._containment, self._clock, self._metrics = containment, clock, metrics
        self._channel_key = channel_key
        self._ids = itertools.count(1)
        self._approval_ids = itertools.count(1)
        self.runs: deque[AgentRun] = deque(maxlen=MAX_RUNS)
        self.escalations: deque[Escalation] = deque(maxlen=MAX_EVENTS)
        self._approvals: OrderedDict[int, Approval] = OrderedDict()
        self.metadata_failures = 0
        self._shutdown_until: float | None = None

    @property
    def registry(self) -> ToolRegistry:
        return self._registry

    # --- state -----------------------------------------------------------------------

    def shutdown_left(self) -> float:
        """Seconds the loop stays shut down (0 when it is not)."""
        if self._shutdown_until is None:
            return 0.0
        left = self._shutdown_until - self._clock.monotonic()
        if left <= 0:
            self._shutdown_until = None
            self._metrics.agent_shutdown.set(0)
            return 0.0
        return left

    def shutdown_until(self) -> datetime | None:
        """When the shutdown ends, in UTC, or ``None`` when the loop is not shut down."""
        left = self.shutdown_left()
        return None if left <= 0 else self._clock.now() + timedelta(seconds=left)

    def check_ready(self) -> None:
        """Raise AutomationDisabled (flag off) or AutomationPaused (shut down)."""
        if not self._flags.bounded_agent_enabled:
            raise AutomationDisabled(
                "the bounded agent is disabled; set ai_agent.bounded_agent_enabled to enable it"
            )
        left = self.shutdown_left()
        if left > 0:
            raise AutomationPaused(
                f"the agent shut itself down after {METADATA_FAILURE_LIMIT} consecutive "
                f"metadata tool failures; it resumes in {left:.0f} s",
                retry_after=max(1, int(left)),
            )

    async def containment(self, channel: int | None) -> ContainmentState:
        """Containment as measured now for a run on ``channel`` (a row id)."""
        key = None if channel is None else await self._channel_key(channel)
        return self._containment.check(key)

    # --- runs --------------------------------------------------------------------------

    async def run(
        self,
        goal: Goal,
        channel: int | None = None,
        *,
        trigger: str = "api",
        facts: dict[str, float] | None = None,
        run_id: int | None = None,
    ) -> AgentRun:
        """Run ``goal`` for ``channel`` (row id, or ``None`` for every library), under
        ``run_id`` when one was reserved (:meth:`reserve_run_id`).

        Raises AutomationDisabled / AutomationPaused before starting (see
        :meth:`check_ready`) and AutomationPaused when containment holds at the start (the
        run is recorded as ``contained``). Later problems end the run with an outcome
        instead of raising.
        """
        self.check_ready()
        number = next(self._ids) if run_id is None else run_id
        run = AgentRun(number, goal, channel, trigger[:40], self._clock.now())
        self.runs.append(run)
        started = self._clock.monotonic()
        try:
            await self._steps(run, facts or {})
        except AutomationPaused:
            raise
        except Exception as err:  # the top of a run: record, count, keep the server up
            log.exception("agent run %s failed", run.id)
            self._finish(run, "failed", f"unexpected {type(err).__name__}")
        finally:
            self._metrics.agent_run_duration.observe(self._clock.monotonic() - started)
        return run

    def reserve_run_id(self) -> int:
        """A run id handed out before the run starts (a caller can be told it at once);
        pass it to :meth:`run`, or to :meth:`record_unrun` when a guardrail stops it."""
        return next(self._ids)

    def record_unrun(
        self,
        run_id: int,
        goal: Goal,
        channel: int | None,
        *,
        trigger: str,
        outcome: str,
        reason: str,
    ) -> None:
        """Record a reserved run that a guardrail stopped before its first step, so its id
        still names a run (nothing happens when :meth:`run` already recorded it)."""
        if any(run.id == run_id for run in self.runs):
            return
        run = AgentRun(run_id, goal, channel, trigger[:40], self._clock.now())
        self.runs.append(run)
        self._finish(run, outcome, reason)

    async def _steps(self, run: AgentRun, facts: dict[str, float]) -> None:
        done: list[Done] = []
        so_far = RunSoFar()
        confidence: float | None = None
        for number in range(MAX_STEPS):
            contained = await self.containment(run.channel)
            if contained.active:
                reason = "containment: " + ", ".join(contained.reasons)
                self._finish(run, "contained", reason)
                if number == 0:
                    raise AutomationPaused(f"the agent takes no action now ({reason})", 30)
                return
            state = PlanState(run.goal, run.channel, self._ready(run.channel), tuple(done), facts)
            step = await self._planner.next_step(state)
            if step.action == STOP:
                self._finish(run, "completed" if done else "stopped", step.reason)
                return
            confidence = step.confidence if confidence is None else confidence
            confidence = min(confidence, step.confidence)
            run.confidence = confidence
            tool = self._registry.get(step.action)
            decision = self._policy.decide(tool, confidence, so_far)
            self._metrics.agent_policy_decisions.labels(decision.verdict.value).inc()
            record = StepRecord(tool.name, decision.verdict.value, decision.reason, confidence)
            run.steps.append(record)
            if decision.verdict is Verdict.DENY:
                self._finish(run, "denied", decision.reason)
                return
            args = self._args(tool, run.channel)
            if decision.verdict is Verdict.REQUIRE_APPROVAL:
                self._hold(run, tool, args, step.reason, confidence)
                self._finish(run, "awaiting_approval", decision.reason)
                return
            result = await self._call(tool, args, record)
            so_far = RunSoFar(
                so_far.used | {tool.name}, so_far.high_risk_used + (tool.risk is Risk.HIGH)
            )
            done.append(Done(tool.name, result.ok, result.detail, result.data))
            if not result.ok:
                confidence = max(MIN_CONFIDENCE, confidence * DECAY)
                run.confidence = confidence
            if self.shutdown_left() > 0:
                self._finish(run, "shut_down", "metadata tools failed repeatedly")
                return
        self._finish(run, "completed", f"step limit ({MAX_STEPS}) reached")

    def _ready(self, channel: int | None) -> list[str]:
        """Tools the planner may choose now: usable for this target (a channel tool needs
        a channel) and not cooling down for it."""
        ready = []
        for tool in self._registry.tools:
            try:
                args = self._args(tool, channel)
            except InvalidInput:
                continue
            if self._registry.cooldown_left(tool, args) == 0:
                ready.append(tool.name)
        return ready

    def _args(self, tool: Tool, channel: int | None) -> ToolArgs:
        raw = {"channel": channel} if "channel" in tool.args.model_fields else {}
        return self._registry.parse(tool, raw)

    async def _call(self, tool: Tool, args: ToolArgs, record: StepRecord) -> ToolResult:
        """Invoke one tool; a refusal or an error is a failed result, never an exception."""
        try:
            result = await self._registry.invoke(tool, args)
            label = "ok" if result.ok else "failed"
        except ToolRefused as err:
            result, label = ToolResult(False, err.message), "refused"
        except ExStreamTVError as err:  # e.g. the regenerated guide failed validation
            result, label = ToolResult(False, err.message), "failed"
        except Exception as err:  # a tool's own bug must not end the loop unrecorded
            log.exception("agent tool %s failed", tool.name)
            result, label = ToolResult(False, f"unexpected {type(err).__name__}"), "error"
        record.result, record.detail = label, result.detail[:300]
        self._metrics.agent_tool_calls.labels(tool.name, label).inc()
        if tool.is_metadata and label != "refused":  # a refusal is not the tool failing
            self._count_metadata(result.ok, tool.name)
        return result

    def _count_metadata(self, ok: bool, tool: str) -> None:
        if ok:
            self.metadata_failures = 0
            return
        self.metadata_failures += 1
        if self.metadata_failures < METADATA_FAILURE_LIMIT:
            return
        self.metadata_failures = 0
        hours = self._flags.metadata_self_resolution_disable_hours
        self._shutdown_until = self._clock.monotonic() + hours * 3600
        self._metrics.agent_shutdown.set(1)
        self.escalate(
            "metadata_failures",
            f"{METADATA_FAILURE_LIMIT} consecutive metadata tool failures (last: {tool}); "
            f"the agent is shut down for {hours:g} h",
        )

    def escalate(self, reason: str, detail: str) -> None:
        """Record an escalation event for a person: logged, counted, listed in the state."""
        self.escalations.append(Escalation(self._clock.now(), reason, detail))
        self._metrics.agent_escalations.labels(reason).inc()
        log.error("automation escalation (%s): %s", reason, detail)

    def _finish(self, run: AgentRun, outcome: str, reason: str) -> None:
        run.outcome, run.reason, run.finished_at = outcome, reason[:300], self._clock.now()
        self._metrics.agent_runs.labels(outcome).inc()

    # --- approvals -------------------------------------------------------------------

    def _hold(self, run: AgentRun, tool: Tool, args: ToolArgs, reason: str, conf: float) -> None:
        self._expire()
        approval = Approval(
            next(self._approval_ids), run.id, tool.name, run.channel, args.model_dump(),
            reason[:300], conf, self._clock.now(), self._clock.monotonic(),
        )  # fmt: skip
        self._approvals[approval.id] = approval
        while len(self._approvals) > MAX_APPROVALS:
            self._approvals.popitem(last=False)

    @property
    def approvals(self) -> list[Approval]:
        """Every kept approval, newest first (pending ones expire after an hour)."""
        self._expire()
        return list(reversed(self._approvals.values()))

    def _pending(self, approval_id: int) -> Approval:
        self._expire()
        found = self._approvals.get(approval_id)
        if found is None:
            raise NotFound(f"no approval {approval_id}")
        if found.status != "pending":
            raise Conflict(f"approval {approval_id} is already {found.status}")
        return found

    async def approve(self, approval_id: int) -> Approval:
        """Run the held call now, through containment, the policy and the cooldowns.

        Raises NotFound, Conflict (already decided), AutomationDisabled or AutomationPaused
        (shut down, or containment holds: the approval stays pending).
        """
        approval = self._pending(approval_id)
        self.check_ready()
        contained = await self.containment(approval.channel)
        if contained.active:
            reasons = ", ".join(contained.reasons)
            raise AutomationPaused(f"the agent takes no action now (containment: {reasons})", 30)
        tool = self._registry.get(approval.tool)
        decision = self._policy.decide(tool, approval.confidence, RunSoFar(), approved=True)
        self._metrics.agent_policy_decisions.labels(decision.verdict.value).inc()
        approval.status = "approved"
        if decision.verdict is not Verdict.ALLOW:
            approval.result, approval.detail = "denied", decision.reason
            return approval
        record = StepRecord(tool.name, Verdict.ALLOW.value, "approved", approval.confidence)
        result = await self._call(tool, self._registry.parse(tool, approval.args), record)
        approval.result, approval.detail = record.result, result.detail[:300]
        return approval

    def reject(self, approval_id: int) -> Approval:
        """Drop the held call (raises NotFound or Conflict)."""
        approval = self._pending(approval_id)
        approval.status = "rejected"
        return approval

    def _expire(self) -> None:
        now = self._clock.monotonic()
        for approval in self._approvals.values():
            if approval.status == "pending" and now - approval.created_mono > APPROVAL_TTL_SEC:
                approval.status = "expired"

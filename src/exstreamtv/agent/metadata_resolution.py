"""Metadata self-resolution: a bounded agent run on the ``metadata`` goal, started by a
trigger, behind every guardrail of the activation plan.

Entry points: :meth:`MetadataSelfResolution.request` (awaits the outcome) and
:meth:`MetadataSelfResolution.request_soon` (fire-and-forget, never blocks; it returns a
:class:`ResolutionTicket` saying whether the caller *started* a run, *joined* one already
waiting or running for the scope, both with the agent run id, or was refused and why). A
scope is a channel row id, or ``None`` for every library ("global"). Triggers: ``guide``
(the early warning after a guide generation), ``troubleshooting``, ``pattern``,
``schedule`` (every ``metadata_self_resolution_interval_sec``, 300 s by default, while the
global ratio is above 0.2), ``api``.

In order, a request returns without running when:

1. it comes from inside a resolution (:func:`in_metadata_resolution_context`);
2. ``ai_agent.bounded_agent_enabled`` or ``ai_agent.metadata_self_resolution_enabled`` is
   off, self-resolution was disabled after a regression, or the agent is shut down;
3. the scope is suspended (3 runs in a row without improvement suspend it for an hour);
4. a run of the same scope is waiting or running (the caller joins it), or the scope ran
   less than ``metadata_self_resolution_cooldown_sec`` ago (monotonic clock);
5. containment holds: restart velocity, pool pressure (>= 0.9), memory growth, or, for a
   channel, an open circuit breaker (or a half-open one while its trial runs). The run
   then is recorded by the agent as ``contained`` under the id the caller was given.

Checks 1-4 and claiming the scope happen with no ``await`` in between, so of any number of
concurrent callers on the event loop exactly one starts a run per scope; the others join.

After a run the ratio is read again. If it rose by more than 0.1, or guide validation
failures or stream failures rose during the run, self-resolution disables itself until the
server restarts and escalates. Self-resolution never calls the troubleshooting service.

Memory is bounded: every per-scope map keeps at most :data:`MAX_SCOPES` entries (least
recently used dropped first) and at most :data:`MAX_PENDING` fire-and-forget requests wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

from exstreamtv.agent.loop import AgentLoop
from exstreamtv.agent.planner import Goal
from exstreamtv.clock import Clock
from exstreamtv.config import AIAgentConfig
from exstreamtv.errors import AutomationDisabled, AutomationPaused
from exstreamtv.metrics import Metrics

log = logging.getLogger(__name__)
SUSPEND_AFTER = 3
SUSPEND_SEC = 3600.0
REGRESSION_DELTA = 0.1
SCHEDULE_INTERVAL_SEC = 300.0
SCHEDULE_THRESHOLD = 0.2
MAX_SCOPES = 1024
MAX_PENDING = 32
TRIGGERS = frozenset({"guide", "troubleshooting", "pattern", "schedule", "api"})

Scope = int | None
Key = int | str
Ratio = Callable[[Scope], Awaitable[float]]
Counters = Callable[[], Awaitable[tuple[float, float]]]
"""(guide validation failures, stream failures) so far: both only ever grow."""

_context: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "metadata_resolution", default=False
)
K = TypeVar("K")
V = TypeVar("V")


def in_metadata_resolution_context() -> bool:
    """True inside a self-resolution run (and in tasks started from one)."""
    return _context.get()


class _Bounded(Generic[K, V]):
    """A map that keeps its ``limit`` most recently written keys."""

    def __init__(self, limit: int = MAX_SCOPES) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self._limit = limit

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def set(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._limit:
            self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        return list(self._data.items())

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class ResolutionTicket:
    """The answer to asking for a run: ``status`` is ``started`` (this request made the
    run), ``joined`` (a run of the scope was already waiting or running) or ``refused``
    (``reason`` says why, a stable code such as ``cooldown``); ``run_id`` is the agent run
    of a started or joined request (see ``GET /api/agent/runs``)."""

    status: Literal["started", "joined", "refused"]
    run_id: int | None = None
    reason: str = ""

    @property
    def triggered(self) -> bool:
        """True when a run is under way for this request (started or joined)."""
        return self.status != "refused"


@dataclass(frozen=True, slots=True)
class ResolutionOutcome:
    """What a request did. ``ran`` is false when a guardrail, the cooldown or a duplicate
    stopped it; ``reason`` then says which (a stable code, e.g. ``cooldown``)."""

    scope: Scope
    trigger: str
    ran: bool
    reason: str
    ratio_before: float | None = None
    ratio_after: float | None = None
    run_id: int | None = None


def key_of(scope: Scope) -> Key:
    return "global" if scope is None else scope


class MetadataSelfResolution:
    """Guarded metadata self-resolution (see the module docstring)."""

    def __init__(
        self,
        flags: AIAgentConfig,
        agent: AgentLoop,
        *,
        ratio: Ratio,
        counters: Counters,
        clock: Clock,
        metrics: Metrics,
        interval: float = SCHEDULE_INTERVAL_SEC,
    ) -> None:
        self._flags, self._agent, self._ratio, self._counters = flags, agent, ratio, counters
        self._clock, self._metrics, self._interval = clock, metrics, interval
        self._claims: dict[Key, int] = {}  # scopes with a run waiting or running: its id
        self._active: set[Key] = set()
        self._last_run: _Bounded[Key, float] = _Bounded()
        self._attempts: _Bounded[Key, int] = _Bounded()
        self._suspended: _Bounded[Key, float] = _Bounded()
        self._pending: dict[Key, asyncio.Task[ResolutionOutcome]] = {}
        self._schedule: asyncio.Task[None] | None = None
        self.disabled_reason: str | None = None

    # --- state -----------------------------------------------------------------------

    def suspensions(self) -> dict[str, float]:
        """Suspended scopes and the seconds left, as ``{"<id>"|"global": seconds}``."""
        now, found = self._clock.monotonic(), {}
        for key, until in self._suspended.items():
            if until > now:
                found[str(key)] = until - now
        return found

    @property
    def active(self) -> frozenset[Key]:
        return frozenset(self._active)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # --- requests --------------------------------------------------------------------

    def request_soon(self, scope: Scope, trigger: str) -> ResolutionTicket:
        """Ask for a run in the background; returns at once with the ticket. A scope
        already waiting or running is joined; more than :data:`MAX_PENDING` waiting
        requests refuse the request (``overloaded``, counted)."""
        ticket = self._claim(scope, trigger, capacity=MAX_PENDING - len(self._pending))
        if ticket.status != "started" or ticket.run_id is None:
            return ticket
        key = key_of(scope)
        task = asyncio.create_task(
            self._background(scope, trigger, ticket.run_id), name="metadata-resolution"
        )
        self._pending[key] = task
        task.add_done_callback(lambda _t: self._pending.pop(key, None))
        return ticket

    async def _background(self, scope: Scope, trigger: str, run_id: int) -> ResolutionOutcome:
        try:
            return await self._run_claimed(scope, trigger, run_id)
        except Exception:  # the top of a task: log and count
            log.exception("metadata self-resolution failed")
            self._count_abort(trigger, "error")
            self._agent.record_unrun(run_id, Goal.METADATA, scope, trigger=_label(trigger),
                                     outcome="failed", reason="unexpected error")  # fmt: skip
            return ResolutionOutcome(scope, trigger, ran=False, reason="error", run_id=run_id)

    async def request(self, scope: Scope, trigger: str) -> ResolutionOutcome:
        """Run self-resolution for ``scope`` now unless a guardrail, the cooldown or a
        running duplicate says no; the outcome says which (a duplicate names the run it
        found under way)."""
        ticket = self._claim(scope, trigger)
        if ticket.status != "started" or ticket.run_id is None:
            reason = "duplicate" if ticket.status == "joined" else ticket.reason
            return ResolutionOutcome(scope, trigger, ran=False, reason=reason,
                                     run_id=ticket.run_id)  # fmt: skip
        return await self._run_claimed(scope, trigger, ticket.run_id)

    def _claim(self, scope: Scope, trigger: str, *, capacity: int = 1) -> ResolutionTicket:
        """Checks 1-4 of the module docstring, then the scope is claimed under a reserved
        run id: synchronous, so no other caller can pass the checks in between."""
        key = key_of(scope)
        refusal = self._refusal(key)
        running = self._claims.get(key)
        if refusal is None and running is not None:
            self._count_abort(trigger, "duplicate")
            return ResolutionTicket("joined", running)
        if refusal is None and self._cooling(key):
            refusal = "cooldown"
        if refusal is None and capacity <= 0:
            refusal = "overloaded"
        if refusal is not None:
            self._abort(scope, trigger, refusal)
            return ResolutionTicket("refused", reason=refusal)
        run_id = self._agent.reserve_run_id()
        self._claims[key] = run_id
        return ResolutionTicket("started", run_id)

    def _refusal(self, key: Key) -> str | None:
        """Checks 1-3: recursion, the flags, a suspension."""
        if in_metadata_resolution_context():
            return "recursion"
        refusal = self._flag_refusal()
        if refusal is not None:
            return refusal
        until = self._suspended.get(key)
        if until is not None and until > self._clock.monotonic():
            return "suspended"
        return None

    def _cooling(self, key: Key) -> bool:
        last = self._last_run.get(key)
        cooldown = self._flags.metadata_self_resolution_cooldown_sec
        return last is not None and self._clock.monotonic() - last < cooldown

    async def _run_claimed(self, scope: Scope, trigger: str, run_id: int) -> ResolutionOutcome:
        key = key_of(scope)
        token = _context.set(True)
        self._active.add(key)
        try:
            return await self._guarded(scope, trigger, run_id)
        finally:
            _context.reset(token)
            self._active.discard(key)
            self._claims.pop(key, None)

    def _flag_refusal(self) -> str | None:
        if not self._flags.bounded_agent_enabled:
            return "bounded_agent_disabled"
        if not self._flags.metadata_self_resolution_enabled:
            return "self_resolution_disabled"
        if self.disabled_reason is not None:
            return "disabled_after_regression"
        if self._agent.shutdown_left() > 0:
            return "agent_shut_down"
        return None

    async def _guarded(self, scope: Scope, trigger: str, run_id: int) -> ResolutionOutcome:
        contained = await self._agent.containment(scope)
        if contained.active:
            self._agent.record_unrun(
                run_id, Goal.METADATA, scope, trigger=_label(trigger), outcome="contained",
                reason="containment: " + ", ".join(contained.reasons),
            )  # fmt: skip
            aborted = self._abort(scope, trigger, contained.reasons[0])
            return replace(aborted, run_id=run_id)
        before = await self._ratio(scope)
        counters_before = await self._counters()
        try:
            run = await self._agent.run(
                Goal.METADATA, scope, trigger=_label(trigger),
                facts={"metadata_failure_ratio": before}, run_id=run_id,
            )  # fmt: skip
        except (AutomationDisabled, AutomationPaused) as err:
            self._agent.record_unrun(run_id, Goal.METADATA, scope, trigger=_label(trigger),
                                     outcome="contained", reason=err.message)  # fmt: skip
            aborted = self._abort(scope, trigger, "containment", detail=err.message)
            return replace(aborted, run_id=run_id)
        finally:
            self._last_run.set(key_of(scope), self._clock.monotonic())
        after = await self._ratio(scope)
        counters_after = await self._counters()
        self._check_regression(scope, before, after, counters_before, counters_after)
        improved = after < before
        self._remember_attempt(scope, improved)
        outcome = "improved" if improved else "unchanged"
        self._metrics.resolution_runs.labels(_trigger_label(trigger), outcome).inc()
        log.info(
            "metadata self-resolution for %s (%s): ratio %.3f -> %.3f, run %s %s",
            key_of(scope), trigger, before, after, run.id, run.outcome,
        )  # fmt: skip
        return ResolutionOutcome(scope, trigger, True, run.outcome, before, after, run.id)

    def _check_regression(
        self,
        scope: Scope,
        before: float,
        after: float,
        counters_before: tuple[float, float],
        counters_after: tuple[float, float],
    ) -> None:
        problems = []
        if after - before > REGRESSION_DELTA:
            problems.append(f"metadata failure ratio rose from {before:.3f} to {after:.3f}")
        if counters_after[0] > counters_before[0]:
            problems.append("guide validation failures rose")
        if counters_after[1] > counters_before[1]:
            problems.append("stream failures rose")
        if not problems:
            return
        self.disabled_reason = "; ".join(problems)
        self._metrics.resolution_regressions.inc()
        self._agent.escalate(
            "regression",
            f"metadata self-resolution for {key_of(scope)} made things worse "
            f"({self.disabled_reason}); disabled until the server restarts",
        )

    def _remember_attempt(self, scope: Scope, improved: bool) -> None:
        key = key_of(scope)
        if improved:
            self._attempts.pop(key)
            return
        attempts = (self._attempts.get(key) or 0) + 1
        if attempts < SUSPEND_AFTER:
            self._attempts.set(key, attempts)
            return
        self._attempts.pop(key)
        self._suspended.set(key, self._clock.monotonic() + SUSPEND_SEC)
        self._metrics.resolution_suspensions.inc()
        log.warning("Metadata self-resolution temporarily suspended for channel %s", key)

    def _abort(
        self, scope: Scope, trigger: str, reason: str, *, detail: str = ""
    ) -> ResolutionOutcome:
        self._count_abort(trigger, reason)
        log.debug("metadata self-resolution for %s not run: %s %s", key_of(scope), reason, detail)
        return ResolutionOutcome(scope, trigger, ran=False, reason=reason)

    def _count_abort(self, trigger: str, reason: str) -> None:
        self._metrics.resolution_aborts.labels(reason).inc()
        self._metrics.resolution_runs.labels(_trigger_label(trigger), "aborted").inc()

    # --- the schedule ----------------------------------------------------------------

    async def scheduled_pass(self) -> ResolutionOutcome | None:
        """One tick of the schedule: a global run when the ratio is above 0.2."""
        if not self._flags.metadata_self_resolution_enabled:
            return None
        if await self._ratio(None) <= SCHEDULE_THRESHOLD:
            return None
        return await self.request(None, "schedule")

    def start(self) -> None:
        """Start the scheduled task (every ``interval`` seconds; 300 by default)."""
        if self._schedule is None:
            self._schedule = asyncio.create_task(self._every(), name="metadata-resolution-5min")

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.scheduled_pass()
            except Exception:  # the top of a task: log and keep the schedule
                log.exception("scheduled metadata self-resolution failed")

    async def close(self) -> None:
        """Stop the schedule and cancel waiting requests (awaited)."""
        tasks = [t for t in (self._schedule, *self._pending.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._schedule = None


def _trigger_label(trigger: str) -> str:
    return trigger if trigger in TRIGGERS else "other"


def _label(trigger: str) -> str:
    """The agent run's trigger for a self-resolution request."""
    return f"self_resolution:{trigger}"

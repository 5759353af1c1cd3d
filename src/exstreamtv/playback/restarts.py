"""The limits on the single restart path: a global throttle, per-channel cooldowns, and a
per-channel circuit breaker.

Times are seconds on the monotonic clock, passed in by the caller (the supervisor reads
its injected clock), so every limit is testable without sleeping.

* **Global throttle**: at most ``global_max`` restarts (of any channel) per ``global_window``.
* **Per-channel cooldown**: a channel restarts at most once per ``cooldown``.
* **Circuit breaker** per channel: ``breaker_threshold`` failures within ``breaker_window``
  open it for ``breaker_open``; then it is half-open and allows exactly one trial; the
  trial's success closes it, its failure opens it again.

Memory is bounded: a deque per window holds at most its limit's worth of timestamps, and
per-channel state is dropped with :meth:`RestartPolicy.forget` when a channel stops and its
state no longer matters (so a channel's entry lives at most one breaker window after it).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class RestartLimits:
    global_max: int = 10
    global_window: float = 60.0
    cooldown: float = 30.0
    breaker_threshold: int = 5
    breaker_window: float = 300.0
    breaker_open: float = 120.0


@dataclass(frozen=True, slots=True)
class RestartDecision:
    """Whether a restart may happen now; when not, why and after how many seconds."""

    allowed: bool
    reason: str = ""
    retry_after: float = 0.0


@dataclass(slots=True)
class CircuitBreaker:
    limits: RestartLimits
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    trial_running: bool = False

    def state(self, now: float) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if now - self.opened_at < self.limits.breaker_open:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def record_failure(self, now: float) -> None:
        if self.state(now) is BreakerState.HALF_OPEN or self.trial_running:
            self.opened_at, self.trial_running = now, False  # the trial failed: open again
            return
        self.failures.append(now)
        while self.failures and now - self.failures[0] > self.limits.breaker_window:
            self.failures.popleft()
        if len(self.failures) >= self.limits.breaker_threshold:
            self.opened_at = now
            self.failures.clear()

    def record_success(self) -> None:
        if self.trial_running or self.opened_at is not None:
            self.opened_at, self.trial_running = None, False
            self.failures.clear()

    def reopens_in(self, now: float) -> float:
        return 0.0 if self.opened_at is None else self.opened_at + self.limits.breaker_open - now


@dataclass(slots=True)
class _ChannelRestarts:
    breaker: CircuitBreaker
    last_restart: float | None = None


class RestartPolicy:
    """Decides every restart. ``allow`` is the only way to get permission."""

    def __init__(self, limits: RestartLimits | None = None) -> None:
        self.limits = limits or RestartLimits()
        self._recent: deque[float] = deque()
        self._channels: dict[str, _ChannelRestarts] = {}

    def _channel(self, channel: str) -> _ChannelRestarts:
        found = self._channels.get(channel)
        if found is None:
            found = _ChannelRestarts(CircuitBreaker(self.limits))
            self._channels[channel] = found
        return found

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0] >= self.limits.global_window:
            self._recent.popleft()

    def allow(self, channel: str, now: float) -> RestartDecision:
        """Ask to restart ``channel`` now. When allowed, the restart is recorded."""
        limits, state = self.limits, self._channel(channel)
        self._trim(now)
        breaker = state.breaker.state(now)
        if breaker is BreakerState.OPEN:
            return RestartDecision(False, "circuit breaker open", state.breaker.reopens_in(now))
        if breaker is BreakerState.HALF_OPEN and state.breaker.trial_running:
            return RestartDecision(False, "circuit breaker half-open: trial running", 1.0)
        if state.last_restart is not None and now - state.last_restart < limits.cooldown:
            wait = limits.cooldown - (now - state.last_restart)
            return RestartDecision(False, "channel cooldown", wait)
        if len(self._recent) >= limits.global_max:
            wait = limits.global_window - (now - self._recent[0])
            return RestartDecision(False, "global restart throttle", wait)
        if breaker is BreakerState.HALF_OPEN:
            state.breaker.trial_running = True
        state.last_restart = now
        self._recent.append(now)
        return RestartDecision(True)

    def record_failure(self, channel: str, now: float) -> None:
        self._channel(channel).breaker.record_failure(now)

    def record_success(self, channel: str) -> None:
        self._channel(channel).breaker.record_success()

    def breaker_state(self, channel: str, now: float) -> BreakerState:
        found = self._channels.get(channel)
        return BreakerState.CLOSED if found is None else found.breaker.state(now)

    def trial_running(self, channel: str) -> bool:
        """True while a half-open breaker's one trial restart of ``channel`` awaits its
        verdict (``record_success`` or ``record_failure``)."""
        found = self._channels.get(channel)
        return found is not None and found.breaker.trial_running

    def velocity(self, now: float) -> float:
        """Restarts per minute over the global window."""
        self._trim(now)
        return len(self._recent) * 60.0 / self.limits.global_window

    def forget(self, channel: str, now: float) -> bool:
        """Drop ``channel``'s state when it has stopped, unless it still matters: a breaker
        that is not closed, failures inside the breaker window, or a cooldown running. Kept
        state means stopping and re-tuning a failing channel cannot reset its breaker; it is
        bounded by the number of channels. Returns whether the state was dropped."""
        found = self._channels.get(channel)
        if found is None:
            return True
        breaker, limits = found.breaker, self.limits
        # A trial cut short by the stop was never judged: the next start is a new trial
        # (left running, it would refuse every restart of the channel for good).
        breaker.trial_running = False
        recent = breaker.failures and now - breaker.failures[-1] <= limits.breaker_window
        cooling = found.last_restart is not None and now - found.last_restart < limits.cooldown
        if breaker.state(now) is not BreakerState.CLOSED or recent or cooling:
            return False
        del self._channels[channel]
        return True

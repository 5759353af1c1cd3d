"""Containment mode: while the streaming side is in trouble, automation keeps its hands off.

Containment holds while any of these is true, each measured here (never passed in):

* the supervisor's restart velocity is at least 10 restarts per 60 s;
* the FFmpeg pool pressure (processes over the cap) is at least 0.9;
* the target channel's circuit breaker is open, or half-open while its one trial restart
  runs. A half-open breaker with no trial running holds nothing: on an idle channel a trial
  needs a viewer, so holding there would block automation on that channel for good, and
  the agent's own ``restart_channel`` asks the supervisor, whose breaker allows only that
  one trial anyway;
* this process's resident memory grew by more than 100 MB within the last 10 minutes
  (counted from the end of its first 5 minutes: a fresh server's warm-up is not growth).

Memory is sampled from /proc on every check; samples older than the window are dropped and
at most :data:`MAX_SAMPLES` are kept.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exstreamtv.clock import Clock
from exstreamtv.metrics import Metrics
from exstreamtv.playback.restarts import BreakerState
from exstreamtv.playback.supervisor import Supervisor

log = logging.getLogger(__name__)
RESTART_VELOCITY_LIMIT = 10.0  # restarts per minute
POOL_PRESSURE_LIMIT = 0.9
RSS_GROWTH_LIMIT = 100 * 1024 * 1024  # bytes
RSS_WINDOW_SEC = 600.0
# A fresh server's first minutes are not growth: its first guide, stream, scan and pages
# fill caches and load code (70-80 MB in the browser suite). Sampling starts after them.
RSS_WARM_UP_SEC = 300.0
MAX_SAMPLES = 600


def process_rss() -> int:
    """Resident set size of this process in bytes (reads /proc: microseconds)."""
    resident_pages = int(Path("/proc/self/statm").read_bytes().split()[1])  # in memory
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ContainmentState:
    """One measurement. ``reasons`` is empty when no limit is crossed."""

    restart_velocity: float
    pool_pressure: float
    breaker: str | None
    rss_bytes: int
    rss_growth_bytes: int
    reasons: tuple[str, ...]

    @property
    def active(self) -> bool:
        return bool(self.reasons)


class Containment:
    """Measures the containment conditions from the real supervisor and process."""

    def __init__(
        self,
        supervisor: Supervisor,
        clock: Clock,
        metrics: Metrics,
        *,
        rss: Callable[[], int] = process_rss,
    ) -> None:
        self._supervisor, self._clock, self._metrics = supervisor, clock, metrics
        self._rss = rss
        self._samples: deque[tuple[float, int]] = deque(maxlen=MAX_SAMPLES)
        self._warm_from = clock.monotonic() + RSS_WARM_UP_SEC
        self._active: frozenset[str] = frozenset()

    def check(self, channel: str | None = None) -> ContainmentState:
        """Measure now; ``channel`` is the supervisor's key (the channel number) of the
        target, or ``None`` for a run with no channel. Counts each reason when it starts."""
        velocity = self._supervisor.restart_velocity
        pressure = self._supervisor.pool_pressure
        rss, growth = self._rss_growth()
        state = None if channel is None else self._supervisor.breaker_state(channel)
        breaker = None if state is None else state.value
        reasons = []
        if velocity >= RESTART_VELOCITY_LIMIT:
            reasons.append("restart_velocity")
        if pressure >= POOL_PRESSURE_LIMIT:
            reasons.append("pool_pressure")
        if channel is not None and self._breaker_holds(channel, state):
            reasons.append("breaker_open")
        if growth > RSS_GROWTH_LIMIT:
            reasons.append("memory_growth")
        self._publish(frozenset(reasons))
        return ContainmentState(velocity, pressure, breaker, rss, growth, tuple(reasons))

    def _breaker_holds(self, channel: str, state: BreakerState | None) -> bool:
        if state is BreakerState.OPEN:
            return True
        return state is BreakerState.HALF_OPEN and self._supervisor.policy.trial_running(channel)

    def _rss_growth(self) -> tuple[int, int]:
        now, rss = self._clock.monotonic(), self._rss()
        if now < self._warm_from:
            return rss, 0
        while self._samples and now - self._samples[0][0] > RSS_WINDOW_SEC:
            self._samples.popleft()
        self._samples.append((now, rss))
        lowest = min(sample for _, sample in self._samples)
        return rss, max(0, rss - lowest)

    def _publish(self, reasons: frozenset[str]) -> None:
        for reason in reasons - self._active:
            self._metrics.containment_entries.labels(reason).inc()
            log.warning("automation containment: %s", reason)
        self._metrics.containment_active.set(float(bool(reasons)))
        self._active = reasons

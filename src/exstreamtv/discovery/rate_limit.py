"""Per-source reply limits for the discovery listeners, so they cannot be used as reflectors."""

from __future__ import annotations

from collections import OrderedDict

from exstreamtv.clock import Clock


class SourceRateLimiter:
    """A token bucket per source IP: ``rate`` replies per second, bursts up to ``burst``.

    The table is bounded: beyond ``max_sources`` addresses the least recently seen one is
    forgotten (it starts again with a full bucket). Keys are IPs, not ports, because a
    reflection victim is an address. Time comes from ``clock.monotonic()``.
    """

    def __init__(
        self, clock: Clock, *, rate: float = 20.0, burst: float = 20.0, max_sources: int = 1024
    ) -> None:
        if rate <= 0 or burst < 1 or max_sources < 1:
            raise ValueError("rate must be > 0, burst >= 1 and max_sources >= 1")
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._max_sources = max_sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def tracked_sources(self) -> int:
        """How many source addresses currently have a bucket (at most ``max_sources``)."""
        return len(self._buckets)

    def allow(self, source: str) -> bool:
        """Spend one token for ``source``; False when its bucket is empty."""
        now = self._clock.monotonic()
        tokens, last = self._buckets.pop(source, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_sources:
            self._buckets.popitem(last=False)
        return allowed

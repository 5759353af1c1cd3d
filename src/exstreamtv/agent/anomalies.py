"""Anomaly clustering: spikes of one issue type on one channel within a sliding window.

Events are ``(channel, issue, at)`` with ``at`` in seconds on the monotonic clock (passed
in, so tests need no sleeping). A *spike* is at least ``threshold`` events of one
``(channel, issue)`` key within the last ``window`` seconds; :meth:`AnomalyDetector.record`
returns True for the event that starts one (once per spike: the key must drop below the
threshold before it can spike again).

Memory is bounded: at most ``max_keys`` keys (the least recently seen key is dropped first)
and at most ``threshold`` timestamps per key, which is all a window count needs. Safe to
call from several threads (log records arrive on whichever thread logged them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

Key = tuple[str, str]  # (channel number or "-", issue type)


@dataclass(frozen=True, slots=True)
class Spike:
    """A key at or above the threshold: ``count`` events (capped at the threshold) between
    ``first`` and ``last`` (monotonic seconds)."""

    channel: str
    issue: str
    count: int
    first: float
    last: float


@dataclass(slots=True)
class _Window:
    times: deque[float]
    spiking: bool = False


class AnomalyDetector:
    """Counts events per (channel, issue) over a sliding window; see the module docstring."""

    def __init__(self, *, window: float = 300.0, threshold: int = 5, max_keys: int = 256) -> None:
        if threshold < 1 or window <= 0 or max_keys < 1:
            raise ValueError("window, threshold and max_keys must be positive")
        self.window, self.threshold, self.max_keys = window, threshold, max_keys
        self._keys: OrderedDict[Key, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, channel: str | None, issue: str, at: float) -> bool:
        """Add one event; True when it starts a spike of its key."""
        key = (channel or "-", issue)
        with self._lock:
            found = self._keys.get(key)
            if found is None:
                found = _Window(deque(maxlen=self.threshold))
                self._keys[key] = found
                while len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
            self._keys.move_to_end(key)
            found.times.append(at)
            count = self._count(found, at)
            if count < self.threshold:
                found.spiking = False
                return False
            if found.spiking:
                return False
            found.spiking = True
            return True

    def spikes(self, now: float) -> list[Spike]:
        """Keys spiking at ``now``, most recent first."""
        with self._lock:
            found = [
                Spike(key[0], key[1], count, window.times[0], window.times[-1])
                for key, window in self._keys.items()
                if (count := self._count(window, now)) >= self.threshold
            ]
        return sorted(found, key=lambda spike: spike.last, reverse=True)

    def __len__(self) -> int:
        return len(self._keys)

    def events_held(self) -> int:
        """Timestamps held over all keys (bounded by ``max_keys * threshold``)."""
        with self._lock:
            return sum(len(window.times) for window in self._keys.values())

    def _count(self, window: _Window, now: float) -> int:
        while window.times and now - window.times[0] > self.window:
            window.times.popleft()
        return len(window.times)

"""How late the event loop runs: the health figure behind ``exstreamtv_event_loop_lag_seconds``.

Every stream, request and timer of the server shares one event loop, so a callback that
blocks it (sync I/O, a CPU-heavy step not moved to a thread) delays them all: viewers see
stutter first. :class:`LoopLag` sleeps ``interval`` seconds at a time and records how much
later than asked it woke up; :attr:`LoopLag.worst` is the largest delay of the last
``window`` seconds (0 before the first sample). The troubleshooter reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

INTERVAL_SEC = 0.25
WINDOW_SEC = 10.0


class LoopLag:
    """Measures the running loop's lag in a task of its own (:meth:`start`/:meth:`close`)."""

    def __init__(self, *, interval: float = INTERVAL_SEC, window: float = WINDOW_SEC) -> None:
        self._interval = interval
        self._window = window
        self._samples: deque[tuple[float, float]] = deque()  # (loop time, lag s)
        self._task: asyncio.Task[None] | None = None

    def record(self, at: float, lag: float) -> None:
        """Add a sample taken at loop time ``at``; samples older than the window go."""
        self._samples.append((at, max(0.0, lag)))
        while self._samples and at - self._samples[0][0] > self._window:
            self._samples.popleft()

    @property
    def worst(self) -> float:
        """The largest lag (s) in the window."""
        return max((lag for _, lag in self._samples), default=0.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-loop-lag")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            woke = loop.time()
            self.record(woke, woke - asked)

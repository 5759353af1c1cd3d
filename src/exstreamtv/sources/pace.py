"""Spacing requests to one site: at least ``interval`` seconds between request starts."""

from __future__ import annotations

import asyncio


class Pace:
    """A rate limit shared by every caller of one site (``interval`` ≤ 0: no limit)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._next_start = 0.0

    async def wait(self) -> None:
        """Return once ``interval`` s have passed since the previous caller's start."""
        if self.interval <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            wait = self._next_start - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_start = loop.time() + self.interval

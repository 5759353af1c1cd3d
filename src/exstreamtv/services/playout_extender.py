"""The background task that keeps every playout built to the horizon."""

from __future__ import annotations

import asyncio
import logging

from exstreamtv.services.playouts import PlayoutService

log = logging.getLogger(__name__)
EXTEND_INTERVAL_SEC = 15 * 60.0
"""Seconds between passes: well under an hour, so playouts are extended at least hourly
and never run short even with the smallest horizon (1 h)."""


class PlayoutExtender:
    """Runs :meth:`PlayoutService.drop_unavailable` and :meth:`PlayoutService.extend_all`
    once when started, then every ``interval_sec`` seconds, until :meth:`stop`. (The first
    catches media marked missing by another process, such as ``exstreamtv scan``.)

    ``passes`` counts finished passes; :meth:`wait_for_passes` lets callers (tests, the
    start-up path) synchronise with them without sleeping.
    """

    def __init__(self, playouts: PlayoutService, interval_sec: float = EXTEND_INTERVAL_SEC) -> None:
        if interval_sec <= 0:
            raise ValueError(f"interval_sec must be positive, got {interval_sec}")
        self._playouts = playouts
        self._interval = interval_sec
        self._task: asyncio.Task[None] | None = None
        self._passed = asyncio.Condition()
        self.passes = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the task (does nothing when it already runs)."""
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="playout-extender")

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended (safe when never started)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def wait_for_passes(self, count: int) -> None:
        """Return once at least ``count`` passes have finished."""
        async with self._passed:
            await self._passed.wait_for(lambda: self.passes >= count)

    async def _run(self) -> None:
        while True:
            try:
                await self._playouts.drop_unavailable()
                report = await self._playouts.extend_all()
                if report.failed:
                    log.warning("playout extension: %d channel(s) failed", report.failed)
            except Exception:  # the top of the task: log and try again next pass
                log.exception("playout extension pass failed")
            async with self._passed:
                self.passes += 1
                self._passed.notify_all()
            await asyncio.sleep(self._interval)

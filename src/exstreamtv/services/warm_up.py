"""The start-up work that waits until the server listens.

Nothing per channel and nothing that can wait is on the path to the first answer:
``exstreamtv serve`` binds its port first and then runs, in one background task, what
:class:`WarmUp` lists: FFmpeg's encoder list (a stream started before it is known tries
its profile's encoder and falls back to libx264 as always), the scans of configured
libraries, the playout extender's first pass over every channel, the metadata
self-resolution schedule and the Plex guide reloads. ``/readyz`` answers 503 until it is
done, naming what is still pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Step = tuple[str, Callable[[], Awaitable[object]]]


class WarmUp:
    """Runs named steps one after another in a background task; each step's failure is
    logged and the next one runs. ``pending`` names the steps not finished yet."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._done.set()

    @property
    def pending(self) -> list[str]:
        """The steps not finished yet, in order (empty: ready, or never started)."""
        return list(self._pending)

    def expect(self, names: list[str]) -> None:
        """Announce steps before :meth:`start` (readiness is false from now on)."""
        self._pending = list(names)
        self._done.clear()

    def start(self, steps: list[Step]) -> None:
        """Run ``steps`` in the background, in order."""
        self.expect([name for name, _ in steps])
        self._task = asyncio.create_task(self._run(steps), name="warm-up")

    async def wait(self) -> None:
        """Return once every step has finished."""
        await self._done.wait()

    async def close(self) -> None:
        """Cancel the remaining steps (shutdown) and wait for the task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, steps: list[Step]) -> None:
        try:
            for name, step in steps:
                try:
                    await step()
                except Exception:  # one step's failure must not stop the others
                    log.exception("start-up step %r failed", name)
                self._pending.remove(name)
            log.info("start-up work done")
        finally:
            self._pending.clear()
            self._done.set()

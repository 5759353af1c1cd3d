"""Media the live channels could not play, taken out of the schedules off the stream's path.

A channel's producer reports a file it cannot open or decode (a media fault) and goes on at
once; :class:`MediaFaultReports` then marks the item missing, with the reason, and rebuilds
the future of every channel that uses it (``PlayoutService.media_missing``) in a task of its
own. Reports are bounded (a burst beyond :data:`MAX_PENDING` is logged and dropped: the
extender's periodic pass catches up) and the tasks end with the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from exstreamtv.services.playouts import PlayoutService

log = logging.getLogger(__name__)
MAX_PENDING = 16


class MediaFaultReports:
    def __init__(self, playouts: PlayoutService) -> None:
        self._playouts = playouts
        self._pending: set[asyncio.Task[None]] = set()

    async def report(self, media_id: int, reason: str) -> None:
        """Take ``media_id`` out of the schedules soon; returns at once."""
        if len(self._pending) >= MAX_PENDING:
            log.warning("media item %d failed (%s); too many reports pending", media_id, reason)
            return
        task = asyncio.create_task(self._repair(media_id, reason), name=f"media-{media_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _repair(self, media_id: int, reason: str) -> None:
        try:
            await self._playouts.media_missing(media_id, reason)
        except Exception:  # the top of a task: log and count
            log.exception("could not take media item %d out of the schedules", media_id)

    async def close(self) -> None:
        """Wait for the reports in flight (bounded: cancelled after 10 s)."""
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=10)
        for task in late:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

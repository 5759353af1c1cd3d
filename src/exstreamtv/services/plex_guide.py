"""Telling Plex that our guide changed: ``POST /livetv/dvrs/{key}/reloadGuide`` on every DVR
of every Plex source, at most once per minute, and only after the guide changed.

Plex re-reads an XMLTV guide on its own schedule (about daily); asking it to reload makes
channel and programme edits show up in Plex within a minute.
"""

from __future__ import annotations

import asyncio
import logging

from exstreamtv.clock import Clock
from exstreamtv.domain.libraries import SourceKind
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.runtime import load_module
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.media_servers import MediaServerService

log = logging.getLogger(__name__)
THROTTLE_SEC = 60.0


class PlexGuideReload:
    """Checks for guide changes every ``interval`` s (default: the throttle) and asks Plex
    to reload, never more often than once per ``THROTTLE_SEC`` (monotonic clock)."""

    def __init__(
        self,
        servers: MediaServerService,
        changes: GuideChanges,
        clock: Clock,
        *,
        interval: float = THROTTLE_SEC,
    ) -> None:
        self._servers, self._changes, self._clock = servers, changes, clock
        self._interval = interval
        self._seen = changes.version
        self._last: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> int:
        """Reload if the guide changed and the throttle allows; returns DVRs asked."""
        now = self._clock.monotonic()
        if self._changes.version == self._seen:
            return 0
        if self._last is not None and now - self._last < THROTTLE_SEC:
            return 0
        self._seen, self._last = self._changes.version, now
        await load_module("exstreamtv.sources.plex")
        from exstreamtv.sources.plex import PlexClient  # noqa: PLC0415 - loaded off the loop

        asked = 0
        for source in await self._servers.sources():
            if source.kind is not SourceKind.PLEX:
                continue
            try:
                client = await self._servers.client(source.id)
                if isinstance(client, PlexClient):
                    asked += await client.reload_guide()
            except (SourceUnavailable, NotFound) as err:
                log.warning("Plex %r was not asked to reload its guide: %s", source.name,
                            err.message)  # fmt: skip
        return asked

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="plex-guide-reload")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:  # the top of the task: log and try again next time
                log.exception("asking Plex to reload its guide failed")

"""The scheduled backup: one every ``backup.interval_hours``, the newest ``backup.keep`` kept.

The first runs one interval after start-up (a restart loop never floods the folder). A
failed backup is logged and counted as an error in the log; the next interval tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from exstreamtv.config import BackupConfig
from exstreamtv.services.backups import Backups, prune

log = logging.getLogger(__name__)


class BackupSchedule:
    """Owns the scheduled-backup task (started by ``start_up``, stopped on close)."""

    def __init__(self, backups: Backups, config: BackupConfig) -> None:
        self._backups = backups
        self._config = config
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._config.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="scheduled-backup")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> None:
        """Make a backup now and prune the folder to ``keep``."""
        made = await self._backups.create(include_secrets=self._config.include_secrets)
        removed = await asyncio.to_thread(prune, made.path.parent, self._config.keep)
        if removed:
            log.info("removed %d old backup(s)", len(removed))

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.interval_hours * 3600)
            try:
                await self.run_once()
            except Exception:  # the top of a task: log it; the next interval tries again
                log.exception("scheduled backup failed")

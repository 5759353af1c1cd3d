"""The emulated HDHomeRun's identity: a DeviceID that never changes.

Plex validates the DeviceID checksum and treats a changed id as a new DVR, losing the
user's channel mapping. So the id comes from ``hdhomerun.device_id`` when set (validated
by the config), else it is generated once with the checksum and stored in the database.
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.config import Settings
from exstreamtv.formats.hdhomerun import device_id_valid, make_device_id
from exstreamtv.store.app_state import AppStateRepository
from exstreamtv.store.database import transaction

STATE_KEY = "hdhomerun_device_id"


class DeviceIdentity:
    """Resolves and remembers the DeviceID."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._device_id: str | None = None

    async def ensure(self) -> str:
        """The DeviceID: the configured one, else the stored one, else a new stored one."""
        if self._device_id is not None:
            return self._device_id
        configured = self._settings.hdhomerun.device_id
        if configured is not None:
            self._device_id = configured
            return configured
        async with transaction(self._sessions) as session:
            state = AppStateRepository(session)
            stored = await state.get(STATE_KEY)
            if stored is None or not device_id_valid(stored):
                stored = make_device_id(secrets.randbits(32))
                await state.set(STATE_KEY, stored)
        self._device_id = stored
        return stored

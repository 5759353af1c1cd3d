"""Install-wide key/value state (the admin key hash, the HDHomeRun DeviceID...)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.store.tables import AppStateRow


class AppStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> str | None:
        row = await self._session.get(AppStateRow, key)
        return row.value if row else None

    async def set(self, key: str, value: str) -> None:
        row = await self._session.get(AppStateRow, key)
        if row is None:
            self._session.add(AppStateRow(key=key, value=value))
        else:
            row.value = value
        await self._session.flush()

"""Web UI sessions in the database: one row per signed-in browser (see
:class:`~exstreamtv.store.tables.AdminSessionRow`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.store.tables import AdminSessionRow


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session's keyed digest and its expiry (UTC)."""

    digest: str
    expires_at: datetime


class AdminSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, session_id: str, digest: str, created: datetime, expires: datetime) -> None:
        self._session.add(
            AdminSessionRow(id=session_id, digest=digest, created_at=created, expires_at=expires)
        )
        await self._session.flush()

    async def get(self, session_id: str) -> StoredSession | None:
        row = await self._session.get(AdminSessionRow, session_id)
        return None if row is None else StoredSession(row.digest, row.expires_at)

    async def delete(self, session_id: str) -> None:
        await self._session.execute(delete(AdminSessionRow).where(AdminSessionRow.id == session_id))

    async def delete_all(self) -> None:
        await self._session.execute(delete(AdminSessionRow))

    async def prune(self, now: datetime, keep: int) -> None:
        """Delete expired sessions, then the oldest beyond the newest ``keep``."""
        expired = delete(AdminSessionRow).where(AdminSessionRow.expires_at <= now)
        await self._session.execute(expired)
        count = await self._session.scalar(select(func.count()).select_from(AdminSessionRow))
        excess = (count or 0) - keep
        if excess > 0:
            oldest = select(AdminSessionRow.id).order_by(AdminSessionRow.created_at).limit(excess)
            await self._session.execute(
                delete(AdminSessionRow).where(AdminSessionRow.id.in_(oldest.scalar_subquery()))
            )

"""Channel use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.database import transaction


class ChannelService:
    """Channel CRUD. Deleting a channel also drops its build lock (``locks``), which keeps
    the per-channel lock map bounded by the set of channels."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        locks: ChannelLocks,
        changes: GuideChanges | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._locks = locks
        self._changes = changes or GuideChanges()

    async def channels(self) -> list[Channel]:
        async with self._sessions() as session:
            return await ChannelRepository(session).all()

    async def channel(self, number: ChannelNumber) -> Channel:
        async with self._sessions() as session:
            return await ChannelRepository(session).get(number)

    async def create(self, fields: ChannelFields) -> Channel:
        async with transaction(self._sessions) as session:
            created = await ChannelRepository(session).create(fields, self._clock.now())
        self._changes.channel_changed(created.id)
        return created

    async def update(self, number: ChannelNumber, fields: ChannelFields) -> Channel:
        async with transaction(self._sessions) as session:
            updated = await ChannelRepository(session).update(number, fields, self._clock.now())
        self._changes.channel_changed(updated.id)
        return updated

    async def delete(self, number: ChannelNumber) -> None:
        """Delete a channel with its playout (raises NotFound)."""
        async with transaction(self._sessions) as session:
            repo = ChannelRepository(session)
            channel = await repo.get(number)
            await repo.delete(number)
        self._locks.drop(channel.id)
        self._changes.channel_changed(channel.id, deleted=True)

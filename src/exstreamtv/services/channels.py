"""Channel use cases."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.database import transaction

log = logging.getLogger(__name__)
Retire = Callable[[ChannelNumber, str], Awaitable[None]]


class ChannelService:
    """Channel CRUD. Deleting a channel also drops its build lock (``locks``), which keeps
    the per-channel lock map bounded by the set of channels.

    A channel that is deleted, disabled or renumbered is *retired* after the change is
    committed: the callbacks given to :meth:`on_retired` (the live streams) end its streams
    and free its number and tuner at once."""

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
        self._retire: list[Retire] = []

    def on_retired(self, retire: Retire) -> None:
        """Call ``retire(number, reason)`` after a channel is deleted, disabled or
        renumbered (its old number)."""
        self._retire.append(retire)

    async def _retired(self, number: ChannelNumber, reason: str) -> None:
        for retire in self._retire:
            try:
                await retire(number, reason)
            except Exception:  # the change is committed; a stream that lingers ends by itself
                log.exception("channel %s: ending its streams failed", number)

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
            repo = ChannelRepository(session)
            before = await repo.get(number)
            updated = await repo.update(number, fields, self._clock.now())
        self._changes.channel_changed(updated.id)
        if before.enabled and not updated.enabled:
            await self._retired(number, "channel disabled")
        elif updated.number != before.number:
            await self._retired(number, f"channel renumbered to {updated.number}")
        return updated

    async def delete(self, number: ChannelNumber) -> None:
        """Delete a channel with its playout (raises NotFound)."""
        async with transaction(self._sessions) as session:
            repo = ChannelRepository(session)
            channel = await repo.get(number)
            await repo.delete(number)
        self._locks.drop(channel.id)
        self._changes.channel_changed(channel.id, deleted=True)
        await self._retired(number, "channel deleted")

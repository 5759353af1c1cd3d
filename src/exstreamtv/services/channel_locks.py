"""One lock per channel, so that two builds of a channel never interleave."""

from __future__ import annotations

import asyncio


class ChannelLocks:
    """An :class:`asyncio.Lock` per channel id.

    A lock is created on first use, atomically (no ``await`` between the lookup and the
    insert), and dropped when its channel is deleted, so the map is bounded by the set of
    channels. A holder of a dropped lock keeps it until it releases it.
    """

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, channel_id: int) -> asyncio.Lock:
        """The lock of ``channel_id`` (created if needed)."""
        found = self._locks.get(channel_id)
        if found is None:
            found = self._locks[channel_id] = asyncio.Lock()
        return found

    def drop(self, channel_id: int) -> None:
        """Forget the lock of a deleted channel."""
        self._locks.pop(channel_id, None)

    def __len__(self) -> int:
        return len(self._locks)

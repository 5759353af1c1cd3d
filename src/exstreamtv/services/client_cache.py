"""Clients of sources, one per source, built on first use and closed when evicted.

At most ``limit`` clients are kept (least recently used first out); an edited or deleted
source's client is forgotten (closed) so the next use builds one with the new settings.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Closable)


class ClientCache(Generic[C]):
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._clients: OrderedDict[int, C] = OrderedDict()
        self._lock = asyncio.Lock()

    async def get(self, source_id: int, build: Callable[[], Awaitable[C]]) -> C:
        """The source's client, built by ``build`` when there is none."""
        async with self._lock:
            found = self._clients.get(source_id)
            if found is not None:
                self._clients.move_to_end(source_id)
                return found
            client = await build()
            self._clients[source_id] = client
            if len(self._clients) > self._limit:
                _, oldest = self._clients.popitem(last=False)
                await oldest.aclose()
            return client

    async def forget(self, source_id: int) -> None:
        async with self._lock:
            client = self._clients.pop(source_id, None)
        if client is not None:
            await client.aclose()

    async def close(self) -> None:
        async with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            await client.aclose()

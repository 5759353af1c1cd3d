"""Fan-out: every viewer of a channel reads the same released bytes from its own bounded queue.

The pacer pushes each released batch to every viewer without awaiting anything, so a slow
viewer can never slow the channel or the other viewers. A viewer is dropped (its iterator
ends, and ``on_dropped`` counts it) when it lags: when the oldest bytes it has not taken
were released more than ``max_lag`` seconds ago (10 s of media by default; a stalled
player, or one on a link slower than the stream), or when its queue would exceed
``max_bytes`` (a memory bound, whatever the lag). Lag is judged on the channel's monotonic
clock at every push, so a viewer that stops reading is dropped ``max_lag`` seconds after
the socket's own buffers filled, not when some byte count happens to be reached.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

CHUNK = 64 * 1024  # the most bytes handed to a viewer in one chunk
VIEWER_QUEUE = 32 * 1024 * 1024
MAX_LAG_SEC = 10.0


class Viewer:
    """One viewer's bounded queue; iterate it once. ``dropped`` tells why it ended early."""

    def __init__(self, max_bytes: int, max_lag: float, on_leave: Callable[[Viewer], None]) -> None:
        self._chunks: deque[tuple[float, bytes]] = deque()  # (released at, bytes)
        self._queued = 0
        self._max = max_bytes
        self._max_lag = max_lag
        self._ready = asyncio.Event()
        self._closed = False
        self._on_leave = on_leave
        self.dropped = False

    def lag(self, now: float) -> float:
        """Seconds since the oldest bytes not yet taken were released (0 when none)."""
        return now - self._chunks[0][0] if self._chunks else 0.0

    def push(self, data: bytes, now: float) -> bool:
        """Queue ``data`` released at ``now``; returns False (and ends the viewer) when the
        viewer lags too far or its queue is full."""
        if self._closed:
            return False
        if self._queued + len(data) > self._max or self.lag(now) > self._max_lag:
            self.dropped = True
            self.close()
            return False
        self._chunks.append((now, data))
        self._queued += len(data)
        self._ready.set()
        return True

    def close(self) -> None:
        """End the iterator once what is queued has been read (nothing more is accepted)."""
        self._closed = True
        if self.dropped:
            self._chunks.clear()
            self._queued = 0
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                if not self._chunks:
                    if self._closed:
                        return
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                yield self._take()
        finally:
            self._closed = True
            self._chunks.clear()
            self._on_leave(self)

    def _take(self) -> bytes:
        """Up to ``CHUNK`` bytes from the head of the queue (whole pushes are joined)."""
        parts = [self._chunks.popleft()[1]]
        size = len(parts[0])
        while self._chunks and size + len(self._chunks[0][1]) <= CHUNK:
            size += len(self._chunks[0][1])
            parts.append(self._chunks.popleft()[1])
        self._queued -= size
        return parts[0] if len(parts) == 1 else b"".join(parts)


class FanOut:
    """The set of a channel's viewers. ``on_empty`` runs when the last one leaves."""

    def __init__(
        self,
        on_empty: Callable[[], None],
        max_bytes: int = VIEWER_QUEUE,
        *,
        max_lag: float = MAX_LAG_SEC,
        on_sent: Callable[[int], None] | None = None,
        on_dropped: Callable[[], None] | None = None,
    ) -> None:
        self._viewers: set[Viewer] = set()
        self._on_empty = on_empty
        self._max = max_bytes
        self._max_lag = max_lag
        self._on_sent = on_sent
        self._on_dropped = on_dropped
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._viewers)

    def add(self, prelude: bytes, now: float) -> Viewer:
        """A new viewer whose first bytes are ``prelude`` (PAT, PMT and the current GOP)."""
        viewer = Viewer(max(self._max, len(prelude)), self._max_lag, self._leave)
        if prelude:
            viewer.push(prelude, now)
        self._viewers.add(viewer)
        return viewer

    def send(self, data: bytes, now: float) -> None:
        """Give ``data`` (released at ``now``) to every viewer; lagging viewers are dropped."""
        delivered = 0
        for viewer in list(self._viewers):
            if viewer.push(data, now):
                delivered += len(data)
                continue
            self._viewers.discard(viewer)
            self.dropped += viewer.dropped
            if self._on_dropped is not None:
                self._on_dropped()
            if not self._viewers:
                self._on_empty()
        if delivered and self._on_sent is not None:
            self._on_sent(delivered)

    def close(self) -> None:
        """End every viewer (each iterator finishes after its queued bytes)."""
        viewers, self._viewers = self._viewers, set()
        for viewer in viewers:
            viewer.close()

    def _leave(self, viewer: Viewer) -> None:
        if viewer in self._viewers:
            self._viewers.discard(viewer)
            if not self._viewers:
                self._on_empty()

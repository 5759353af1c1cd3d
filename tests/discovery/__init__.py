"""Loopback UDP helpers shared by the discovery tests (127.0.0.0/8 only, never multicast)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

from exstreamtv.discovery.rate_limit import SourceRateLimiter


class FrozenClock:
    """Monotonic time that moves only when the test moves ``ticks``."""

    def __init__(self) -> None:
        self.ticks = 0.0

    def now(self) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.ticks


class ExplodingLimiter(SourceRateLimiter):
    """A limiter with a bug: stands in for any unexpected error inside a handler."""

    def allow(self, source: str) -> bool:
        raise RuntimeError(f"bug while limiting {source}")


@contextlib.contextmanager
def udp_client(host: str = "127.0.0.1") -> Iterator[socket.socket]:
    """A non-blocking UDP socket bound to ``host`` on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, 0))
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


async def receive(sock: socket.socket) -> bytes:
    """The next datagram on ``sock``; fails the test after 5 s."""
    async with asyncio.timeout(5):
        data, _ = await asyncio.get_running_loop().sock_recvfrom(sock, 8192)
    return data


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram already queued on ``sock``, without waiting."""
    queued = []
    with contextlib.suppress(BlockingIOError):
        while True:
            queued.append(sock.recv(8192))
    return queued

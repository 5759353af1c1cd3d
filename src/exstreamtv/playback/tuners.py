"""Tuner accounting: how many distinct channels may stream at once.

A tuner is one distinct live channel; every viewer of that channel shares it. A request
for a new channel when every tuner is in use is refused with :class:`TunersBusy` (HTTP 503
with ``X-HDHomeRun-Error: 805 All Tuners In Use``, as a real HDHomeRun answers), never
served by stealing another channel's tuner.

Acquire and release happen on the event loop without an ``await`` between the check and
the update, so concurrent requests can never take more tuners than there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from exstreamtv.errors import LimitReached

ALL_TUNERS_IN_USE = "805 All Tuners In Use"


class TunersBusy(LimitReached):
    """Every tuner is streaming another channel."""


@dataclass(frozen=True, slots=True)
class TunerStatus:
    """Which channels hold tuners (number -> viewers), and how many tuners exist."""

    count: int
    channels: dict[str, int]

    @property
    def in_use(self) -> int:
        return len(self.channels)


class TunerPool:
    """``count`` tuners shared by channel number."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("a tuner pool needs at least one tuner")
        self._count = count
        self._viewers: dict[str, int] = {}

    def acquire(self, channel: str) -> None:
        """Take a viewer slot on ``channel``'s tuner, taking a free tuner if it has none.

        Raises :class:`TunersBusy` when the channel has no tuner and none is free.
        """
        viewers = self._viewers.get(channel)
        if viewers is None and len(self._viewers) >= self._count:
            raise TunersBusy(
                f"all {self._count} tuners are in use; channel {channel} cannot be tuned",
                retry_after=15,
            )
        self._viewers[channel] = (viewers or 0) + 1

    def release(self, channel: str) -> None:
        """Give back one viewer slot; the tuner is freed with the channel's last viewer."""
        viewers = self._viewers.get(channel, 0) - 1
        if viewers <= 0:
            self._viewers.pop(channel, None)
        else:
            self._viewers[channel] = viewers

    @contextmanager
    def lease(self, channel: str) -> Iterator[None]:
        """Hold a viewer slot for the duration of a ``with`` block."""
        self.acquire(channel)
        try:
            yield
        finally:
            self.release(channel)

    def status(self) -> TunerStatus:
        return TunerStatus(self._count, dict(self._viewers))

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


class TunerSlot:
    """One viewer's hold on a channel's tuner; :meth:`release` is idempotent, so the viewer's
    own clean-up and a forced release of the whole channel never count twice."""

    __slots__ = ("_pool", "channel", "released")

    def __init__(self, pool: TunerPool, channel: str) -> None:
        self._pool, self.channel, self.released = pool, channel, False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._pool._give_back(self)


class TunerPool:
    """``count`` tuners shared by channel number."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("a tuner pool needs at least one tuner")
        self._count = count
        self._slots: dict[str, set[TunerSlot]] = {}

    def acquire(self, channel: str) -> TunerSlot:
        """Take a viewer slot on ``channel``'s tuner, taking a free tuner if it has none.

        Raises :class:`TunersBusy` when the channel has no tuner and none is free.
        """
        slots = self._slots.get(channel)
        if slots is None:
            if len(self._slots) >= self._count:
                raise TunersBusy(
                    f"all {self._count} tuners are in use; channel {channel} cannot be tuned",
                    retry_after=15,
                )
            slots = self._slots[channel] = set()
        slot = TunerSlot(self, channel)
        slots.add(slot)
        return slot

    def release_channel(self, channel: str) -> int:
        """Free ``channel``'s tuner at once (it was removed): every slot on it is released.
        Returns how many viewer slots there were."""
        slots = self._slots.pop(channel, set())
        for slot in slots:
            slot.released = True
        return len(slots)

    def _give_back(self, slot: TunerSlot) -> None:
        """A slot was released; the tuner is freed with the channel's last one."""
        slots = self._slots.get(slot.channel)
        if slots is None or slot not in slots:
            return
        slots.discard(slot)
        if not slots:
            del self._slots[slot.channel]

    @contextmanager
    def lease(self, channel: str) -> Iterator[None]:
        """Hold a viewer slot for the duration of a ``with`` block."""
        slot = self.acquire(channel)
        try:
            yield
        finally:
            slot.release()

    def status(self) -> TunerStatus:
        return TunerStatus(self._count, {key: len(slots) for key, slots in self._slots.items()})

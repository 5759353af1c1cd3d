"""Injected time. Wall-clock UTC decides *what*; the monotonic clock measures *how long*."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for durations and cooldowns)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class DelayedClock:
    """``clock`` running ``delay`` behind: a replay of the past is the live machinery on a
    clock that reads the past (its monotonic clock is ``clock``'s own, so pacing is real)."""

    def __init__(self, clock: Clock, delay: timedelta) -> None:
        self._clock, self.delay = clock, delay

    def now(self) -> datetime:
        return self._clock.now() - self.delay

    def monotonic(self) -> float:
        return self._clock.monotonic()


class HeldClock:
    """A clock whose wall time stands still at ``at`` (its monotonic clock is ``clock``'s):
    a catch-up segment is made as fast as FFmpeg goes, and on a clock that never moves it
    is never "behind the guide", so nothing of it is skipped however long it takes."""

    def __init__(self, clock: Clock, at: datetime) -> None:
        self._clock, self._at = clock, at

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return self._clock.monotonic()

"""Channels and their numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from exstreamtv.domain.profiles import WatermarkStyle
from exstreamtv.errors import InvalidInput

_NUMBER = re.compile(r"(?P<major>[0-9]{1,5})(?:\.(?P<minor>[0-9]{1,3}))?")


@total_ordering
@dataclass(frozen=True, slots=True)
class ChannelNumber:
    """A channel number such as ``"5"`` or ``"5.1"`` (major 1-99999, optional minor 0-999).

    Ordered numerically (``"5" < "5.1" < "10"``). ``str()`` gives the canonical form used
    in URLs (``/auto/v5.1``) and guides; leading zeros are dropped.
    """

    major: int
    minor: int | None = None

    @classmethod
    def parse(cls, text: str) -> ChannelNumber:
        """Parse ``text``; raises :class:`InvalidInput` saying what a number looks like."""
        match = _NUMBER.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None or int(match["major"]) == 0:
            raise InvalidInput(
                f"channel number {text!r} is invalid: use digits, optionally with one "
                "decimal part, such as '5' or '5.1' (major 1-99999)"
            )
        minor = match["minor"]
        return cls(int(match["major"]), int(minor) if minor is not None else None)

    def __str__(self) -> str:
        return f"{self.major}" if self.minor is None else f"{self.major}.{self.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ChannelNumber):
            return NotImplemented
        return (self.major, -1 if self.minor is None else self.minor) < (
            other.major,
            -1 if other.minor is None else other.minor,
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """A stored channel. ``logo`` is a path under the data directory or a URL, if any.
    ``schedule_id`` is the schedule its playout is built from (``None``: nothing is built).
    ``watermark`` overlays the channel's logo on its picture (``None``: no overlay)."""

    id: int
    number: ChannelNumber
    name: str
    group: str | None
    logo: str | None
    enabled: bool
    stream_profile_id: int | None
    schedule_id: int | None = None
    watermark: WatermarkStyle | None = None

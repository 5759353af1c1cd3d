"""What a live channel's own guide says is on: listings read from its source's XMLTV.

Times are UTC milliseconds since the epoch; ``stop_ms`` is after ``start_ms``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Listing:
    """One programme of a live channel's source guide."""

    start_ms: int
    stop_ms: int
    title: str
    sub_title: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()


def first_change(old: Iterable[Listing], new: Iterable[Listing], since_ms: int) -> int | None:
    """The first moment from ``since_ms`` on (UTC ms) at which an item's ``old`` and ``new``
    listings differ: the start of the earliest listing that is in one and not in the other
    (``since_ms`` if it began before); ``None`` when they agree from then on.

    Listings that ended by ``since_ms`` are not compared: dropping what ended before the
    window a scan reads changes no guide that reads from there."""
    differ = {x for x in old if x.stop_ms > since_ms} ^ {x for x in new if x.stop_ms > since_ms}
    if not differ:
        return None
    return max(since_ms, min(x.start_ms for x in differ))

"""What a live channel's own guide says is on: listings read from its source's XMLTV.

Times are UTC milliseconds since the epoch; ``stop_ms`` is after ``start_ms``.
"""

from __future__ import annotations

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

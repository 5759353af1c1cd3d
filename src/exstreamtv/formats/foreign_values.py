"""Lenient reading of values from another program's JSON or database rows.

Exports are user data: a field may be missing, of another type, NaN or absurdly large.
These helpers turn such a value into what the importer needs, or a default, and never raise.
"""

from __future__ import annotations

import json
import math
from typing import Any

from exstreamtv.domain.profiles import Corner

CORNERS = {
    "top-left": Corner.TOP_LEFT,
    "top-right": Corner.TOP_RIGHT,
    "bottom-left": Corner.BOTTOM_LEFT,
    "bottom-right": Corner.BOTTOM_RIGHT,
}
_LIMIT = 10**12


def text(value: Any) -> str:
    """A string stripped, an integer as digits, anything else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def count(value: Any, default: int) -> int:
    """A finite number as a non-negative int (at most 10^12), else ``default``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if math.isnan(value) or not -_LIMIT < value < _LIMIT:  # NaN, infinities, absurd
        return default
    return max(0, int(value))


def small_int(value: Any) -> int | None:
    """A season or episode number (an int below a million), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return int(value) if abs(value) < 1_000_000 else None


def parsed(value: Any) -> Any:
    """``value`` decoded when it is JSON text (SQLite JSON columns), else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value

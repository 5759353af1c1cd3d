"""Local wall-clock times to UTC instants, safely across DST changes.

A local time is turned into an instant per local date with ``fold=0``:

* a time that does not exist that day (the spring-forward gap, e.g. 02:30 in New York on
  the second Sunday of March) is read with the offset before the change, which lands it
  that much *later* in wall-clock terms (02:30 becomes 03:30 EDT): the slot still happens,
  shifted forward by the gap;
* a time that happens twice (the fall-back hour) means its first occurrence.

Results are UTC milliseconds since the epoch.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.errors import InvalidInput


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`InvalidInput` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidInput(
            f"unknown time zone {name!r} (use an IANA name like Europe/Paris)"
        ) from err


def occurrence_ms(tz: ZoneInfo, day: date, at: time) -> int:
    """The instant of local time ``at`` on local ``day`` (see the module rules for DST)."""
    return to_ms(datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz))


def local_date(tz: ZoneInfo, ms: int) -> date:
    """The local calendar date at instant ``ms``."""
    return from_ms(ms).astimezone(tz).date()


def utc_offset_ms(tz: ZoneInfo, ms: int) -> int:
    """The zone's offset from UTC at instant ``ms``, in ms (e.g. +05:30 → 19_800_000)."""
    offset = from_ms(ms).astimezone(tz).utcoffset()
    return 0 if offset is None else offset // timedelta(milliseconds=1)


def next_occurrence_ms(tz: ZoneInfo, at: time, after_ms: int) -> int:
    """The first instant strictly after ``after_ms`` at which local time ``at`` occurs."""
    day = local_date(tz, after_ms) - timedelta(days=1)
    for offset in range(4):
        candidate = occurrence_ms(tz, day + timedelta(days=offset), at)
        if candidate > after_ms:
            return candidate
    raise AssertionError("a local time occurs at least once every two days")  # unreachable

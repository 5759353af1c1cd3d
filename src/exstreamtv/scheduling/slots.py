"""``slots`` schedules: a weekly grid of local-time slots.

A slot occurrence lasts from its local start time until the next slot's occurrence (on
any day), computed per local date so that it stays right across DST (see
``scheduling.localtime``). In a slot:

* ``flood`` (and ``duration``) plays items that fit before the slot ends, then pads;
* ``one`` / ``multiple`` play 1 / ``count`` items, then pad the rest of the slot.

Padding is tail filler, then fallback filler, then offline. When content runs into the
next slot, that slot's ``lateness`` applies: ``start_late`` plays it from then,
``skip`` pads it out instead, ``cut_previous`` is applied ahead of time by giving the
running slot a hard deadline at the next slot's start.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from typing import cast

from exstreamtv.domain.schedules import FillerSet, Lateness, PlayMode, TimeSlot
from exstreamtv.scheduling.engine import Builder
from exstreamtv.scheduling.localtime import local_date, occurrence_ms

LOOK_DAYS = 8  # a weekly grid repeats within 7 days; one more covers DST edges


def step(b: Builder) -> None:
    """Emit one guide group of the slot occurrence that contains the cursor."""
    slots = b.schedule.slots
    found = _window(b, slots)
    if found is None:
        b.warn("empty_schedule", "the schedule has no time slots on any day")
        b.empty_gap("schedule", None, FillerSet())
        return
    start, index, end, following = found
    slot, source = slots[index], f"slot:{index}"
    if b.element_start != start:
        b.element_start = start
        b.remaining = max(1, slot.count) if slot.mode in (PlayMode.ONE, PlayMode.MULTIPLE) else -2
        if b.now > start and slot.lateness is Lateness.SKIP:
            b.remaining = 0
    hard = end if slots[following].lateness is Lateness.CUT_PREVIOUS else None
    if b.remaining == 0:
        b.pad(end, slot.filler, source, slot.guide_title)
        return
    media = b.content(slot.source).peek()
    if media is None:
        b.empty_gap(source, end, slot.filler)
        return
    if b.remaining == -2 and b.now + media.duration_ms > end:
        b.pad(end, slot.filler, source, slot.guide_title)  # flood: nothing more fits
        return
    b.content(slot.source).advance()
    deadline = end if b.remaining == -2 else hard
    b.programme(media, slot.filler, title=slot.guide_title, source=source, deadline_ms=deadline)
    if b.remaining > 0:
        b.remaining -= 1


def _window(b: Builder, slots: tuple[TimeSlot, ...]) -> tuple[int, int, int, int] | None:
    """(start, slot index, end, index of the slot after) of the occurrence holding ``now``.

    The last window found is kept: a slot of short items takes many steps, and an
    occurrence is the same whichever date's occurrences it was found among."""
    if not slots:
        return None
    last = b.memo.get("slots-window")
    if isinstance(last, tuple) and last[0] <= b.now < last[2]:
        return cast(tuple[int, int, int, int], last)
    occurrences = _occurrences(b, slots, local_date(b.tz, b.now))
    if not occurrences:
        return None
    starts = [start for start, _ in occurrences]
    at = bisect_right(starts, b.now) - 1
    if at < 0 or at + 1 >= len(occurrences):
        return None
    (start, index), (end, following) = occurrences[at], occurrences[at + 1]
    b.memo["slots-window"] = found = (start, index, end, following)
    return found


def _occurrences(b: Builder, slots: tuple[TimeSlot, ...], around: date) -> list[tuple[int, int]]:
    """Sorted (instant, slot index) pairs for the dates around ``around`` (memoised)."""
    key = ("slots", around)
    cached = b.memo.get(key)
    if isinstance(cached, list):
        return cached
    found: dict[int, int] = {}
    for offset in range(-LOOK_DAYS, LOOK_DAYS + 1):
        day = around + timedelta(days=offset)
        for index, slot in enumerate(slots):
            if not slot.weekdays or day.weekday() in slot.weekdays:
                found[occurrence_ms(b.tz, day, slot.start)] = index  # later slots win ties
    occurrences = sorted(found.items())
    b.memo[key] = occurrences
    return occurrences

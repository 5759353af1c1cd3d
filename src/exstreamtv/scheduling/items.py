"""``items`` schedules: schedule items played in order, looping.

Each item is an *element*: it starts (``element_start``), plays its content, and finishes,
moving the cursor to the next item. Rules:

* **fixed start**: the element waits for the first occurrence of its local time after the
  previous element started; the wait is a gap (fallback filler, then offline). When the
  previous content ran past that occurrence the lateness policy applies: ``start_late``
  starts now, ``skip`` moves on to the next item, ``cut_previous`` is applied ahead of
  time: the previous element is given that occurrence as a hard deadline, so it never
  runs past it (its last programme is cut there).
* **flood** fills until the next item's fixed start (if the next item has none, it fills
  forever and a warning says so): it plays items that fit, then pads the rest.
* **one** / **multiple** play 1 / ``count`` items.
* **duration** fills ``duration_minutes`` from the element's start; the item that does not
  fit is cut at the window's end (``trim``) or left for later with the rest of the window
  padded (``filler``: tail filler, then fallback, then offline).
"""

from __future__ import annotations

from exstreamtv.domain.schedules import FillerSet, Lateness, PlayMode, ScheduleItem, TailMode
from exstreamtv.scheduling.engine import Builder
from exstreamtv.scheduling.localtime import next_occurrence_ms

NOT_STARTED = -1
UNBOUNDED = -2


def step(b: Builder) -> None:
    """Emit one guide group (or finish elements that have nothing left, then emit)."""
    items = b.schedule.items
    if not items:
        b.warn("empty_schedule", "the schedule has no items")
        b.empty_gap("schedule", None, FillerSet())
        return
    for _ in range(2 * len(items) + 1):
        b.position %= len(items)
        before = len(b.entries)
        _advance(b, items[b.position])
        if len(b.entries) > before:
            return
    # Every item was skipped or already over: wait for the next fixed start, if any.
    b.empty_gap("schedule", _earliest_fixed(b), FillerSet())


def _advance(b: Builder, item: ScheduleItem) -> None:
    source = f"item:{b.position}"
    if b.remaining == NOT_STARTED and not _start(b, item, source):
        return
    if item.mode is PlayMode.FLOOD:
        _flood(b, item, source)
    elif item.mode is PlayMode.DURATION:
        _duration(b, item, source)
    else:
        _counted(b, item, source)


def _start(b: Builder, item: ScheduleItem, source: str) -> bool:
    """Begin the element at the cursor; False when it emitted a wait or was skipped."""
    if item.fixed_start is not None:
        reference = b.element_start if b.element_start is not None else b.now - 1
        occurrence = next_occurrence_ms(b.tz, item.fixed_start, reference)
        if occurrence > b.now:
            b.gap(occurrence, item.filler, source)
            return False
        if occurrence < b.now and item.lateness is Lateness.SKIP:
            b.element_start = b.now
            _finish(b)
            return False
    b.element_start = b.now
    b.remaining = {PlayMode.ONE: 1, PlayMode.MULTIPLE: max(1, item.count)}.get(item.mode, UNBOUNDED)
    return True


def _finish(b: Builder) -> None:
    b.position = (b.position + 1) % len(b.schedule.items)
    b.remaining = NOT_STARTED


def _next_fixed(b: Builder) -> tuple[int | None, Lateness | None]:
    """The next item's fixed-start occurrence after this element began, and its policy."""
    items = b.schedule.items
    following = items[(b.position + 1) % len(items)]
    if following.fixed_start is None or b.element_start is None:
        return None, None
    return next_occurrence_ms(b.tz, following.fixed_start, b.element_start), following.lateness


def _hard_deadline(b: Builder) -> int | None:
    occurrence, lateness = _next_fixed(b)
    return occurrence if lateness is Lateness.CUT_PREVIOUS else None


def _flood(b: Builder, item: ScheduleItem, source: str) -> None:
    deadline, _ = _next_fixed(b)
    if deadline is None:
        if len(b.schedule.items) > 1:  # a lone flood item filling everything is the intent
            b.warn(
                "flood_without_fixed_start",
                f"{source} floods but the next item has no fixed start: it fills the timeline",
            )
    elif b.now >= deadline:
        _finish(b)
        return
    media = b.content(item.source).peek()
    if media is None:
        b.empty_gap(source, deadline, item.filler)
    elif deadline is not None and b.now + media.duration_ms > deadline:
        b.gap(deadline, item.filler, source)  # nothing more fits: pad up to the fixed start
    else:
        b.content(item.source).advance()
        b.programme(media, item.filler, title=item.guide_title, source=source, deadline_ms=deadline)
    if deadline is not None and b.now >= deadline:
        _finish(b)


def _counted(b: Builder, item: ScheduleItem, source: str) -> None:
    deadline = _hard_deadline(b)
    if deadline is not None and b.now >= deadline:
        _finish(b)
        return
    media = b.content(item.source).peek()
    if media is None:
        b.empty_gap(source, deadline, item.filler)
        _finish(b)
        return
    b.content(item.source).advance()
    b.programme(media, item.filler, title=item.guide_title, source=source, deadline_ms=deadline)
    b.remaining -= 1
    if b.remaining <= 0 or (deadline is not None and b.now >= deadline):
        _finish(b)


def _duration(b: Builder, item: ScheduleItem, source: str) -> None:
    started = b.now if b.element_start is None else b.element_start  # set by _start
    window_end = started + max(1, item.duration_minutes or 0) * 60_000
    cut = _hard_deadline(b)
    if cut is not None:
        window_end = min(window_end, cut)
    if b.now >= window_end:
        _finish(b)
        return
    media = b.content(item.source).peek()
    if media is None:
        b.empty_gap(source, window_end, item.filler)
    elif b.now + media.duration_ms <= window_end or item.tail_mode is TailMode.TRIM:
        b.content(item.source).advance()
        b.programme(
            media, item.filler, title=item.guide_title, source=source, deadline_ms=window_end
        )
    else:
        b.pad(window_end, item.filler, source, item.guide_title)
    if b.now >= window_end:
        _finish(b)


def _earliest_fixed(b: Builder) -> int | None:
    starts = [
        next_occurrence_ms(b.tz, item.fixed_start, b.now)
        for item in b.schedule.items
        if item.fixed_start is not None
    ]
    return min(starts, default=None)

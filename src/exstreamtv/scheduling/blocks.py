"""``blocks`` schedules: fixed-length blocks placed on weekdays by templates.

A placement puts a block at a local start time on the template's weekdays. The block
lasts ``minutes`` (or until the next placement, if that comes first); its entries play in
order (``count`` items each), content is cut at the block's end, and what is left of the
block is padded (tail filler, fallback, offline). Time outside every block is a gap.
Each source keeps its position across block instances, so a show continues where it left
off the next time its block airs.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta

from exstreamtv.domain.schedules import Block, FillerSet
from exstreamtv.scheduling.engine import Builder
from exstreamtv.scheduling.localtime import local_date, occurrence_ms

LOOK_DAYS = 8


def step(b: Builder) -> None:
    """Emit one guide group: a programme of the block on air, its padding, or a gap."""
    windows = _windows(b, local_date(b.tz, b.now))
    starts = [start for start, _, _ in windows]
    at = bisect_right(starts, b.now) - 1
    if at >= 0 and windows[at][1] > b.now:
        start, end, block = windows[at]
        _play(b, start, end, block)
        return
    upcoming = windows[at + 1][0] if at + 1 < len(windows) else None
    if upcoming is None:
        b.warn("empty_schedule", "no block is placed on any day")
    b.empty_gap("between-blocks", upcoming, FillerSet())


def _play(b: Builder, start: int, end: int, block: Block) -> None:
    source = f"block:{block.key}"
    if b.element_start != start:
        b.element_start, b.position = start, 0
        b.remaining = block.entries[0].count if block.entries else 0
    while b.position < len(block.entries):
        entry = block.entries[b.position]
        media = b.content(entry.source).peek() if b.remaining > 0 else None
        if media is None:  # entry done (or nothing to play): next entry
            b.position += 1
            if b.position < len(block.entries):
                b.remaining = block.entries[b.position].count
            continue
        b.content(entry.source).advance()
        b.remaining -= 1
        b.programme(media, block.filler, title=None, source=source, deadline_ms=end)
        return
    b.pad(end, block.filler, source)


def _windows(b: Builder, around: date) -> list[tuple[int, int, Block]]:
    """Sorted (start, end, block) windows for the dates around ``around`` (memoised)."""
    key = ("blocks", around)
    cached = b.memo.get(key)
    if isinstance(cached, list):
        return cached
    blocks = {block.key: block for block in b.schedule.blocks}
    placed: dict[int, Block] = {}
    for offset in range(-LOOK_DAYS, LOOK_DAYS + 1):
        day = around + timedelta(days=offset)
        for template in b.schedule.templates:
            if template.weekdays and day.weekday() not in template.weekdays:
                continue
            for placement in template.placements:
                block = blocks.get(placement.block_key)
                if block is None:
                    b.warn("missing_block", f"no block with key {placement.block_key!r}")
                    continue
                placed[occurrence_ms(b.tz, day, placement.start)] = block
    ordered = sorted(placed.items(), key=lambda pair: pair[0])
    windows = []
    for index, (start, block) in enumerate(ordered):
        end = start + block.minutes * 60_000
        if index + 1 < len(ordered):
            end = min(end, ordered[index + 1][0])  # the next placement cuts this block
        windows.append((start, end, block))
    b.memo[key] = windows
    return windows

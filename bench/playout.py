"""Playout engine benchmark: build, hourly extend, ``item_at`` latency, peak RSS.

1,000 channels x 7 days of 22-minute episodes (shuffled, 100 per channel) with a pre-roll
before each episode and a fallback pool for gaps, through the real pure engine.

Targets on a 2-core machine: build <= 10 s, hourly extend of every channel <= 1 s,
``item_at`` <= 50 us.

    .venv/bin/python bench/playout.py [--channels 1000] [--days 7]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from exstreamtv.domain.playout import Playable, Timeline
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    PlaybackOrder,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    WeightedCollection,
)
from exstreamtv.scheduling.engine import BuildInputs, BuildResult, build

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
FILLER = 1_000_000
PRESETS = {
    1: FillerPreset(1, "ads", FillerKind.PRE_ROLL, (WeightedCollection(FILLER),), count=1),
    2: FillerPreset(2, "fallback", FillerKind.FALLBACK, (WeightedCollection(FILLER),)),
}


def channel_inputs(channel: int) -> BuildInputs:
    episodes = [
        Playable(channel * 1000 + n, 22 * 60_000, f"Episode {n}", f"Show {channel}", 1, n)
        for n in range(100)
    ]
    rng = random.Random(channel)  # benchmark data only; the engine never uses `random`
    ads = [Playable(FILLER + n, rng.randint(15, 90) * 1000, f"Ad {n}") for n in range(40)]
    schedule = Schedule(
        channel,
        f"Channel {channel}",
        ScheduleKind.ITEMS,
        "America/New_York",
        items=(
            ScheduleItem(
                ContentSource((channel,), PlaybackOrder.SHUFFLE),
                PlayMode.ONE,
                filler=FillerSet(pre_roll=1),
            ),
        ),
        fallback=2,
        seed=channel,
    )
    return BuildInputs(schedule, {channel: episodes, FILLER: ads}, PRESETS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    inputs = [channel_inputs(n) for n in range(1, args.channels + 1)]
    until = START + timedelta(days=args.days)

    started = time.perf_counter()
    built: list[BuildResult] = [build(i, None, START, until) for i in inputs]
    build_s = time.perf_counter() - started
    entries = sum(len(r.entries) for r in built)
    content = sum(1 for r in built for e in r.entries if e.media_id and e.media_id < FILLER)

    # The server keeps entries in the database, not in memory: only the cursors carry over.
    states = [r.state for r in built]
    timelines = [Timeline(r.entries) for r in built[:50]]
    del built
    gc.collect()
    started = time.perf_counter()
    later = until + timedelta(hours=1)
    extended = [build(i, s, START, later) for i, s in zip(inputs, states, strict=True)]
    extend_s = time.perf_counter() - started

    probes = [START + timedelta(seconds=s) for s in range(0, args.days * 86400, 3607)]
    started = time.perf_counter()
    for timeline in timelines:
        for moment in probes:
            assert timeline.at(moment) is not None
    item_at_us = (time.perf_counter() - started) / (len(timelines) * len(probes)) * 1e6

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    added = sum(len(r.entries) for r in extended)
    print(f"channels x days:      {args.channels} x {args.days}")
    print(f"entries built:        {entries} ({content} episodes, the rest filler)")
    print(f"build:                {build_s:.2f}s  ({build_s / entries * 1e6:.1f} us/entry; "
          f"target <= 10 s: {'ok' if build_s <= 10 else 'MISSED'})")  # fmt: skip
    print(f"hourly extend (all):  {extend_s:.3f}s  ({added} entries; "
          f"target <= 1 s: {'ok' if extend_s <= 1 else 'MISSED'})")  # fmt: skip
    print(f"item_at:              {item_at_us:.2f} us  "
          f"(target <= 50 us: {'ok' if item_at_us <= 50 else 'MISSED'})")  # fmt: skip
    print(f"peak RSS:             {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()

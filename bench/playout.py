"""Playout engine benchmark: build, hourly extend, ``item_at`` latency, peak RSS, and one
channel's reset through the service.

1,000 channels x 7 days of 22-minute episodes (shuffled, 100 per channel) with a pre-roll
before each episode and a fallback pool for gaps, through the real pure engine. Channels
are built one after another and only their cursors are kept, as the server does (it writes
each channel's entries to the database before the next).

The reset: ``PlayoutService.build(..., RESET)`` of one such channel over a 48 h horizon on
SQLite (load the schedule and media, run the engine, replace the rows, record the build).

Targets on a quiet 2-core machine: build <= 3 s and peak RSS <= 200 MB; hourly extend of
every channel <= 0.1 s; ``item_at`` <= 50 us; one channel's reset <= 20 ms.

    .venv/bin/python bench/playout.py [--channels 1000] [--days 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exstreamtv.clock import SystemClock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind
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
from exstreamtv.scheduling.engine import BuildInputs, build
from exstreamtv.scheduling.state import BuildState
from exstreamtv.services.container import open_container
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.channels import ChannelFields
from figures import Figure, add_json_option, report
from guide import seed_media

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


def build_all(inputs: list[BuildInputs], until: datetime) -> tuple[float, list[BuildState], int]:
    """Seconds to build every channel, their cursors, and how many entries were made."""
    states: list[BuildState] = []
    entries = 0
    started = time.perf_counter()
    for channel in inputs:
        result = build(channel, None, START, until)
        entries += len(result.entries)
        states.append(result.state)
        del result  # written to the database and dropped, in the server
    return time.perf_counter() - started, states, entries


async def reset_ms(work: Path, samples: int) -> float:
    """Median milliseconds of one channel's reset over 48 h, through the service."""
    settings = Settings.model_validate({"data_dir": work, "demo": {"enabled": False}})
    async with open_container(settings, clock=SystemClock()) as container:
        shows = await seed_media(container, work / "media")
        collection = await container.catalog.create_collection(
            Collection(0, "Show 0", CollectionKind.MANUAL, item_ids=tuple(p.id for p in shows[0]))
        )
        item = ScheduleItem(ContentSource((collection.id,), PlaybackOrder.SHUFFLE), PlayMode.ONE)
        schedule = await container.schedules.create(
            Schedule(0, "Bench", ScheduleKind.ITEMS, items=(item,))
        )
        channel = await container.channels.create(ChannelFields(ChannelNumber(1), "Bench"))
        await container.playouts.attach(channel.number, schedule.id)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            await container.playouts.build(channel.number, BuildMode.RESET)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    add_json_option(parser)
    args = parser.parse_args()
    inputs = [channel_inputs(n) for n in range(1, args.channels + 1)]
    until = START + timedelta(days=args.days)
    timelines = [Timeline(build(i, None, START, until).entries) for i in inputs[:50]]
    gc.collect()

    build_s, states, entries = build_all(inputs, until)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    later = until + timedelta(hours=1)
    started = time.perf_counter()
    added = sum(len(build(i, s, START, later).entries) for i, s in zip(inputs, states, strict=True))
    extend_s = time.perf_counter() - started

    probes = [START + timedelta(seconds=s) for s in range(0, args.days * 86400, 3607)]
    started = time.perf_counter()
    for timeline in timelines:
        for moment in probes:
            assert timeline.at(moment) is not None
    item_at_us = (time.perf_counter() - started) / (len(timelines) * len(probes)) * 1e6
    with tempfile.TemporaryDirectory(prefix="exstreamtv-playout-") as work:
        reset = asyncio.run(reset_ms(Path(work), 20))

    print(f"{args.channels} channels x {args.days} days: {entries} entries built, {added} by "
          f"the hourly extension")  # fmt: skip
    report(
        [
            Figure("playout.build_s", f"build {args.channels} x {args.days} days", build_s,
                   "s", 3.0),
            Figure("playout.build_us_per_entry", "  per entry", build_s / entries * 1e6, "us"),
            Figure("playout.peak_rss_mb", "peak RSS", rss_mb, "MB", 200),
            Figure("playout.extend_s", "hourly extend, every channel", extend_s, "s", 0.1),
            Figure("playout.item_at_us", "item_at", item_at_us, "us", 50),
            Figure("playout.reset_ms", "one channel's reset, 48 h, with the database", reset,
                   "ms", 20),
        ],
        args.json,
    )  # fmt: skip


if __name__ == "__main__":
    main()

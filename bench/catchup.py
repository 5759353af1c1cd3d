"""Catch-up benchmark: 1,000 channels with 7 days of past playout and 2 ahead (22-minute
episodes, about 600k rows), in a fresh SQLite database seeded through the real engine and
repositories. Times:

* "what aired at t" for random past instants, as the repository asks it (its own
  statement, on a synchronous connection: the database's share): target <= 50 us;
* the same for instants within the last hour, to show the history does not slow it;
* the whole service path, ``PlayoutService.aired`` (async session, media check): no
  target, for reference;
* pruning an hour of history from every channel (what the hourly extension does).

    .venv/bin/python bench/catchup.py [--channels 1000] [--days 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import create_engine

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import from_ms, to_ms
from exstreamtv.services.container import Container, open_container
from exstreamtv.store.database import transaction
from exstreamtv.store.playouts import PlayoutRepository, _listed
from exstreamtv.store.tables import PlayoutEntryRow
from figures import Figure, add_json_option, report
from guide import seed_channels, seed_media

LOOKUPS = 2000
AHEAD_HOURS = 48


async def seed(container: Container, channels: int, days: int) -> datetime:
    """``channels`` channels built from ``days`` ago to two days ahead; returns the start."""
    shows = await seed_media(container, Path("/media/bench"))
    return await seed_channels(container, shows, channels, AHEAD_HOURS, timedelta(days=days))


def lookups_us(database: Path, channels: int, instants: list[int]) -> tuple[float, float]:
    """Mean time (us) of the repository's "entry at t" statement: in SQLite itself (the
    compiled statement and its bound values on a plain ``sqlite3`` connection), and through
    SQLAlchemy Core on a synchronous connection."""
    engine = create_engine(f"sqlite:///{database}")
    rng = random.Random(7)
    queries = [
        _listed(rng.randint(1, channels))
        .where(PlayoutEntryRow.start <= from_ms(at))
        .order_by(PlayoutEntryRow.start.desc())
        .limit(1)
        for at in instants
    ]
    raw: list[tuple[str, list[object]]] = []
    for query in queries:
        compiled = query.compile(dialect=engine.dialect)
        params = compiled.construct_params()
        processors = compiled._bind_processors  # the dialect's own binding of each value
        values: list[object] = []
        for name in compiled.positiontup or []:
            process = cast("Callable[[object], object] | None", processors.get(name))
            values.append(params[name] if process is None else process(params[name]))
        raw.append((str(compiled), values))
    with sqlite3.connect(database) as plain:
        for sql, values in raw[:50]:  # warm the pages
            plain.execute(sql, values).fetchone()
        started = time.perf_counter()
        for sql, values in raw:
            assert plain.execute(sql, values).fetchone() is not None
        in_sqlite = (time.perf_counter() - started) / len(raw) * 1e6
    with engine.connect() as connection:
        for query in queries[:50]:  # warm the statement cache
            connection.execute(query).first()
        started = time.perf_counter()
        for query in queries:
            assert connection.execute(query).first() is not None
        core = (time.perf_counter() - started) / len(queries) * 1e6
    engine.dispose()
    return in_sqlite, core


async def run(channels: int, days: int, work: Path) -> list[Figure]:
    database = work / "bench.db"
    settings = Settings.model_validate(
        {
            "data_dir": work / "data",
            "database": {"url": f"sqlite+aiosqlite:///{database}"},
            "demo": {"enabled": False},
            "catchup": {"days": days},
        }
    )
    figures: list[Figure] = []
    async with open_container(settings) as container:
        began = time.perf_counter()
        start = await seed(container, channels, days)
        seeded = time.perf_counter() - began
        async with container.sessions() as session:
            rows = (await PlayoutRepository(session).playout_info(1)).entry_count
        print(f"seeded {channels} channels, {days} days back and 2 ahead "
              f"({rows} rows on channel 1) in {seeded:.0f} s", flush=True)  # fmt: skip
        now = to_ms(datetime.now(UTC))
        rng = random.Random(1)
        past = [rng.randint(to_ms(start) + 60_000, now - 3_600_000) for _ in range(LOOKUPS)]
        recent = [rng.randint(now - 3_600_000, now - 1_000) for _ in range(LOOKUPS)]
        past_sql, past_core = lookups_us(database, channels, past)
        recent_sql, recent_core = lookups_us(database, channels, recent)
        figures += [
            Figure("catchup.item_at_past_us", f"what aired at t, {days} days back (SQLite)",
                   past_sql, "us", 50.0),
            Figure("catchup.item_at_recent_us", "what aired at t, last hour (SQLite)",
                   recent_sql, "us", 50.0),
            Figure("catchup.item_at_past_core_us", "the same, days back, via SQLAlchemy",
                   past_core, "us"),
            Figure("catchup.item_at_recent_core_us", "the same, last hour, via SQLAlchemy",
                   recent_core, "us"),
        ]  # fmt: skip
        started = time.perf_counter()
        for at in past[:200]:
            number = ChannelNumber(rng.randint(1, channels))
            await container.playouts.aired(number, from_ms(at))
        service = (time.perf_counter() - started) / 200 * 1e6
        figures.append(Figure("catchup.aired_service_us", "PlayoutService.aired (async)",
                              service, "us"))  # fmt: skip
        cut = start + timedelta(hours=1)
        started = time.perf_counter()
        for channel_id in range(1, channels + 1):
            async with transaction(container.sessions) as session:
                await PlayoutRepository(session).trim_before(channel_id, cut)
        figures.append(Figure(
            "catchup.prune_hour_s", f"prune an hour of history, {channels} channels",
            time.perf_counter() - started, "s",
        ))  # fmt: skip
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    add_json_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(run(args.channels, args.days, Path(folder)))
    report(figures, args.json)


if __name__ == "__main__":
    main()

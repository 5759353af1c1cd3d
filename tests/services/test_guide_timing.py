"""The guide is exact to the second: a playout started between seconds starts on a whole
second, and every XMLTV start and stop is the time of a stored entry boundary, not a
truncation of one (SQLite and PostgreSQL; the clock is moved by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.playout import to_ms
from exstreamtv.domain.schedules import FillerKind, FillerPreset, FillerSet, WeightedCollection
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideLinks
from tests.lineups import parse_guide
from tests.seeding import T0, ManualClock, add_channel, add_collection, add_show, items_schedule
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return build_settings(tmp_path / "data", database_url, playout={"horizon_hours": 4})


def instant(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S %z").astimezone(UTC)


async def test_a_reset_between_seconds_gives_a_guide_exact_to_the_second(
    clocked: Container, clock: ManualClock
) -> None:
    clock.current = T0 + timedelta(hours=6, minutes=43, seconds=17, milliseconds=839)
    # Durations with milliseconds, padded by bumpers of odd lengths to 15-minute boundaries.
    show = await add_show(clocked, "Odd", [21.51234, 22.75678, 19.0009])
    bumpers = await add_show(clocked, "Bumper", [0.41111, 0.72222])
    preset = await clocked.schedules.create_preset(
        FillerPreset(0, "Bumpers", FillerKind.TAIL, (WeightedCollection(
            await add_collection(clocked, "Bumpers", bumpers)),), tail_boundary_minutes=15)
    )  # fmt: skip
    schedule = items_schedule("Odd", await add_collection(clocked, "Odd", show))
    item = schedule.items[0]
    schedule = type(schedule)(0, "Odd", schedule.kind, items=(
        type(item)(item.source, item.mode, filler=FillerSet(tail=preset.id)),))  # fmt: skip
    saved = await clocked.schedules.create(schedule)
    channel = await add_channel(clocked, "1")

    await clocked.playouts.attach(channel.number, saved.id)

    entries = [e.entry for e in await clocked.playouts.entries(channel.number)]
    assert entries[0].start == datetime(2026, 3, 2, 18, 43, 17, tzinfo=UTC)
    boundaries = {e.start_ms for e in entries} | {entries[-1].finish_ms}
    document = await clocked.guide.xmltv(LINKS)
    _, programmes = parse_guide(b"".join([c async for c in document.plain_stream()]))
    assert programmes[0].start == "20260302184317 +0000"
    for programme in programmes:
        assert to_ms(instant(programme.start)) in boundaries, programme
        assert to_ms(instant(programme.stop)) in boundaries, programme
        on = await clocked.playouts.now(channel.number, instant(programme.start))
        assert on is not None and on.playing.offset_ms == 0  # the listed second is the cut
    stops = [instant(p.stop) for p in programmes[:-1]]
    assert all(s.minute % 15 == 0 and s.second == 0 for s in stops)  # padded exactly

"""Media that goes missing leaves every channel's future at once: the stream reporting a
file it cannot open, another process marking it missing, a deleted library; the airing
programme keeps its slot, `/playout/info` names the file and the guide follows (SQLite and
PostgreSQL; the clock is moved by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import delete

from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.media import MediaState
from exstreamtv.domain.playout import EntryKind, PlayoutEntry, Timeline
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideLinks
from exstreamtv.services.playout_extender import PlayoutExtender
from exstreamtv.services.playout_inputs import MISSING_LISTED
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository
from exstreamtv.store.tables import MediaItemRow
from tests.lineups import parse_guide
from tests.seeding import T0, ManualClock, add_channel, add_collection, add_show, items_schedule
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")
REASON = "the stream could not open it: No such file or directory"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """A short horizon keeps the playouts small."""
    return build_settings(tmp_path / "data", database_url, playout={"horizon_hours": 6})


@dataclass
class Airing:
    channel: Channel
    episodes: list[int]


async def on_air(container: Container, number: str = "1") -> Airing:
    """Show A's five episodes (20-24 min) in order, looping, attached at T0."""
    episodes = await add_show(container, "A", [20, 21, 22, 23, 24])
    collection = await add_collection(container, "A", episodes)
    schedule = await container.schedules.create(items_schedule("A", collection))
    channel = await add_channel(container, number)
    await container.playouts.attach(channel.number, schedule.id)
    return Airing(channel, episodes)


async def stored(container: Container, number: str = "1") -> list[PlayoutEntry]:
    async with container.sessions() as session:
        channel = await ChannelRepository(session).get(ChannelNumber.parse(number))
        far = timedelta(days=30)
        listed = await PlayoutRepository(session).entries(channel.id, T0 - far, T0 + far)
    return [item.entry for item in listed]


async def guide_sub_titles(container: Container) -> list[str]:
    document = await container.guide.xmltv(LINKS)
    xml = b"".join([chunk async for chunk in document.plain_stream()])
    _, programmes = parse_guide(xml)
    assert programmes
    root = xml.decode()
    return [t for t in (f"A {n}" for n in range(1, 6)) if f"<sub-title>{t}</sub-title>" in root]


def first_use(entries: list[PlayoutEntry], media_id: int) -> int:
    return next(n for n, e in enumerate(entries) if e.media_id == media_id)


async def test_a_file_the_stream_cannot_open_leaves_the_future_and_the_guide_at_once(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    before = await stored(clocked)
    assert "A 4" in await guide_sub_titles(clocked)  # listed, and now cached
    now = clock.advance(timedelta(minutes=30))  # episode 2 airs; episode 4 is on later
    gone = setup.episodes[3]
    version = clocked.guide._changes.version

    report = await clocked.playouts.media_missing(gone, REASON)

    assert (report.built, report.failed) == (1, 0)
    after = await stored(clocked)
    assert all(a.finish_ms == b.start_ms for a, b in pairwise(after))
    kept = first_use(before, gone)
    assert after[:kept] == before[:kept]  # everything before its first airing keeps its slot
    assert after[kept].start == before[kept].start and after[kept].media_id == setup.episodes[4]
    assert gone not in {e.media_id for e in after if e.finish > now}
    assert clocked.guide._changes.version > version
    assert "A 4" not in await guide_sub_titles(clocked)  # the cached guide is not served
    info = await clocked.playouts.info(setup.channel.number)
    [warning] = [w for w in info.warnings if w.code == "missing_media"]
    assert "/media/lib-A/A/e4.mkv is missing" in warning.message
    assert REASON in warning.message
    async with clocked.sessions() as session:
        item = await MediaRepository(session).get(gone)
    assert item is not None and item.state is MediaState.MISSING
    assert item.missing_reason == REASON


async def test_the_airing_programme_keeps_its_slot_when_its_own_file_goes_missing(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    before = await stored(clocked)
    now = clock.advance(timedelta(minutes=30))
    airing = Timeline(before).at(now)
    assert airing is not None and airing.entry.media_id == setup.episodes[1]

    await clocked.playouts.media_missing(setup.episodes[1], REASON)

    after = await stored(clocked)
    on = await clocked.playouts.now(setup.channel.number)
    assert on is not None and on.playing == airing
    assert [e.media_id for e in after if e.media_id == setup.episodes[1]] == [setup.episodes[1]]


async def test_media_marked_missing_elsewhere_leaves_the_future_on_the_next_extender_pass(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    clock.advance(timedelta(minutes=5))
    async with transaction(clocked.sessions) as session:  # what `exstreamtv scan` would do
        await MediaRepository(session).mark_missing([setup.episodes[2]], clock.now(), "gone")
    extender = PlayoutExtender(clocked.playouts, interval_sec=3600)
    extender.start()
    try:
        await extender.wait_for_passes(1)
    finally:
        await extender.stop()
    assert setup.episodes[2] not in {e.media_id for e in await stored(clocked)}


async def test_a_deleted_library_leaves_no_unknown_programme_in_the_future(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    others = await add_show(clocked, "B", [30, 30], library="other")
    collection = await add_collection(clocked, "AB", [*setup.episodes, *others])
    schedule = await clocked.schedules.create(items_schedule("AB", collection))
    await clocked.playouts.attach(setup.channel.number, schedule.id)
    now = clock.advance(timedelta(minutes=3))
    async with transaction(clocked.sessions) as session:  # rows deleted under the playout
        await session.execute(delete(MediaItemRow).where(MediaItemRow.id.in_(setup.episodes)))

    await clocked.playouts.drop_unavailable()

    future = [e for e in await stored(clocked) if e.start > now]
    assert future and {e.media_id for e in future} <= set(others)
    assert all(e.kind is not EntryKind.CONTENT or e.media_id is not None for e in future)


async def test_nothing_changes_for_unknown_or_already_missing_media(
    clocked: Container, clock: ManualClock
) -> None:
    setup = await on_air(clocked)
    clock.advance(timedelta(minutes=1))
    await clocked.playouts.media_missing(setup.episodes[3], REASON)
    before = await stored(clocked)
    version = clocked.guide._changes.version

    again = await clocked.playouts.media_missing(setup.episodes[3], "another reason")
    unknown = await clocked.playouts.media_missing(987_654, REASON)

    assert (again.built, unknown.built) == (0, 0)
    assert await stored(clocked) == before
    assert clocked.guide._changes.version == version
    async with clocked.sessions() as session:
        item = await MediaRepository(session).get(setup.episodes[3])
    assert item is not None and item.missing_reason == REASON  # the first reason stays


async def test_many_missing_files_are_named_up_to_a_limit_and_the_rest_counted(
    clocked: Container,
) -> None:
    count = MISSING_LISTED + 3
    episodes = await add_show(clocked, "M", [10] * (count + 1))
    collection = await add_collection(clocked, "M", episodes)
    async with transaction(clocked.sessions) as session:
        await MediaRepository(session).mark_missing(episodes[1:], T0, "not found by a scan")
    schedule = await clocked.schedules.create(items_schedule("M", collection))
    channel = await add_channel(clocked, "9")

    await clocked.playouts.attach(channel.number, schedule.id)

    info = await clocked.playouts.info(channel.number)
    messages = [w.message for w in info.warnings if w.code == "missing_media"]
    assert len(messages) == MISSING_LISTED + 1
    assert all("not found by a scan" in m for m in messages[:-1])
    assert messages[-1] == "and up to 3 more missing file(s)"
    assert {e.media_id for e in await stored(clocked, "9")} == {episodes[0]}

"""Live channels in the guide: listings read from a source's XMLTV (hostile documents
refused), merged into our programmes in place of the relay's own, and served in our XMLTV."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.guide import Programme, ProgrammeKind
from exstreamtv.domain.libraries import LibraryKind, OnlineSecrets, OnlineSettings, SourceKind
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.media import MediaItem
from exstreamtv.domain.playout import EntryKind, PlayoutEntry, to_ms
from exstreamtv.domain.schedules import (
    ContentSource,
    PlayMode,
    Schedule,
    ScheduleItem,
    ScheduleKind,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.formats.guide_folding import guide_entry
from exstreamtv.formats.live_guide import with_listings
from exstreamtv.formats.xmltv_listings import parse_listings
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideDocument, GuideLinks
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter
from tests.media_servers.loopback import LoopbackServer
from tests.online.conftest import ContainerFactory
from tests.online.site import ACCOUNT, PASSWORD, MediaSite
from tests.seeding import T0, ManualClock, add_collection, add_show, items_schedule
from tests.web.client import open_client

T = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
MIN = 60_000
WIDE = (0, 2**62)
LINKS = GuideLinks("http://tv.test:8411")


def _xmltv(programmes: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><tv generator-info-name="provider">'
        '<channel id="news.one"><display-name>News One</display-name></channel>'
        f"{programmes}</tv>"
    ).encode()


def _stamp(moment: datetime, zone: str = "+0000") -> str:
    return moment.strftime("%Y%m%d%H%M%S") + f" {zone}"


def test_listings_are_read_for_wanted_channels_with_their_time_zones() -> None:
    body = _xmltv(
        f'<programme start="{_stamp(T)}" stop="{_stamp(T + timedelta(minutes=30))}"'
        ' channel="news.one"><title>Evening News</title><sub-title>Headlines</sub-title>'
        "<desc>The day in brief.</desc><category>News</category></programme>"
        # 19:30 in Paris (+0100) is 18:30 UTC
        f'<programme start="20260301193000 +0100" stop="20260301200000 +0100"'
        ' channel="news.one"><title>Weather</title></programme>'
        f'<programme start="{_stamp(T)}" stop="{_stamp(T + timedelta(hours=1))}"'
        ' channel="other"><title>Elsewhere</title></programme>'
        '<programme start="garbage" stop="x" channel="news.one"><title>Bad</title></programme>'
        f'<programme start="{_stamp(T)}" stop="{_stamp(T + timedelta(minutes=5))}"'
        ' channel="news.one"><title>Overlapping</title></programme>'
    )
    found = parse_listings(body, ["news.one"], WIDE, max_bytes=10**6)
    assert found == {
        "news.one": [
            Listing(
                to_ms(T),
                to_ms(T) + 30 * MIN,
                "Evening News",
                "Headlines",
                "The day in brief.",
                ("News",),
            ),
            Listing(to_ms(T) + 30 * MIN, to_ms(T) + 60 * MIN, "Weather"),
        ]
    }
    window = (to_ms(T) + 40 * MIN, to_ms(T) + 50 * MIN)
    assert [
        x.title for x in parse_listings(body, ["news.one"], window, max_bytes=10**6)["news.one"]
    ] == ["Weather"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE tv [<!ENTITY a "aaaa">]><tv>&a;</tv>', "DTD"),
        (b'<!DOCTYPE tv [<!ENTITY x SYSTEM "file:///etc/passwd">]><tv>&x;</tv>', "DTD"),
        (b"<tv><programme", "not valid XML"),
        (gzip.compress(b"<tv>" + b" " * 20_000 + b"</tv>"), "unpacks to more than"),
        (b"\x1f\x8bnot gzip", "not valid gzip"),
    ],
    ids=["entities", "external-entity", "truncated", "gzip-bomb", "bad-gzip"],
)
def test_a_hostile_guide_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_listings(body, ["news.one"], WIDE, max_bytes=10_000)


def test_a_gzipped_guide_is_read() -> None:
    body = gzip.compress(_xmltv(
        f'<programme start="{_stamp(T)}" stop="{_stamp(T + timedelta(minutes=30))}"'
        ' channel="news.one"><title>Zipped</title></programme>'
    ))  # fmt: skip
    assert (
        parse_listings(body, ["news.one"], WIDE, max_bytes=10**6)["news.one"][0].title == "Zipped"
    )


def _entry(start: int, finish: int, media: int | None, group: int) -> PlayoutEntry:
    kind = EntryKind.CONTENT if media else EntryKind.OFFLINE
    return PlayoutEntry(start, finish, kind, media, 0, finish - start, group)


def test_a_relay_block_becomes_the_source_listings_and_a_listing_across_blocks_is_one() -> None:
    t = to_ms(T)
    entries = [_entry(t, t + 60 * MIN, 7, 1), _entry(t + 60 * MIN, t + 120 * MIN, 7, 2),
               _entry(t + 120 * MIN, t + 150 * MIN, 9, 3)]  # fmt: skip
    programmes = [
        Programme("c", t, t + 60 * MIN, "News One"),
        Programme("c", t + 60 * MIN, t + 120 * MIN, "News One"),
        Programme("c", t + 120 * MIN, t + 150 * MIN, "A film"),
    ]
    listings = {
        7: [
            Listing(t + 10 * MIN, t + 40 * MIN, "Headlines"),
            Listing(t + 40 * MIN, t + 90 * MIN, "Long Report", description="Across"),
        ]
    }
    rows = [guide_entry(entry) for entry in entries]
    shown = with_listings(programmes, rows, listings)
    assert [(p.start_ms - t, p.stop_ms - t, p.title) for p in shown] == [
        (0, 10 * MIN, "News One"),
        (10 * MIN, 40 * MIN, "Headlines"),
        (40 * MIN, 90 * MIN, "Long Report"),  # one programme across the block boundary
        (90 * MIN, 120 * MIN, "News One"),
        (120 * MIN, 150 * MIN, "A film"),  # not a live item: untouched
    ]
    assert all(a.stop_ms == b.start_ms for a, b in itertools.pairwise(shown))
    assert with_listings(programmes, rows, {}) == programmes
    offline = [Programme("c", t, t + 60 * MIN, "Offline", kind=ProgrammeKind.OFFLINE)]
    assert with_listings(offline, rows[:1], listings) == offline


async def _news_one(container: Container, site: str) -> MediaItem:
    """The live item "News One" of the site's IPTV playlist, scanned (60-minute blocks)."""
    playlist = f"{site}/get.php?username={ACCOUNT}&password={PASSWORD}"
    source = await container.online.create(
        SourceKind.IPTV, "Tele", LibraryKind.OTHER, OnlineSecrets(urls=(playlist,)),
        OnlineSettings(live_minutes=60),
    )  # fmt: skip
    library = await container.online.library(source.id)
    assert (await container.libraries.scan(library.id)).error is None
    items, _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 9)
    return next(i for i in items if i.metadata.title == "News One")


async def test_a_relay_channel_shows_its_source_guide_in_our_xmltv(
    make_container: ContainerFactory, site: tuple[MediaSite, LoopbackServer]
) -> None:
    fake, server = site
    now = datetime.now(UTC).replace(microsecond=0)
    fake.guide = _xmltv(
        f'<programme start="{_stamp(now - timedelta(minutes=20))}"'
        f' stop="{_stamp(now + timedelta(minutes=25))}" channel="news.one">'
        "<title>Tonight &amp; Today</title><desc>Live from the studio.</desc></programme>"
        f'<programme start="{_stamp(now + timedelta(minutes=25))}"'
        f' stop="{_stamp(now + timedelta(minutes=55))}" channel="news.one">'
        "<title>Sport Desk</title></programme>"
    ).decode()
    async with make_container(playout={"horizon_hours": 2}) as container:
        news = await _news_one(container, server.url)
        collection = await add_collection(container, "Relay", [news.id])
        schedule = await container.schedules.create(items_schedule("Relay", collection))
        await container.channels.create(ChannelFields(ChannelNumber(9), "Relay"))
        await container.playouts.attach(ChannelNumber(9), schedule.id)
        async with open_client(container) as client:
            guide = await client.get("/iptv/xmltv.xml")
            grid = await client.get("/api/guide", params={"hours": 1})
    assert guide.status_code == 200, guide.text
    assert "Tonight &amp; Today" in guide.text
    assert "Live from the studio." in guide.text
    assert "Sport Desk" in guide.text
    assert PASSWORD not in guide.text
    assert grid.status_code == 200, grid.text  # the UI's grid shows what the XMLTV shows
    cells = {p["title"]: p for p in grid.json()["programmes"]}
    assert {"Tonight & Today", "Sport Desk"} <= set(cells)
    assert cells["Tonight & Today"]["description"] == "Live from the studio."
    assert PASSWORD not in grid.text


def _desk(start: datetime, title: str) -> str:
    """A source guide with one programme, ``title``, around ``start``."""
    return _xmltv(
        f'<programme start="{_stamp(start - timedelta(minutes=20))}"'
        f' stop="{_stamp(start + timedelta(minutes=40))}" channel="news.one">'
        f"<title>{title}</title></programme>"
    ).decode()


async def _read(document: GuideDocument) -> str:
    return b"".join([chunk async for chunk in document.plain_stream()]).decode()


async def test_new_listings_renew_the_relay_channels_guide_and_no_other(
    make_container: ContainerFactory, site: tuple[MediaSite, LoopbackServer]
) -> None:
    fake, server = site
    fake.guide = _desk(T0, "Morning Desk")
    async with make_container(ManualClock(), playout={"horizon_hours": 2}) as container:
        news = await _news_one(container, server.url)
        (episode,) = await add_show(container, "Quiz", [25])
        for number, name, item in ((9, "Relay", news.id), (8, "Quiz", episode)):
            collection = await add_collection(container, name, [item])
            schedule = await container.schedules.create(items_schedule(name, collection))
            await container.channels.create(ChannelFields(ChannelNumber(number), name))
            await container.playouts.attach(ChannelNumber(number), schedule.id)
        fragments = container.guide.fragments
        first = await container.guide.xmltv(LINKS)
        assert "Morning Desk" in await _read(first)
        rendered = fragments.renders

        assert (await container.libraries.scan(news.library_id)).error is None
        assert await container.guide.xmltv(LINKS) is first  # the same listings: no change

        fake.guide = _desk(T0, "Evening Desk")
        assert (await container.libraries.scan(news.library_id)).error is None
        second = await container.guide.xmltv(LINKS)
        text = await _read(second)

    assert second.etag != first.etag
    assert "Evening Desk" in text
    assert "Morning Desk" not in text
    assert fragments.renders == rendered + 1  # the relay channel's fragment alone


async def test_a_slot_relays_a_live_channel_for_its_duration_then_the_schedule_goes_on(
    make_container: ContainerFactory, site: tuple[MediaSite, LoopbackServer]
) -> None:
    _, server = site
    async with make_container(playout={"horizon_hours": 3}) as container:
        news = await _news_one(container, server.url)
        (episode,) = await add_show(container, "Quiz", [25])
        relay = await add_collection(container, "Relay", [news.id])
        film = await add_collection(container, "Quiz", [episode])
        schedule = Schedule(
            0, "Relay then film", ScheduleKind.ITEMS,
            items=(
                ScheduleItem(ContentSource((relay,)), PlayMode.DURATION, duration_minutes=90),
                ScheduleItem(ContentSource((film,)), PlayMode.ONE),
            ),
        )  # fmt: skip
        created = await container.schedules.create(schedule)
        await container.channels.create(ChannelFields(ChannelNumber(8), "Eight"))
        await container.playouts.attach(ChannelNumber(8), created.id)
        listed = await container.playouts.entries(ChannelNumber(8))

    first = [e.entry for e in listed[:3]]
    assert [(e.media_id, e.duration_ms) for e in first[:2]] == [
        (news.id, 60 * MIN), (news.id, 30 * MIN),  # 90 minutes of relay, the last block cut
    ]  # fmt: skip
    assert first[2].media_id == episode

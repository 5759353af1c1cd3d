"""The guide joined from per-channel fragments (SQLite and PostgreSQL, the clock moved by
hand): a change re-renders only what it touched, the window follows the hour and
``epg.guide_hours``, the cache stays within its budget, and a fault found while streaming
ends the stream and refuses the next request."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.guide import GuideMedia, GuidePolicy, Programme
from exstreamtv.domain.media import FileStamp, ScannedFile, TechnicalInfo
from exstreamtv.domain.playout import EntryKind, PlayoutEntry, to_ms
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.formats.guide_folding import Span, describe
from exstreamtv.services import guide as guide_module
from exstreamtv.services import guide_fragments
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.guide import GuideDocument, GuideLinks
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository
from tests.lineups import add_media, episode, movie, on_air, parse_guide
from tests.seeding import MIN, T0, ManualClock
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")
FAILURES = "exstreamtv_guide_validation_failures_total"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Four hours built, a two-hour guide: a build's tail lands beyond the guide."""
    return build_settings(
        tmp_path / "data", database_url, playout={"horizon_hours": 4}, epg={"guide_hours": 2}
    )


async def read(document: GuideDocument) -> bytes:
    return b"".join([chunk async for chunk in document.plain_stream()])


async def lineup(container: Container, count: int) -> list[Channel]:
    return [
        await on_air(container, str(n), [episode(f"Show {n}", e) for e in (1, 2, 3)], minutes=25)
        for n in range(1, count + 1)
    ]


async def drain(document: GuideDocument, into: list[bytes]) -> None:
    async for chunk in document.plain_stream():
        into.append(chunk)


def cached(container: Container, channels: Sequence[Channel]) -> list[object]:
    return [container.guide.fragments.cache.get(c.id) for c in channels]


def failures(container: Container, reason: str) -> float:
    return container.metrics.registry.get_sample_value(FAILURES, {"reason": reason}) or 0.0


async def test_a_changed_channel_re_renders_only_its_fragment(
    clocked: Container, clock: ManualClock
) -> None:
    channels = await lineup(clocked, 4)
    fragments = clocked.guide.fragments
    first = await read(await clocked.guide.xmltv(LINKS))
    assert fragments.renders == 4
    before = cached(clocked, channels)

    clock.advance(timedelta(minutes=10))
    await clocked.playouts.build(channels[2].number, BuildMode.RESET)
    second = await read(await clocked.guide.xmltv(LINKS))

    assert fragments.renders == 5
    after = cached(clocked, channels)
    assert [a is b for a, b in zip(before, after, strict=True)] == [True, True, False, True]
    changed = f"ch{channels[2].id}.exstreamtv"
    kept = [p for p in parse_guide(first)[1] if p.channel != changed]
    assert [p for p in parse_guide(second)[1] if p.channel != changed] == kept


async def test_the_lineup_part_is_made_again_only_when_the_lineup_changes(
    clocked: Container, clock: ManualClock
) -> None:
    channels = await lineup(clocked, 3)
    first = await clocked.guide.xmltv(LINKS)
    await read(first)
    clock.advance(timedelta(minutes=10))
    await clocked.playouts.build(channels[1].number, BuildMode.RESET)
    second = await clocked.guide.xmltv(LINKS)
    assert second is not first and second.head is first.head

    number = channels[0].number
    await clocked.channels.update(number, ChannelFields(number, "Renamed & <Co>"))
    third = await clocked.guide.xmltv(LINKS)
    assert third.head is not second.head
    assert "<display-name>Renamed &amp; &lt;Co&gt;</display-name>" in (await read(third)).decode()


async def test_what_an_item_shows_is_rendered_once_per_epoch_not_per_fragment(
    clocked: Container, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-rendered fragment reuses the checked and escaped elements of the media it
    shows (a big guide renders each item's once, not once per batch of channels); an edit
    of the media renews them (``test_edited_media_shows_in_every_fragment_once_the_ttl_passes``)."""
    described: list[Span] = []

    def counting(
        channel_id: str, span: Span, media: Mapping[int, GuideMedia], policy: GuidePolicy
    ) -> Programme:
        described.append(span)
        return describe(channel_id, span, media, policy)

    monkeypatch.setattr(guide_fragments, "describe", counting)
    channels = await lineup(clocked, 2)
    first = await read(await clocked.guide.xmltv(LINKS))
    assert len(described) == 6  # two channels of three episodes each

    clock.advance(timedelta(minutes=10))
    await clocked.playouts.build(channels[1].number, BuildMode.RESET)
    second = await read(await clocked.guide.xmltv(LINKS))

    assert clocked.guide.fragments.renders == 3 and len(described) == 6
    assert parse_guide(second)[1] and {p.title for p in parse_guide(second)[1]} == {
        p.title for p in parse_guide(first)[1]
    }


async def test_an_extension_beyond_the_guide_changes_nothing_it_shows(
    clocked: Container, clock: ManualClock
) -> None:
    channels = await lineup(clocked, 3)
    first = await clocked.guide.xmltv(LINKS)
    await read(first)
    renders = clocked.guide.fragments.renders

    clock.advance(timedelta(minutes=40))  # same hour: the same window
    extended = await clocked.playouts.build(channels[0].number, BuildMode.CONTINUE)

    assert extended.added > 0
    assert extended.first is not None and extended.first > T0 + timedelta(hours=2)
    assert await clocked.guide.xmltv(LINKS) is first  # same document, same ETag
    await read(first)
    assert clocked.guide.fragments.renders == renders


async def test_the_guide_lists_guide_hours_from_the_start_of_the_hour(
    clocked: Container, clock: ManualClock
) -> None:
    await lineup(clocked, 2)
    clock.advance(timedelta(minutes=35))

    _, programmes = parse_guide(await read(await clocked.guide.xmltv(LINKS)))

    end = "20260302140000 +0000"  # 12:00 + epg.guide_hours (2); 4 h are built
    assert programmes and all(p.start < end for p in programmes)
    for channel in {p.channel for p in programmes}:
        assert max(p.stop for p in programmes if p.channel == channel) >= end


async def test_the_window_moves_on_the_hour_and_every_channel_is_rendered_again(
    clocked: Container, clock: ManualClock
) -> None:
    await lineup(clocked, 3)
    first = await clocked.guide.xmltv(LINKS)
    await read(first)

    clock.advance(timedelta(minutes=61))
    moved = await clocked.guide.xmltv(LINKS)
    _, programmes = parse_guide(await read(moved))

    assert moved is not first and moved.etag != first.etag
    assert clocked.guide.fragments.renders == 6
    assert max(p.stop for p in programmes) >= "20260302150000 +0000"


async def test_concurrent_readers_of_a_new_guide_render_each_fragment_once(
    clocked: Container,
) -> None:
    await lineup(clocked, 5)
    document = await clocked.guide.xmltv(LINKS)

    bodies = await asyncio.gather(read(document), read(document), read(document))

    assert bodies[0] == bodies[1] == bodies[2]
    assert clocked.guide.fragments.renders == 5
    assert await read(document) == bodies[0]  # sent again from what the first stream sent


async def test_a_guide_larger_than_the_fragment_cache_is_served_whole_within_its_budget(
    tmp_path: Path, database_url: str
) -> None:
    small = build_settings(
        tmp_path / "small", database_url,
        playout={"horizon_hours": 4}, epg={"guide_hours": 2, "fragment_cache_mib": 0.002},
    )  # fmt: skip
    async with open_container(small, clock=ManualClock()) as container:
        await lineup(container, 6)
        document = await container.guide.xmltv(LINKS)
        whole = await read(document)
        assert await read(document) == whole  # sent again: rendered again, not kept whole
        cache = container.guide.fragments.cache
        assert cache.bytes <= 0.002 * 1024 * 1024
        assert 0 < len(cache) < 6
        _, programmes = parse_guide(whole)
    assert len({p.channel for p in programmes}) == 6
    assert [p.title for p in programmes if p.channel == "ch6.exstreamtv"][:3] == [
        "Show 6", "Show 6", "Show 6"
    ]  # fmt: skip


async def test_edited_media_shows_in_every_fragment_once_the_ttl_passes(
    clocked: Container, clock: ManualClock
) -> None:
    channels = await lineup(clocked, 2)
    first = await read(await clocked.guide.xmltv(LINKS))
    assert "Show 1" in {p.title for p in parse_guide(first)[1]}

    clock.advance(timedelta(minutes=1))
    async with transaction(clocked.sessions) as session:
        media = MediaRepository(session)
        for library_id in (1, 2):
            known = await media.known_files(library_id)
            renamed = [
                ScannedFile(path, FileStamp(2, 2), episode("Renamed", 1), TechnicalInfo(25 * MIN))
                for path in known
            ]
            await media.save_scanned(library_id, renamed, known, clock.now())
    clock.ticks += clocked.settings.epg.cache_ttl_sec

    _, programmes = parse_guide(await read(await clocked.guide.xmltv(LINKS)))

    assert {p.title for p in programmes} == {"Renamed"}
    assert clocked.guide.fragments.renders == 2 * len(channels)


@pytest.fixture
def streaming_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """One channel per batch, one batch ahead, one programme held, one fragment a chunk:
    the smallest cold guide behaves as a big one does."""
    monkeypatch.setattr(guide_module, "HOLD_PROGRAMMES", 1)
    monkeypatch.setattr(guide_module, "CHUNK_BYTES", 1)
    monkeypatch.setattr(guide_fragments, "FIRST_BATCH", 1)
    monkeypatch.setattr(guide_fragments, "MAX_BATCH", 1)
    monkeypatch.setattr(guide_fragments, "LOOKAHEAD", 1)


@pytest.mark.usefixtures("streaming_early")
async def test_a_cold_guide_starts_streaming_before_it_is_all_rendered(
    clocked: Container,
) -> None:
    await lineup(clocked, 6)
    document = await clocked.guide.xmltv(LINKS)
    stream = document.gzip_stream()

    first = await anext(stream)
    assert first.startswith(b"\x1f\x8b")
    assert clocked.guide.fragments.renders < 6
    rest = [chunk async for chunk in stream]

    assert len(rest) >= 5
    assert clocked.guide.fragments.renders == 6


async def test_the_lineup_part_leaves_before_the_first_chunk_of_fragments_fills(
    clocked: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guide_module, "HOLD_PROGRAMMES", 1)
    monkeypatch.setattr(guide_fragments, "FIRST_BATCH", 1)
    monkeypatch.setattr(guide_fragments, "MAX_BATCH", 1)
    monkeypatch.setattr(guide_fragments, "LOOKAHEAD", 1)
    await lineup(clocked, 6)  # a few kB: far from a chunk
    document = await clocked.guide.xmltv(LINKS)
    stream = document.gzip_stream()

    first = await anext(stream)
    assert clocked.guide.fragments.renders < 6
    head = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(first).decode()
    assert head.count("<channel ") == 6 and "<programme" not in head
    whole = first + b"".join([chunk async for chunk in stream])
    assert len(parse_guide(zlib.decompress(whole, zlib.MAX_WBITS | 16))[1]) > 6


@pytest.mark.usefixtures("streaming_early")
async def test_a_fault_found_while_streaming_ends_it_and_the_next_request_is_refused(
    clocked: Container,
) -> None:
    await lineup(clocked, 3)
    await on_air(clocked, "4", [movie("Fine"), movie("Item 123")], name="Upstream Import")
    document = await clocked.guide.xmltv(LINKS)  # held: the first channel only
    received: list[bytes] = []

    with pytest.raises(XMLTVValidationError) as ended:
        await drain(document, received)

    assert (ended.value.reason, ended.value.channel) == ("placeholder_title", "4")
    assert b'channel="ch1.exstreamtv"' in b"".join(received)
    assert b"</tv>" not in b"".join(received)
    assert document.failed is ended.value
    assert failures(clocked, "placeholder_title") == 1
    with pytest.raises(XMLTVValidationError) as refused:
        await clocked.guide.xmltv(LINKS)  # known now: refused before any byte
    assert refused.value.reason == "placeholder_title"
    assert failures(clocked, "placeholder_title") == 2


async def test_a_small_guide_is_validated_whole_before_its_first_byte(
    clocked: Container,
) -> None:
    await lineup(clocked, 3)
    await on_air(clocked, "4", [replace(movie("Item 7"), year=2000)])

    with pytest.raises(XMLTVValidationError) as refused:
        await clocked.guide.xmltv(LINKS)

    assert (refused.value.reason, refused.value.channel) == ("placeholder_title", "4")


async def test_a_large_cold_guide_never_holds_the_event_loop(tmp_path: Path) -> None:
    """8 channels of 20,000 programmes (one batch): loading, folding, checking, rendering
    and compressing them is far more work than the 100 ms any callback may hold the loop
    (the suite fails a test when one does), so all of it runs in worker threads."""
    settings = build_settings(
        tmp_path / "big",
        f"sqlite+aiosqlite:///{tmp_path / 'big.db'}",
        playout={"horizon_hours": 48},
    )
    async with open_container(settings, clock=ManualClock()) as container:
        (media_id,) = await add_media(container, [movie("Short")], minutes=1)
        for number in range(1, 9):
            channel = await container.channels.create(
                ChannelFields(ChannelNumber(number), f"Channel {number}")
            )
            entries = await asyncio.to_thread(short_programmes, media_id, 20_000)
            async with transaction(container.sessions) as session:
                await PlayoutRepository(session).replace_from(
                    channel.id, T0, entries, [None] * len(entries)
                )
        body = await read(await container.guide.xmltv(LINKS))
    _, programmes = await asyncio.to_thread(parse_guide, body)  # the test's own work, too
    assert len(programmes) == 8 * 20_000


def short_programmes(media_id: int, count: int) -> list[PlayoutEntry]:
    """``count`` programmes of 5 s from the guide's start, each its own guide group."""
    start, length = to_ms(T0 - timedelta(hours=1)), 5_000
    return [
        PlayoutEntry(start + n * length, start + (n + 1) * length, EntryKind.CONTENT, media_id,
                     0, length, n)
        for n in range(count)
    ]  # fmt: skip

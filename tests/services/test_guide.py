"""The guide service on the database (SQLite and PostgreSQL, the clock moved by hand): the
XMLTV programmes are the stored playout rows, the cache follows changes, and an invalid
guide is refused, by reason, and counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

import pytest

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import XMLTVValidationError
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.guide import GuideDocument, GuideLinks
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.store.channels import ChannelFields
from tests.lineups import HOSTILE, episode, movie, on_air, parse_guide, tv_validate
from tests.seeding import T0, ManualClock
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")
FAILURES = "exstreamtv_guide_validation_failures_total"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Short horizons keep the guides small."""
    return build_settings(tmp_path / "data", database_url, playout={"horizon_hours": 2})


async def read(document: GuideDocument) -> bytes:
    return b"".join([chunk async for chunk in document.plain_stream()])


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S +0000")


def failures(container: Container, reason: str) -> float:
    return container.metrics.registry.get_sample_value(FAILURES, {"reason": reason}) or 0.0


async def test_guide_programmes_are_the_stored_playout_rows_grouped_for_the_guide(
    clocked: Container,
) -> None:
    shows = await on_air(clocked, "1", [episode("Show", n) for n in (1, 2, 3)], minutes=25)
    movies = await on_air(clocked, "2.1", [movie("Film A"), movie("Film B")], minutes=50)

    channels, programmes = parse_guide(await read(await clocked.guide.xmltv(LINKS)))

    assert channels == {
        "ch1.exstreamtv": ["Channel 1", "1"],
        "ch2.exstreamtv": ["Channel 2.1", "2.1"],
    }
    for channel in (shows, movies):
        listed = await clocked.playouts.entries(
            channel.number, T0 - timedelta(hours=1), T0 + timedelta(hours=2)
        )
        expected = [
            (stamp(group[0].entry.start), stamp(group[-1].entry.finish),
             group[0].media.show or group[0].media.title if group[0].media else None)
            for group in (list(g) for _, g in groupby(listed, lambda e: e.entry.guide_group))
        ]  # fmt: skip
        guide_id = f"ch{channel.id}.exstreamtv"
        shown = [(p.start, p.stop, p.title) for p in programmes if p.channel == guide_id]
        assert shown == expected
        assert shown[0][0] == stamp(T0)
        assert shown[-1][1] >= stamp(T0 + timedelta(hours=2))


async def test_a_channel_without_a_playout_is_listed_as_offline_over_the_horizon(
    clocked: Container,
) -> None:
    await clocked.channels.create(ChannelFields(ChannelNumber(7), "Nothing Yet"))

    _, programmes = parse_guide(await read(await clocked.guide.xmltv(LINKS)))

    assert [(p.start, p.stop, p.title) for p in programmes] == [
        (stamp(T0 - timedelta(hours=1)), stamp(T0 + timedelta(hours=2)), "Offline")
    ]


async def test_the_cached_guide_is_reused_until_a_playout_is_rebuilt(clocked: Container) -> None:
    channel = await on_air(clocked, "1", [episode("Show", n) for n in (1, 2)])
    first = await clocked.guide.xmltv(LINKS)
    assert await clocked.guide.xmltv(LINKS) is first

    nothing_to_add = await clocked.playouts.build(channel.number, BuildMode.CONTINUE)
    assert nothing_to_add.added == nothing_to_add.removed == 0
    assert await clocked.guide.xmltv(LINKS) is first

    await clocked.playouts.build(channel.number, BuildMode.RESET)
    rebuilt = await clocked.guide.xmltv(LINKS)
    assert rebuilt is not first
    assert rebuilt.etag != first.etag


async def test_renaming_a_channel_invalidates_the_cached_guide(clocked: Container) -> None:
    channel = await on_air(clocked, "1", [movie("Film")], name="Old Name")
    first = await clocked.guide.xmltv(LINKS)
    assert parse_guide(await read(first))[0] == {"ch1.exstreamtv": ["Old Name", "1"]}

    await clocked.channels.update(channel.number, ChannelFields(channel.number, "New Name"))

    renamed = await clocked.guide.xmltv(LINKS)
    assert renamed.etag != first.etag
    assert parse_guide(await read(renamed))[0] == {"ch1.exstreamtv": ["New Name", "1"]}


async def test_the_cached_guide_is_regenerated_once_its_ttl_has_passed(
    clocked: Container, clock: ManualClock
) -> None:
    await on_air(clocked, "1", [movie("Film")])
    first = await clocked.guide.xmltv(LINKS)
    clock.ticks += clocked.settings.epg.cache_ttl_sec / 2
    assert await clocked.guide.xmltv(LINKS) is first

    clock.ticks += clocked.settings.epg.cache_ttl_sec
    assert await clocked.guide.xmltv(LINKS) is not first


async def test_a_guide_without_enabled_channels_is_refused_and_counted(
    clocked: Container,
) -> None:
    await clocked.channels.create(ChannelFields(ChannelNumber(1), "Off", enabled=False))

    with pytest.raises(XMLTVValidationError) as refused:
        await clocked.guide.xmltv(LINKS)

    assert refused.value.reason == "no_channels"
    assert failures(clocked, "no_channels") == 1


async def test_a_channel_with_an_empty_name_is_refused_naming_the_channel(
    clocked: Container,
) -> None:
    await on_air(clocked, "1", [movie("Film")])
    await clocked.channels.create(ChannelFields(ChannelNumber(4, 2), ""))

    with pytest.raises(XMLTVValidationError) as refused:
        await clocked.guide.xmltv(LINKS)

    assert (refused.value.reason, refused.value.channel) == ("empty_channel_name", "4.2")
    assert failures(clocked, "empty_channel_name") == 1


async def test_a_placeholder_title_is_refused_and_a_corrected_guide_served_after(
    clocked: Container,
) -> None:
    await on_air(clocked, "3", [movie("Item 123")])

    with pytest.raises(XMLTVValidationError) as refused:
        await clocked.guide.xmltv(LINKS)
    assert (refused.value.reason, refused.value.channel) == ("placeholder_title", "3")
    assert "'Item 123'" in refused.value.message
    assert failures(clocked, "placeholder_title") == 1

    with pytest.raises(XMLTVValidationError):  # a refusal is never cached as a guide
        await clocked.guide.xmltv(LINKS)
    assert failures(clocked, "placeholder_title") == 2


@pytest.mark.parametrize("required", [True, False])
async def test_an_episode_without_a_number_fails_only_when_numbers_are_required(
    tmp_path: Path, database_url: str, required: bool
) -> None:
    settings = build_settings(
        tmp_path / "strict", database_url,
        playout={"horizon_hours": 2}, epg={"episode_num_required": required},
    )  # fmt: skip
    unnumbered = replace(episode("Show", 2), episode=None)
    async with open_container(settings, clock=ManualClock()) as container:
        await on_air(container, "1", [episode("Show", 1), unnumbered])
        if required:
            with pytest.raises(XMLTVValidationError) as refused:
                await container.guide.xmltv(LINKS)
            assert (refused.value.reason, refused.value.channel) == ("missing_episode_num", "1")
            assert failures(container, "missing_episode_num") == 1
        else:
            _, programmes = parse_guide(await read(await container.guide.xmltv(LINKS)))
            assert {p.title for p in programmes} == {"Show"}
            assert failures(container, "missing_episode_num") == 0


async def test_a_lineup_of_hostile_names_and_titles_passes_tv_validate_file(
    clocked: Container, tmp_path: Path
) -> None:
    for index, text in enumerate(HOSTILE, start=1):
        await on_air(
            clocked, str(index),
            [movie(text, plot=text, genres=(text,)), episode(text, 1, title=text)],
            name=text,
        )  # fmt: skip

    document = await read(await clocked.guide.xmltv(LINKS))

    assert "Validated ok." in await tv_validate(document, tmp_path)
    channels, programmes = parse_guide(document)
    names = [names[0] for names in channels.values()]
    assert names[0] == HOSTILE[0]
    assert names[1] == HOSTILE[1]  # emoji and RTL survive
    assert names[2] == "Control chars"  # forbidden characters are stripped
    assert {p.title for p in programmes} == {HOSTILE[0], HOSTILE[1], "Control chars", HOSTILE[3]}

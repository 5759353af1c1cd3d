"""The automation tools on the real services (SQLite and PostgreSQL): re-reading NFOs and
names, re-probing, the guide, the playout, and self-resolution triggered by a guide
generation and by troubleshooting."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from exstreamtv.agent.planner import Goal
from exstreamtv.agent.tools import ChannelArgs, GuideArgs, ItemsArgs, LogsArgs
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import MediaItem, MediaKind, MediaMetadata, MetadataStatus
from exstreamtv.errors import NotFound
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.guide import GuideLinks
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter
from tests.lineups import on_air
from tests.seeding import ManualClock, add_collection, items_schedule
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")
ENABLED = {
    "bounded_agent_enabled": True,
    "metadata_self_resolution_enabled": True,
    "metadata_self_resolution_cooldown_sec": 0,
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The agent on, self-resolution off: the tools run only when a test calls them."""
    agent = {**ENABLED, "metadata_self_resolution_enabled": False}
    return build_settings(
        tmp_path / "data", database_url, playout={"horizon_hours": 2}, ai_agent=agent
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Container]:
    async with open_container(settings, clock=ManualClock()) as opened:
        yield opened


@pytest.fixture
async def resolving(settings: Settings) -> AsyncIterator[Container]:
    """Self-resolution on as well."""
    enabled = settings.model_copy(update={"ai_agent": settings.ai_agent.model_copy(
        update={"metadata_self_resolution_enabled": True})})  # fmt: skip
    async with open_container(enabled, clock=ManualClock()) as opened:
        yield opened


async def scan(app: Container, folder: Path) -> list[MediaItem]:
    library = await app.libraries.create("Media", LibraryKind.MIXED, [str(folder)])
    await app.libraries.scan(library.id)
    return await items(app)


async def items(app: Container) -> list[MediaItem]:
    found, _ = await app.catalog.search(MediaFilter(), 0, 100)
    return sorted(found, key=lambda i: i.path)


async def channel_of(app: Container, item_ids: list[int], number: str = "1") -> Channel:
    collection = await add_collection(app, f"c{number}", item_ids)
    schedule = await app.schedules.create(items_schedule(f"s{number}", collection))
    channel = await app.channels.create(ChannelFields(ChannelNumber.parse(number), "One"))
    return (await app.playouts.attach(channel.number, schedule.id)).channel


async def guide_text(app: Container) -> str:
    document = await app.guide.xmltv(LINKS)
    return b"".join([chunk async for chunk in document.plain_stream()]).decode()


async def call(app: Container, name: str, args: object) -> tuple[bool, str, dict[str, object]]:
    registry = app.automation.registry
    result = await registry.invoke(registry.get(name), args)  # type: ignore[arg-type]
    return result.ok, result.detail, dict(result.data)


NFO = b"<movie><title>Real Title</title><year>2001</year></movie>"


async def test_reparse_reads_a_new_nfo_and_the_rebuilt_guide_shows_it(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    folder = tmp_path / "media"
    place_clip(folder / "x7f3k.mp4", 2.0)
    [item] = await scan(app, folder)
    assert item.metadata.status is MetadataStatus.PLACEHOLDER
    channel = await channel_of(app, [item.id])
    assert "x7f3k" in await guide_text(app)
    (folder / "x7f3k.nfo").write_bytes(NFO)

    ok, _, data = await call(app, "reparse_filename_metadata", ItemsArgs(channel=channel.id))
    assert ok
    assert (data["checked"], data["improved"], data["unreadable"]) == (1, 1, 0)
    [fixed] = await items(app)
    assert (fixed.metadata.title, fixed.metadata.year) == ("Real Title", 2001)
    assert fixed.metadata.status is MetadataStatus.OK
    assert fixed.technical == item.technical  # the probe result is kept

    ok, _, _ = await call(app, "rebuild_xmltv", GuideArgs())
    assert ok
    text = await guide_text(app)
    assert "Real Title" in text
    assert "x7f3k" not in text


async def test_reprobe_probes_a_file_that_failed_and_reparse_keeps_the_failure_until_then(
    app: Container, tmp_path: Path, clip_cache: dict[float, Path]
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    broken = folder / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    [item] = await scan(app, folder)
    assert item.technical is None
    assert item.metadata.status is MetadataStatus.FAILED
    (folder / "broken.nfo").write_bytes(NFO)

    ok, _, data = await call(app, "reparse_filename_metadata", ItemsArgs())
    assert ok and data["unprobed"] == 1
    [reread] = await items(app)
    assert reread.metadata.title == "Real Title"
    assert reread.metadata.status is MetadataStatus.FAILED  # still unplayable

    broken.unlink()
    os.link(clip_cache[2.0], broken)
    ok, _, data = await call(app, "reprobe_media", ItemsArgs())
    assert ok and (data["probed"], data["failed"]) == (1, 0)
    [probed] = await items(app)
    assert probed.technical is not None and probed.duration_ms > 1000
    assert probed.metadata.status is MetadataStatus.OK


async def test_metadata_tools_fail_when_no_item_can_be_read(app: Container) -> None:
    placeholder = MediaMetadata(MediaKind.MOVIE, "abc", status=MetadataStatus.PLACEHOLDER)
    await on_air(app, "3", [placeholder, placeholder])  # files that do not exist
    ok, detail, data = await call(app, "reparse_filename_metadata", ItemsArgs())
    assert not ok
    assert (data["checked"], data["unreadable"]) == (2, 2)
    assert "0 of 2" in detail


async def test_refreshing_local_items_from_a_media_server_is_a_clear_no_op(
    app: Container,
) -> None:
    placeholder = MediaMetadata(MediaKind.MOVIE, "abc", status=MetadataStatus.PLACEHOLDER)
    await on_air(app, "3", [placeholder])
    ok, detail, _ = await call(app, "refresh_source_metadata", ItemsArgs())
    assert ok
    assert detail == "no item in scope came from a media server; nothing to do"


async def test_fetch_metadata_logs_counts_and_names_the_reasons(
    app: Container, tmp_path: Path
) -> None:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"junk")
    (folder / "b.mp4").write_bytes(b"junk")
    await scan(app, folder)
    ok, detail, data = await call(app, "fetch_metadata_logs", LogsArgs())
    assert ok
    assert (data["failed"], data["unprobed"], data["ok"]) == (2, 2, 0)
    assert "cannot be probed" in str(data["reason_1"])
    assert str(data["reason_1"]).endswith("(2)")
    assert detail.startswith("2 item(s)")


async def test_rebuild_playout_refreshes_the_channel(app: Container) -> None:
    channel = await on_air(app, "4", [MediaMetadata(MediaKind.MOVIE, "Film")])
    ok, _, _ = await call(app, "rebuild_playout", ChannelArgs(channel=channel.id))
    assert ok
    assert (await app.playouts.info(channel.number)).last_mode == "refresh"
    with pytest.raises(NotFound):
        await call(app, "rebuild_playout", ChannelArgs(channel=9999))


async def test_restarting_a_channel_that_is_not_streaming_does_nothing(app: Container) -> None:
    channel = await on_air(app, "4", [MediaMetadata(MediaKind.MOVIE, "Film")])
    ok, detail, _ = await call(app, "restart_channel", ChannelArgs(channel=channel.id))
    assert ok and "not streaming" in detail
    assert app.supervisor.restart_velocity == 0  # the restart budget was not spent


async def test_a_metadata_run_on_the_real_tools_fixes_the_channel(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    folder = tmp_path / "media"
    place_clip(folder / "x7f3k.mp4", 2.0)
    [item] = await scan(app, folder)
    channel = await channel_of(app, [item.id])
    (folder / "x7f3k.nfo").write_bytes(NFO)
    before = await app.metadata_health.failure_ratio(channel.id)
    run = await app.automation.agent.run(Goal.METADATA, channel.id)
    assert [s.tool for s in run.steps] == ["reparse_filename_metadata", "rebuild_xmltv"]
    assert run.outcome == "completed"
    assert await app.metadata_health.failure_ratio(channel.id) < before


async def wait_for_requests(app: Container) -> None:
    await app.metadata_health.idle()
    pending = list(app.automation.resolution._pending.values())
    await asyncio.gather(*pending)


async def test_a_guide_generation_with_the_early_warning_triggers_self_resolution(
    resolving: Container,
) -> None:
    app = resolving
    bad = [
        MediaMetadata(MediaKind.MOVIE, f"file{n}", status=MetadataStatus.PLACEHOLDER)
        for n in range(12)
    ]
    await on_air(app, "5", bad)
    await guide_text(app)  # the response is served; the health cycle follows
    await wait_for_requests(app)
    triggers = {run.trigger for run in app.automation.agent.runs}
    assert "self_resolution:guide" in triggers


async def test_a_metadata_question_triggers_self_resolution_except_from_inside_one(
    resolving: Container,
) -> None:
    app = resolving
    await on_air(app, "6", [MediaMetadata(MediaKind.MOVIE, "Film", year=1999)])
    answer = await app.troubleshooting.answer("why are the guide titles placeholders?")
    assert answer.triggered_resolution
    await wait_for_requests(app)
    assert [r.trigger for r in app.automation.agent.runs] == ["self_resolution:troubleshooting"]

    inner: list[bool] = []
    resolution = app.automation.resolution
    real = resolution._ratio

    async def asking_ratio(scope: int | None) -> float:
        if not inner:
            found = await app.troubleshooting.answer("is the epg broken?")
            inner.append(found.triggered_resolution)
        return await real(scope)

    resolution._ratio = asking_ratio
    await resolution.request(None, "api")
    assert inner == [False]


async def test_reparse_finds_the_show_nfo_up_the_tree_as_a_scan_would(
    app: Container, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    folder = tmp_path / "media"
    episode = place_clip(folder / "Unnamed" / "Season 01" / "x7f3k.mp4", 1.0)
    [item] = await scan(app, folder)
    assert item.metadata.status is MetadataStatus.PLACEHOLDER
    (folder / "Unnamed" / "tvshow.nfo").write_bytes(b"<tvshow><title>Named Show</title></tvshow>")
    episode.with_suffix(".nfo").write_bytes(
        b"<episodedetails><title>Pilot</title><season>1</season><episode>1</episode>"
        b"</episodedetails>"
    )
    ok, _, data = await call(app, "reparse_filename_metadata", ItemsArgs())
    assert ok and data["improved"] == 1
    [fixed] = await items(app)
    assert (fixed.metadata.show, fixed.metadata.title, fixed.metadata.episode) == (
        "Named Show", "Pilot", 1,
    )  # fmt: skip
    await app.libraries.scan(fixed.library_id)  # a rescan agrees and changes nothing
    assert (await items(app))[0].metadata == fixed.metadata

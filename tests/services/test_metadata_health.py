"""Metadata health on the database, fed by real guide generations: per-channel and global
reports, the Prometheus gauges, drift, early warnings fired without blocking the guide,
and coalesced background cycles."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from exstreamtv.domain.media import MediaKind, MediaMetadata, MetadataStatus, ScannedFile
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.guide import GuideDocument, GuideLinks
from exstreamtv.services.metadata_health import HealthSnapshot
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaFilter, MediaRepository
from tests.lineups import add_media, episode, movie, on_air
from tests.seeding import ManualClock
from tests.support import build_settings

LINKS = GuideLinks("http://tv.test:8411")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Container]:
    """SQLite, a hand-moved clock, a 2 h horizon and no guide cache (each request is a new
    guide generation)."""
    settings = build_settings(
        tmp_path / "data",
        f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
        playout={"horizon_hours": 2},
        epg={"cache_ttl_sec": 0},
    )
    async with open_container(settings, clock=ManualClock()) as opened:
        yield opened


def gauge(container: Container, name: str, **labels: str) -> float | None:
    return container.metrics.registry.get_sample_value(name, labels)


async def generate(container: Container) -> HealthSnapshot:
    """One guide generation, read to its end, then its health cycle."""
    document: GuideDocument = await container.guide.xmltv(LINKS)
    _ = [chunk async for chunk in document.gzip_stream()]
    await container.metadata_health.idle()
    snapshot = container.metadata_health.last
    assert snapshot is not None
    return snapshot


def failed(title: str) -> MediaMetadata:
    return MediaMetadata(MediaKind.MOVIE, title, status=MetadataStatus.FAILED, year=2000)


async def set_status(container: Container, status: MetadataStatus) -> None:
    """Rewrite every stored item's metadata status, as a rescan would."""
    items, _ = await container.catalog.search(MediaFilter(), 0, 500)
    async with transaction(container.sessions) as session:
        media = MediaRepository(session)
        for library_id in {item.library_id for item in items}:
            known = await media.known_files(library_id)
            scanned = [
                ScannedFile(i.path, i.stamp, replace(i.metadata, status=status), i.technical)
                for i in items
                if i.library_id == library_id
            ]
            await media.save_scanned(library_id, scanned, known, container.clock.now())


async def test_each_guide_generation_reports_every_channel_and_the_whole_guide(
    app: Container,
) -> None:
    shows = await on_air(
        app,
        "1",
        [episode("Show", 1), episode("Show", 2), replace(episode("Show", 3), episode=None)],
    )
    films = await on_air(app, "2", [movie("Film", year=1999), failed("Broken"), movie("No Year")])

    snapshot = await generate(app)

    by_number = {c.number: c for c in snapshot.channels}
    assert by_number["1"].channel_id == shows.id
    show = by_number["1"].report
    assert show.episodes == show.samples > 0
    assert show.missing_episode_ratio == pytest.approx(1 / 3, abs=0.1)
    assert show.failure_ratio == 0.0
    film = by_number["2"].report
    assert film.failures > 0 and film.missing_year > 0
    assert snapshot.guide.samples == show.samples + film.samples
    assert await app.metadata_health.failure_ratio(films.id) == pytest.approx(film.failure_ratio)
    assert await app.metadata_health.failure_ratio(None) == pytest.approx(
        snapshot.guide.failure_ratio
    )
    assert await app.metadata_health.failure_ratio(999_999) == 0.0
    ratio = gauge(app, "exstreamtv_metadata_failure_ratio", scope="2")
    assert ratio == pytest.approx(film.failure_ratio)
    assert gauge(app, "exstreamtv_metadata_missing_episode_ratio", scope="1") == pytest.approx(
        show.missing_episode_ratio
    )
    assert gauge(app, "exstreamtv_metadata_failure_ratio", scope="library") == pytest.approx(1 / 6)
    assert (
        gauge(app, "exstreamtv_metadata_lookups", scope="global", source="scan", result="failure")
        == film.failures
    )
    assert gauge(app, "exstreamtv_metadata_early_warning", scope="1", rule="missing_episode") == 1


async def test_early_warning_calls_the_hook_after_the_guide_response_without_blocking_it(
    app: Container,
) -> None:
    await on_air(app, "1", [failed("A"), failed("B"), movie("C", year=2001)])
    calls: list[int | None] = []
    health = app.metadata_health
    health.on_early_warning = calls.append
    release = asyncio.Event()
    real_snapshot = health.snapshot

    async def slow_snapshot() -> HealthSnapshot:
        await release.wait()
        return await real_snapshot()

    health.snapshot = slow_snapshot  # type: ignore[method-assign]
    document = await app.guide.xmltv(LINKS)
    body = b"".join([chunk async for chunk in document.gzip_stream()])

    assert body  # the whole guide was served while the health cycle was still waiting
    assert calls == []
    release.set()
    await health.idle()
    assert calls == [None]  # the global scope warns: one call, not one per channel
    assert gauge(app, "exstreamtv_metadata_early_warnings_total", scope="global",
                 rule="failure_ratio") == 1  # fmt: skip


async def test_a_channel_that_warns_alone_is_reported_by_its_id(app: Container) -> None:
    good = [movie(f"Film {n}", year=2000 + n) for n in range(12)]
    await on_air(app, "1", good, minutes=5)
    await on_air(app, "2", good, minutes=5)
    bad = await on_air(app, "3", [failed("A"), movie("B", year=2000)], minutes=5)
    calls: list[int | None] = []
    app.metadata_health.on_early_warning = calls.append

    snapshot = await generate(app)

    assert snapshot.guide.warnings() == ()
    assert calls == [bad.id]


async def test_a_rise_of_the_ratio_above_0_1_between_guides_is_drift(
    app: Container, caplog: pytest.LogCaptureFixture
) -> None:
    await on_air(app, "1", [movie("A", year=2000), movie("B", year=2001)])
    first = await generate(app)
    assert first.guide.failure_ratio == 0.0
    assert gauge(app, "exstreamtv_metadata_drift_events_total", scope="global") is None

    await set_status(app, MetadataStatus.FAILED)
    with caplog.at_level(logging.WARNING, "exstreamtv.services.metadata_health"):
        second = await generate(app)

    assert second.guide.failure_ratio == 1.0
    assert gauge(app, "exstreamtv_metadata_drift_events_total", scope="global") == 1
    assert gauge(app, "exstreamtv_metadata_drift_events_total", scope="1") == 1
    assert any("rose from 0.00 to 1.00" in r.getMessage() for r in caplog.records)
    await generate(app)  # no further rise: no further drift
    assert gauge(app, "exstreamtv_metadata_drift_events_total", scope="global") == 1


async def test_guides_made_during_a_cycle_are_coalesced_into_one_more(app: Container) -> None:
    await on_air(app, "1", [movie("A", year=2000)])
    health = app.metadata_health
    started, release = asyncio.Event(), asyncio.Event()
    runs = 0
    real_snapshot = health.snapshot

    async def counted() -> HealthSnapshot:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return await real_snapshot()

    health.snapshot = counted  # type: ignore[method-assign]
    health.guide_generated()
    await started.wait()
    for _ in range(50):
        health.guide_generated()
    release.set()
    await health.idle()
    assert runs == 2


async def test_a_failing_hook_does_not_stop_later_cycles(app: Container) -> None:
    await on_air(app, "1", [failed("A")])

    def broken(_: int | None) -> None:
        raise RuntimeError("boom")

    app.metadata_health.on_early_warning = broken
    await generate(app)
    await generate(app)
    assert gauge(app, "exstreamtv_metadata_early_warnings_total", scope="global",
                 rule="failure_ratio") == 2  # fmt: skip


async def test_a_channel_that_leaves_the_lineup_leaves_the_metrics(app: Container) -> None:
    await on_air(app, "3", [movie("B", year=2000)])
    channel = await on_air(app, "4", [movie("A", year=2000)])
    await generate(app)
    assert gauge(app, "exstreamtv_metadata_failure_ratio", scope="4") == 0.0
    await app.channels.delete(channel.number)
    await generate(app)
    assert gauge(app, "exstreamtv_metadata_failure_ratio", scope="4") is None


async def test_the_library_is_read_in_chunks_and_counted_whole(
    app: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exstreamtv.services.metadata_health.MEDIA_CHUNK", 3)
    await add_media(app, [movie(f"Film {n}", year=2000) for n in range(7)] + [failed("Bad")])

    snapshot = await app.metadata_health.snapshot()

    assert snapshot.library.samples == 8
    assert snapshot.library.failures == 1

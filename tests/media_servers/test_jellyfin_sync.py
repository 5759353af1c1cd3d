"""Syncing Jellyfin and Emby (one client, two flavours): full sync and incremental resync."""

from __future__ import annotations

from pydantic import SecretStr

from exstreamtv.domain.libraries import LibraryKind, ScanStatus, SourceKind
from exstreamtv.domain.media import MediaKind, MediaState
from exstreamtv.services.container import Container
from exstreamtv.store.media import MediaFilter
from tests.media_servers.catalogue import episodes
from tests.media_servers.fake_jellyfin import TOKEN, FakeJellyfin
from tests.media_servers.loopback import LoopbackServer


async def _source(container: Container, fake: FakeJellyfin, server: LoopbackServer) -> int:
    kind = SourceKind(fake.flavour)
    source = await container.media_servers.create(kind, "Den", server.url, SecretStr(TOKEN))
    return source.id


async def test_full_sync_then_resync_with_added_changed_and_removed_items(  # noqa: PLR0915 - one story
    sqlite_container: Container, fake_jellyfin: tuple[FakeJellyfin, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_jellyfin
    cat = fake.catalogue
    movies = cat.library("Movies", "movie", "/media/movies")
    shows = cat.library("Shows", "show", "/media/tv")
    home = cat.library("Home", "homevideo", "/media/home")
    clips = cat.library("Clips", "musicvideo", "/media/clips")
    film = cat.add(
        movies,
        "movie",
        "Pilot Film",
        guids={"imdb": "tt3320442", "tmdb": "972512"},
        chapters=((0, 0, "Opening"), (60_000, 0, "Middle")),
        duration_ms=120_000,
    )
    doomed = cat.add(movies, "movie", "Doomed Film")
    eps = episodes(cat, shows, "Example Show", 3)
    cat.add(home, "video", "Birthday")
    cat.add(clips, "musicvideo", "Song")
    cat.collection("Saga", movies, [film.key, doomed.key])
    source_id = await _source(container, fake, server)

    info = await container.media_servers.test(source_id)
    assert info.name == "attic"
    assert info.version == ("10.10.7" if fake.flavour == "jellyfin" else "4.8.10.0")
    assert {lib.title: lib.kind for lib in info.libraries} == {
        "Movies": LibraryKind.MOVIES,
        "Shows": LibraryKind.SHOWS,
        "Home": LibraryKind.OTHER,
        "Clips": LibraryKind.MUSIC_VIDEOS,
    }
    chosen = {
        lib.name: lib
        for lib in await container.media_servers.select_libraries(
            source_id, [movies.key, shows.key, home.key, clips.key]
        )
    }
    for library in chosen.values():
        result = await container.libraries.scan(library.id)
        assert result.status is ScanStatus.COMPLETED, result.error

    found, _ = await container.catalog.search(MediaFilter(library_id=chosen["Movies"].id), 0, 9)
    pilot = next(m for m in found if m.metadata.title == "Pilot Film")
    assert pilot.path == "/media/movies/Pilot Film.mp4"
    assert dict(pilot.metadata.external_ids) == {"imdb": "tt3320442", "tmdb": "972512"}
    tech = pilot.technical
    assert tech is not None
    assert (tech.duration_ms, tech.video_codec, tech.fps, tech.pixel_format) == (
        120_000,
        "h264",
        25.0,
        "yuv420p",
    )
    assert (tech.audio_codec, tech.audio_channels, tech.sample_rate) == ("aac", 1, 48000)
    # Emby's intro marker is not a chapter; chapter ends come from the next start.
    assert [(c.start_ms, c.end_ms, c.title) for c in tech.chapters] == [
        (0, 60_000, "Opening"),
        (60_000, 120_000, "Middle"),
    ]
    shown, _ = await container.catalog.search(MediaFilter(library_id=chosen["Shows"].id), 0, 9)
    assert [(e.metadata.show, e.metadata.episode, e.metadata.kind) for e in shown] == [
        ("Example Show", n, MediaKind.EPISODE) for n in (1, 2, 3)
    ]
    (birthday,), _ = await container.catalog.search(MediaFilter(library_id=chosen["Home"].id), 0, 9)
    assert birthday.metadata.kind is MediaKind.OTHER
    (song,), _ = await container.catalog.search(MediaFilter(library_id=chosen["Clips"].id), 0, 9)
    assert song.metadata.kind is MediaKind.MUSIC_VIDEO
    names = [c.name for c in await container.catalog.collections() if not c.automatic]
    assert names == ["Saga (Den)"]

    eps[1].touch(title="Renamed")
    cat.remove(movies, doomed.key)
    cat.add(
        shows,
        "episode",
        "Bonus",
        show="Example Show",
        show_key=eps[0].show_key,
        season=1,
        episode=4,
        filename="Example Show/Season 01/Example Show - S01E04.mp4",
    )
    fake.requests.clear()
    shows_result = await container.libraries.scan(chosen["Shows"].id)
    movies_result = await container.libraries.scan(chosen["Movies"].id)

    c = shows_result.counts
    assert (c.total, c.added, c.updated, c.unchanged, c.missing) == (4, 1, 1, 2, 0)
    assert (movies_result.counts.missing, movies_result.counts.unchanged) == (1, 1)
    after, _ = await container.catalog.search(MediaFilter(library_id=chosen["Movies"].id), 0, 9)
    assert {m.metadata.title: m.state for m in after} == {
        "Pilot Film": MediaState.PRESENT,
        "Doomed Film": MediaState.MISSING,
    }
    shown, _ = await container.catalog.search(MediaFilter(library_id=chosen["Shows"].id), 0, 9)
    assert [e.metadata.title for e in shown] == ["Episode 1", "Renamed", "Episode 3", "Bonus"]
    saga = next(c for c in await container.catalog.collections() if c.name == "Saga (Den)")
    assert [m.metadata.title for m in await container.catalog.collection_items(saga.id)] == [
        "Pilot Film"
    ]

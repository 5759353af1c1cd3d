"""Syncing a Plex server: full sync, then an incremental resync after changes."""

from __future__ import annotations

from pydantic import SecretStr

from exstreamtv.domain.libraries import LibraryKind, ScanStatus, SourceKind
from exstreamtv.domain.media import MediaKind, MediaState
from exstreamtv.services.container import Container
from exstreamtv.store.media import MediaFilter
from tests.media_servers.catalogue import episodes
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer


async def _seeded(fake: FakePlex) -> None:
    cat = fake.catalogue
    movies = cat.library("Movies", "movie", "/data/Movies")
    shows = cat.library("TV Shows", "show", "/storage/media/tv")
    home = cat.library("Home Videos", "homevideo", "/storage/media/home")
    cat.add(home, "video", "Birthday")
    first = cat.add(
        movies,
        "movie",
        "Interstate 60",
        year=2002,
        duration_ms=5_062_000,
        guids={"imdb": "tt0165832", "tmdb": "1234"},
        chapters=((0, 609_443, "Chapter 1"), (609_443, 5_062_000, "Chapter 2")),
    )
    second = cat.add(movies, "movie", "Second Film", year=1999)
    cat.add(movies, "movie", "Third Film", year=2010)
    eps = episodes(cat, shows, "Example Show", 4)
    cat.collection("Road Trips", movies, [first.key, second.key])
    cat.collection("Background", movies, [eps[0].key], playlist=True)


async def _add_plex(container: Container, server: LoopbackServer) -> int:
    source = await container.media_servers.create(
        SourceKind.PLEX, "Attic", server.url, SecretStr(TOKEN)
    )
    return source.id


async def test_full_sync_maps_movies_episodes_streams_and_collections(
    container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    await _seeded(fake)
    source_id = await _add_plex(container, server)

    info = await container.media_servers.test(source_id)
    assert (info.name, info.version) == ("Attic Plex", "1.40.1.8227-c0dd5a73e")
    kinds = {lib.title: lib.kind for lib in info.libraries}
    assert kinds == {
        "Movies": LibraryKind.MOVIES,
        "TV Shows": LibraryKind.SHOWS,
        "Home Videos": LibraryKind.OTHER,  # a "Personal Media" (agent none) movie section
    }
    chosen = await container.media_servers.select_libraries(
        source_id, [lib.external_id for lib in info.libraries]
    )
    for library in chosen:
        result = await container.libraries.scan(library.id)
        assert result.status is ScanStatus.COMPLETED, result.error
    home_lib, movies_lib, shows_lib = sorted(chosen, key=lambda lib: lib.name)
    (birthday,), _ = await container.catalog.search(MediaFilter(library_id=home_lib.id), 0, 10)
    assert birthday.metadata.kind is MediaKind.OTHER
    assert movies_lib.source_kind is SourceKind.PLEX
    assert movies_lib.paths == ("/data/Movies",)

    movies, total = await container.catalog.search(MediaFilter(library_id=movies_lib.id), 0, 10)
    assert total == 3
    interstate = next(m for m in movies if m.metadata.title == "Interstate 60")
    assert interstate.path == "/data/Movies/Interstate 60.mp4"
    assert interstate.metadata.kind is MediaKind.MOVIE
    assert dict(interstate.metadata.external_ids) == {"imdb": "tt0165832", "tmdb": "1234"}
    assert interstate.metadata.year == 2002
    tech = interstate.technical
    assert tech is not None
    assert (tech.duration_ms, tech.video_codec, tech.width, tech.height, tech.fps) == (
        5_062_000,
        "h264",
        160,
        120,
        25.0,
    )
    assert (tech.audio_codec, tech.audio_channels, tech.sample_rate) == ("aac", 1, 48000)
    assert [(c.start_ms, c.end_ms, c.title) for c in tech.chapters] == [
        (0, 609_443, "Chapter 1"),
        (609_443, 5_062_000, "Chapter 2"),
    ]
    assert (
        interstate.metadata.artwork.poster
        == f"{server.url}/library/metadata/{_key(fake, 'Interstate 60')}/thumb/1"
    )

    eps, total = await container.catalog.search(MediaFilter(library_id=shows_lib.id), 0, 10)
    assert total == 4
    assert [(e.metadata.show, e.metadata.season, e.metadata.episode) for e in eps] == [
        ("Example Show", 1, n) for n in range(1, 5)
    ]
    assert all(e.metadata.kind is MediaKind.EPISODE for e in eps)
    assert dict(eps[0].metadata.external_ids) == {"tvdb": "5001"}

    every = await container.catalog.collections()
    kept = {(c.kind.value, c.show, c.season, c.library_id) for c in every if c.automatic}
    assert ("library", None, None, shows_lib.id) in kept  # the server's libraries, shows and
    assert {(k, show) for k, show, _, _ in kept} >= {("show", eps[0].metadata.show)}  # seasons
    collections = {c.name: c for c in every if not c.automatic}
    assert set(collections) == {"Road Trips (Attic)", "Background (Attic)"}
    road = await container.catalog.collection_items(collections["Road Trips (Attic)"].id)
    assert [m.metadata.title for m in road] == ["Interstate 60", "Second Film"]


async def test_incremental_resync_fetches_only_changes_and_marks_removed_items_missing(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_plex
    await _seeded(fake)
    source_id = await _add_plex(container, server)
    movies_key = next(k for k, v in fake.catalogue.libraries.items() if v.title == "Movies")
    (library,) = await container.media_servers.select_libraries(source_id, [movies_key])
    await container.libraries.scan(library.id)
    before = {
        m.metadata.title: m
        for m in (await container.catalog.search(MediaFilter(library_id=library.id), 0, 10))[0]
    }

    movies = fake.catalogue.libraries[movies_key]
    changed = next(i for i in movies.items.values() if i.title == "Second Film")
    removed = next(i for i in movies.items.values() if i.title == "Third Film")
    changed.touch(title="Second Film (Director's Cut)")
    fake.catalogue.remove(movies, removed.key)
    added = fake.catalogue.add(movies, "movie", "Fourth Film")
    fake.requests.clear()

    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED, result.error
    counts = result.counts
    assert (counts.total, counts.added, counts.updated, counts.unchanged, counts.missing) == (
        3,
        1,
        1,
        1,
        1,
    )
    fetched = [p for p in fake.requests if p.startswith("/library/metadata/")]
    assert sorted(k for p in fetched for k in p.rsplit("/", 1)[1].split(",")) == sorted(
        [changed.key, added.key]
    )
    after = {
        m.metadata.title: m
        for m in (await container.catalog.search(MediaFilter(library_id=library.id), 0, 10))[0]
    }
    assert after["Second Film (Director's Cut)"].id == before["Second Film"].id
    gone = after["Third Film"]
    assert (gone.id, gone.state) == (before["Third Film"].id, MediaState.MISSING)
    assert gone.missing_since is not None
    assert after["Fourth Film"].state is MediaState.PRESENT

    fake.catalogue.libraries[movies_key].items[removed.key] = removed  # back on the server
    again = await container.libraries.scan(library.id)
    assert (again.counts.missing, again.counts.added) == (0, 0)
    assert (await container.catalog.item(gone.id)).state is MediaState.PRESENT


async def test_items_readded_under_a_new_id_keep_their_row(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    original = fake.catalogue.add(movies, "movie", "Film")
    source_id = await _add_plex(container, server)
    (library,) = await container.media_servers.select_libraries(source_id, [movies.key])
    await container.libraries.scan(library.id)
    (item,), _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 10)

    fake.catalogue.remove(movies, original.key)
    fake.catalogue.add(movies, "movie", "Film")  # same file, new ratingKey (Plex re-add)
    result = await container.libraries.scan(library.id)

    assert result.status is ScanStatus.COMPLETED, result.error
    (again,), total = await container.catalog.search(MediaFilter(library_id=library.id), 0, 10)
    assert (total, again.id, again.state) == (1, item.id, MediaState.PRESENT)


async def test_short_pages_are_followed_to_the_total(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    fake.page_cap = 2  # the server answers fewer items than asked for
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    for n in range(7):
        fake.catalogue.add(movies, "movie", f"Film {n}")
    source_id = await _add_plex(sqlite_container, server)
    (library,) = await sqlite_container.media_servers.select_libraries(source_id, [movies.key])
    result = await sqlite_container.libraries.scan(library.id)
    assert (result.status, result.counts.added) == (ScanStatus.COMPLETED, 7)


def _key(fake: FakePlex, title: str) -> str:
    for library in fake.catalogue.libraries.values():
        for item in library.items.values():
            if item.title == title:
                return item.key
    raise AssertionError(title)

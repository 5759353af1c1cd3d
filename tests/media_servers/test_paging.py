"""Every item, whatever the server's page cap: lists followed to their total, details asked
for again until every id came back, and two libraries of one source scanned at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from exstreamtv.domain.libraries import LibraryKind, ScanStatus, SourceKind
from exstreamtv.domain.media import MediaState
from exstreamtv.errors import SourceResponseInvalid
from exstreamtv.services.container import Container
from exstreamtv.sources.base import RemoteLibrary
from exstreamtv.sources.jellyfin import JellyfinClient
from exstreamtv.sources.server_http import ServerHttp
from exstreamtv.store.media import MediaFilter
from tests.media_servers.catalogue import Catalogue, FakeLibrary, episodes
from tests.media_servers.fake_jellyfin import TOKEN as JF_TOKEN
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer, served

ITEMS = 210
MEMBERS = 11  # collection and playlist members: four capped pages each


def _fill(catalogue: Catalogue, library: FakeLibrary) -> list[str]:
    return [catalogue.add(library, "movie", f"Film {n:03d}").key for n in range(ITEMS)]


async def _sync_everything(
    container: Container, kind: SourceKind, url: str, token: str, library_key: str
) -> int:
    source = await container.media_servers.create(kind, "Capped", url, SecretStr(token))
    (library,) = await container.media_servers.select_libraries(source.id, [library_key])
    result = await container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED, result.error
    counts = result.counts
    assert (counts.total, counts.added, counts.failed) == (ITEMS, ITEMS, 0)
    assert await container.libraries.problems(library.id) == []
    return library.id


async def test_a_plex_server_capped_at_three_items_per_answer_loses_nothing(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    assert fake.page_cap == 3
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    keys = _fill(fake.catalogue, movies)
    fake.catalogue.collection("Some", movies, keys[:MEMBERS])
    fake.catalogue.collection("Backwards", movies, keys[MEMBERS - 1 :: -1], playlist=True)
    library_id = await _sync_everything(
        sqlite_container, SourceKind.PLEX, server.url, TOKEN, movies.key
    )
    await _all_present_and_mirrored(sqlite_container, library_id, "Some", "Backwards")


async def test_jellyfin_and_emby_capped_at_three_items_per_answer_lose_nothing(
    sqlite_container: Container, fake_jellyfin: tuple[FakeJellyfin, LoopbackServer]
) -> None:
    fake, server = fake_jellyfin
    assert fake.page_cap == 3
    owner = fake.add_user("owner", "pw")
    mixed = fake.catalogue.library("Everything", "homevideo", "/media/all")
    keys = [fake.catalogue.add(mixed, "video", f"Clip {n:03d}").key for n in range(ITEMS)]
    fake.catalogue.collection("Some", mixed, keys[:MEMBERS])
    fake.catalogue.collection(
        "Backwards", mixed, keys[MEMBERS - 1 :: -1], playlist=True, owner=owner.user_id
    )
    kind = SourceKind(fake.flavour)
    source = await sqlite_container.media_servers.create(
        kind, "Capped", server.url, SecretStr(JF_TOKEN)
    )
    await sqlite_container.media_servers.set_user(source.id, owner.user_id)
    (library,) = await sqlite_container.media_servers.select_libraries(source.id, [mixed.key])
    result = await sqlite_container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED, result.error
    assert (result.counts.total, result.counts.added, result.counts.failed) == (ITEMS, ITEMS, 0)
    assert await sqlite_container.libraries.problems(library.id) == []
    detail = [q for q in fake.requests if q.endswith("/Items")]
    assert len(detail) > ITEMS // 3  # every detail answer was cut to 3 and asked again
    await _all_present_and_mirrored(sqlite_container, library.id, "Some", "Backwards")


async def _all_present_and_mirrored(
    container: Container, library_id: int, collection: str, playlist: str
) -> None:
    items, total = await container.catalog.search(MediaFilter(library_id=library_id), 0, 500)
    assert total == ITEMS
    assert all(item.state is MediaState.PRESENT and item.technical for item in items)
    names = {c.name: c for c in await container.catalog.collections()}
    forward = await container.catalog.collection_items(names[f"{collection} (Capped)"].id)
    backward = await container.catalog.collection_items(names[f"{playlist} (Capped)"].id)
    assert len(forward) == MEMBERS
    assert [m.id for m in backward] == [m.id for m in forward][::-1]


def _rendezvous(app: ASGIApp, path: str, parties: int, timeout: float) -> ASGIApp:
    """``app`` with requests to ``path`` held until ``parties`` of them arrived (or until
    ``timeout`` s passed): lets two scans reach the collection step together, if they can."""
    arrived: list[asyncio.Event] = []
    together = asyncio.Event()

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).endswith(path):
            query = bytes(scope["query_string"]).decode()
            if "IncludeItemTypes=BoxSet" in query and "StartIndex=0" in query:
                arrived.append(asyncio.Event())
                if len(arrived) >= parties:
                    together.set()
                try:
                    async with asyncio.timeout(timeout):
                        await together.wait()
                except TimeoutError:
                    pass
        await app(scope, receive, send)

    return held


async def test_two_libraries_of_one_source_scan_together_without_a_conflict(
    sqlite_container: Container,
) -> None:
    fake = FakeJellyfin(flavour="jellyfin")
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    shows = fake.catalogue.library("Shows", "show", "/media/tv")
    films = [fake.catalogue.add(movies, "movie", f"Film {n}").key for n in range(4)]
    eps = [e.key for e in episodes(fake.catalogue, shows, "Serial", 4)]
    fake.catalogue.collection("Marathon", movies, films + eps)
    # Without per-source serialisation both scans list the BoxSets at once, then both try
    # to create "Marathon (Den)": one fails with a conflict (or a locked database).
    app = _rendezvous(fake.app(), "/Items", parties=2, timeout=1.0)
    async with served(app) as server:
        container = sqlite_container
        source = await container.media_servers.create(
            SourceKind.JELLYFIN, "Den", server.url, SecretStr(JF_TOKEN)
        )
        chosen = await container.media_servers.select_libraries(source.id, [movies.key, shows.key])
        for library in chosen:
            await container.libraries.start_scan(library.id)
        results = [await container.libraries.wait(library.id) for library in chosen]
    assert [r.status for r in results] == [ScanStatus.COMPLETED] * 2, [r.error for r in results]
    (marathon,) = [c for c in await container.catalog.collections() if not c.automatic]
    assert marathon.name == "Marathon (Den)"
    assert len(await container.catalog.collection_items(marathon.id)) == 8
    for library in chosen:
        assert await container.libraries.problems(library.id) == []


async def test_a_plex_resync_lists_only_what_changed_and_still_finds_removals(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    films = [
        fake.catalogue.add(movies, "movie", f"Film {n}", updated_at=1_600_000_000 + n * 86_400)
        for n in range(12)
    ]
    source = await container.media_servers.create(
        SourceKind.PLEX, "Attic", server.url, SecretStr(TOKEN)
    )
    (library,) = await container.media_servers.select_libraries(source.id, [movies.key])
    await container.libraries.scan(library.id)
    newest = max(f.updated_at for f in films)

    films[3].touch(title="Film 3 (remastered)", updated_at=newest + 100)
    fake.queries.clear()
    result = await container.libraries.scan(library.id)

    counts = result.counts
    assert (counts.total, counts.updated, counts.unchanged, counts.missing) == (12, 1, 11, 0)
    listings = [q for q in fake.queries if q.startswith(f"/library/sections/{movies.key}/all")]
    changed = [q for q in listings if "updatedAt>>=" in q]
    assert changed and f"updatedAt>>={newest - 3600}" in changed[0]
    # Besides the changed items: one count (a zero-size page), and no full listing.
    assert [q for q in listings if q not in changed] == [
        q for q in listings if "X-Plex-Container-Size=0" in q
    ]
    assert len(changed) == 1  # only the items of the last hour before the cursor came back

    fake.catalogue.remove(movies, films[5].key)
    fake.queries.clear()
    removed = await container.libraries.scan(library.id)
    assert (removed.counts.missing, removed.counts.unchanged) == (1, 11)
    full = [q for q in fake.queries if "/all?" in q and "updatedAt" not in q and "Size=0" not in q]
    assert full  # the count showed a removal: only a full listing can tell which
    gone, _ = await container.catalog.search(
        MediaFilter(library_id=library.id, state=MediaState.MISSING), 0, 5
    )
    assert [g.metadata.title for g in gone] == ["Film 5"]


def _jellyfin_pages(total: int | None, items: int, stop_at: int | None = None) -> JellyfinClient:
    """A client of a server that answers at most 2 items per page, with ``total`` (or no
    ``TotalRecordCount``), holding ``items`` items, and answering nothing from ``stop_at``."""

    def handle(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["StartIndex"])
        end = min(items, start + 2) if stop_at is None or start < stop_at else start
        body: dict[str, object] = {
            "Items": [{"Id": str(n), "Etag": "e"} for n in range(start, end)]
        }
        if total is not None:
            body["TotalRecordCount"] = total
        return httpx.Response(200, json=body)

    http = ServerHttp(
        "http://jf.test", label="1", name="Den", headers={}, transport=httpx.MockTransport(handle)
    )
    return JellyfinClient(http, SecretStr("k"), SourceKind.JELLYFIN, page_size=50)


async def _listed(client: JellyfinClient) -> list[str]:
    library = RemoteLibrary("lib", "Movies", LibraryKind.MOVIES)
    return [s.remote_id async for page in client.stamps(library) for s in page]


async def test_a_short_page_is_not_the_end_of_a_listing_with_or_without_a_total() -> None:
    assert await _listed(_jellyfin_pages(total=7, items=7)) == [str(n) for n in range(7)]
    assert await _listed(_jellyfin_pages(total=None, items=7)) == [str(n) for n in range(7)]


async def test_a_listing_that_stops_before_its_total_is_refused() -> None:
    with pytest.raises(SourceResponseInvalid, match="stopped after 4 of 9 items"):
        await _listed(_jellyfin_pages(total=9, items=9, stop_at=4))

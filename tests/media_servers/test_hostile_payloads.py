"""Malformed, hostile, huge or refused answers: a clear error, and nothing already synced
is lost (no item is marked missing, none is changed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from exstreamtv.domain.libraries import Library, ScanStatus, SourceKind
from exstreamtv.domain.media import MediaItem, MediaState
from exstreamtv.services.container import Container, open_container
from exstreamtv.store.media import MediaFilter
from tests.media_servers.fake_jellyfin import TOKEN as JF_TOKEN
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.support import build_settings

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<MediaContainer size="1" totalSize="1" offset="0"><Video ratingKey="&lol4;"/></MediaContainer>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<MediaContainer size="1" totalSize="1"><Video ratingKey="1" title="&secret;"/></MediaContainer>"""

ContainerFactory = Callable[..., AbstractAsyncContextManager[Container]]


@pytest.fixture
def make_container(tmp_path: Path) -> ContainerFactory:
    @asynccontextmanager
    async def make(**media_servers: Any) -> AsyncIterator[Container]:
        url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
        settings = build_settings(
            tmp_path / "data", url, media_servers={"retry_backoff_sec": 0.01, **media_servers}
        )
        async with open_container(settings) as container:
            yield container

    return make


async def _synced_plex(container: Container, fake: FakePlex, server: LoopbackServer) -> Library:
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    for n in range(3):
        fake.catalogue.add(movies, "movie", f"Film {n}")
    source = await container.media_servers.create(
        SourceKind.PLEX, "Attic", server.url, SecretStr(TOKEN)
    )
    (library,) = await container.media_servers.select_libraries(source.id, [movies.key])
    assert (await container.libraries.scan(library.id)).status is ScanStatus.COMPLETED
    return library


async def _items(container: Container, library: Library) -> list[MediaItem]:
    return (await container.catalog.search(MediaFilter(library_id=library.id), 0, 100))[0]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, "declares a DTD or entities"),
        (EXTERNAL_ENTITY, "declares a DTD or entities"),
        (b"<MediaContainer><Video ratingKey='1'", "is not valid XML"),
        (b"<html><body>proxy error</body></html>", "is not a MediaContainer"),
        (
            b'<MediaContainer totalSize="many"><Video ratingKey="9"/></MediaContainer>',
            "not a whole number",
        ),
    ],
    ids=["billion-laughs", "external-entity", "truncated", "not-plex", "wrong-type"],
)
async def test_hostile_plex_listing_fails_the_scan_clearly_and_keeps_every_item(
    sqlite_container: Container,
    fake_plex: tuple[FakePlex, LoopbackServer],
    body: bytes,
    reason: str,
) -> None:
    fake, server = fake_plex
    library = await _synced_plex(sqlite_container, fake, server)
    before = await _items(sqlite_container, library)
    fake.overrides[f"/library/sections/{library.external_id}/all"] = (200, body, "text/xml")

    result = await sqlite_container.libraries.scan(library.id)

    assert result.status is ScanStatus.FAILED
    assert result.error is not None and reason in result.error
    assert await _items(sqlite_container, library) == before
    assert all(item.state is MediaState.PRESENT for item in before)


async def test_a_page_over_the_size_limit_is_refused_before_it_is_read(
    make_container: ContainerFactory, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    async with make_container(max_response_mib=0.05) as container:
        library = await _synced_plex(container, fake, server)
        before = await _items(container, library)
        huge = b"<MediaContainer>" + b"<Video ratingKey='1'/>" * 50_000 + b"</MediaContainer>"
        fake.overrides[f"/library/sections/{library.external_id}/all"] = (200, huge, "text/xml")

        result = await container.libraries.scan(library.id)

        assert result.status is ScanStatus.FAILED
        assert result.error is not None and "sent more than 0.05 MiB" in result.error
        assert await _items(container, library) == before


async def test_a_failing_detail_fetch_marks_nothing_missing(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    library = await _synced_plex(sqlite_container, fake, server)
    before = await _items(sqlite_container, library)
    movies = fake.catalogue.libraries[str(library.external_id)]
    first = next(iter(movies.items.values()))
    fake.catalogue.remove(movies, first.key)  # would be marked missing by a good sync
    new = fake.catalogue.add(movies, "movie", "New")
    fake.overrides[f"/library/metadata/{new.key}"] = (
        500,
        b"Error processing request.",
        "text/plain",
    )

    result = await sqlite_container.libraries.scan(library.id)

    assert result.status is ScanStatus.FAILED
    assert result.error is not None and "answered HTTP 500" in result.error
    assert await _items(sqlite_container, library) == before


async def test_transient_server_errors_are_retried_with_backoff(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    library = await _synced_plex(sqlite_container, fake, server)
    fake.flaky = 2  # two 503s, then answers (3 retries allowed)
    fake.requests.clear()
    result = await sqlite_container.libraries.scan(library.id)
    assert result.status is ScanStatus.COMPLETED, result.error
    assert fake.requests[:3] == [f"/library/sections/{library.external_id}/all"] * 3


async def test_too_many_server_errors_fail_the_scan(
    make_container: ContainerFactory, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    async with make_container(retries=1) as container:
        library = await _synced_plex(container, fake, server)
        fake.flaky = 2
        result = await container.libraries.scan(library.id)
        assert result.status is ScanStatus.FAILED
        assert result.error is not None and "answered HTTP 503" in result.error


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("RunTimeTicks", "a long time", "RunTimeTicks='a long time', not a whole number"),
        ("Name", 42, "Name='42', not a string"),
        ("MediaSources", {"Id": "x"}, "MediaSources that is not a list"),
        ("ProviderIds", ["tt1"], "ProviderIds that is not an object"),
    ],
)
async def test_wrong_types_from_jellyfin_fail_clearly_and_keep_every_item(
    sqlite_container: Container,
    fake_jellyfin: tuple[FakeJellyfin, LoopbackServer],
    field: str,
    value: object,
    reason: str,
) -> None:
    container = sqlite_container
    fake, server = fake_jellyfin
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    kept = fake.catalogue.add(movies, "movie", "Kept")
    kind = SourceKind(fake.flavour)
    source = await container.media_servers.create(kind, "Den", server.url, SecretStr(JF_TOKEN))
    (library,) = await container.media_servers.select_libraries(source.id, [movies.key])
    await container.libraries.scan(library.id)
    before = await _items(container, library)

    fake.catalogue.remove(movies, kept.key)
    new = fake.catalogue.add(movies, "movie", "New")
    good = fake._dto(new, movies, {"Path", "MediaSources", "ProviderIds", "Etag"})
    bad = {**good, field: value}
    body = json.dumps({"Items": [bad], "TotalRecordCount": 1}).encode()
    fake.detail_body = body  # what /Items?Ids=... answers

    result = await container.libraries.scan(library.id)

    assert result.status is ScanStatus.FAILED
    assert result.error is not None and reason in result.error, result.error
    assert await _items(container, library) == before


async def test_a_refused_token_is_a_clear_error(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    library = await _synced_plex(sqlite_container, fake, server)
    fake.token = "rotated-on-the-server"
    result = await sqlite_container.libraries.scan(library.id)
    assert result.status is ScanStatus.FAILED
    assert result.error == (
        "media server 'Attic' refused the token (HTTP 401 for"
        f" /library/sections/{library.external_id}/all)"
    )


async def test_a_server_that_ignores_paging_is_refused_instead_of_followed_forever(
    sqlite_container: Container, fake_jellyfin: tuple[FakeJellyfin, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_jellyfin
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    fake.catalogue.add(movies, "movie", "Kept")
    kind = SourceKind(fake.flavour)
    source = await container.media_servers.create(kind, "Den", server.url, SecretStr(JF_TOKEN))
    (library,) = await container.media_servers.select_libraries(source.id, [movies.key])
    await container.libraries.scan(library.id)
    before = await _items(container, library)
    same = json.dumps({"Items": [{"Id": "1", "Etag": "e"}, {"Id": "2", "Etag": "e"}]}).encode()
    fake.overrides["/Items"] = (200, same, "application/json")  # no total, never advances
    fake.requests.clear()

    result = await container.libraries.scan(library.id)

    assert result.status is ScanStatus.FAILED
    assert (
        result.error == "'Den' sent the same page again while listing /Items; its paging is broken"
    )
    assert len(fake.requests) == 2
    assert await _items(container, library) == before


async def test_a_scan_while_the_server_is_down_fails_clearly_and_the_next_one_works(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    library = await _synced_plex(sqlite_container, fake, server)
    before = await _items(sqlite_container, library)
    await server.stop()

    down = await sqlite_container.libraries.scan(library.id)

    assert down.status is ScanStatus.FAILED
    assert down.error == f"media server 'Attic' at {server.url} cannot be reached (ConnectError)"
    assert await _items(sqlite_container, library) == before
    await server.start()
    again = await sqlite_container.libraries.scan(library.id)
    assert (again.status, again.counts.unchanged) == (ScanStatus.COMPLETED, 3)

"""Connecting servers the way people do: a Plex PIN typed at plex.tv/link, and a Jellyfin or
Emby user name and password. Only the resulting server token is stored; no account token,
server token or password reaches an API answer, a log line or the database in plain text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from exstreamtv.domain.libraries import ScanStatus
from exstreamtv.services.container import Container, open_container
from tests.media_servers.fake_jellyfin import TOKEN as JF_TOKEN
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import MACHINE_ID, FakePlex
from tests.media_servers.fake_plex_tv import ACCOUNT_TOKEN, FakePlexTv
from tests.media_servers.loopback import LoopbackServer, served
from tests.media_servers.test_cli import _cli
from tests.support import build_settings
from tests.web.client import assert_problem, open_client

SERVER_TOKEN = "attic-server-token-31415"
PASSWORD = "correct horse battery staple"


@pytest.fixture
async def linked_container(tmp_path: Path) -> AsyncIterator[tuple[Container, FakePlexTv]]:
    fake_tv = FakePlexTv()
    async with served(fake_tv.app()) as tv:
        settings = build_settings(
            tmp_path / "data",
            f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
            media_servers={"retry_backoff_sec": 0.01, "plex_tv_url": tv.url},
        )
        async with open_container(settings) as container:
            yield container, fake_tv


async def _stored_credentials(container: Container) -> str:
    async with container.engine.connect() as conn:
        rows = await conn.execute(text("SELECT credential FROM media_sources"))
        return " ".join(str(row[0]) for row in rows)


async def test_a_plex_server_is_added_through_a_pin_link_and_only_its_token_is_kept(
    linked_container: tuple[Container, FakePlexTv],
    fake_plex: tuple[FakePlex, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    container, fake_tv = linked_container
    fake, server = fake_plex
    fake.token = SERVER_TOKEN
    fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake_tv.add_server("Attic Plex", MACHINE_ID, SERVER_TOKEN, server.url)
    seen: list[str] = []
    async with open_client(container) as client:
        started = await client.post("/api/media-sources/plex-link")
        assert started.status_code == 201, started.text
        pin = started.json()
        assert (pin["link_url"], len(pin["code"]), pin["expires_in"]) == (
            "https://plex.tv/link", 4, 900,
        )  # fmt: skip
        waiting = await client.get(f"/api/media-sources/plex-link/{pin['id']}")
        assert waiting.json() == {"linked": False, "servers": []}

        fake_tv.link(pin["id"])  # the user typed the code at plex.tv/link
        linked = await client.get(f"/api/media-sources/plex-link/{pin['id']}")
        assert linked.json() == {
            "linked": True,
            "servers": [
                {
                    "id": MACHINE_ID,
                    "name": "Attic Plex",
                    "owned": True,
                    "urls": [server.url, "http://203.0.113.7:32400"],  # local first, no relay
                }
            ],
        }
        created = await client.post(
            "/api/media-sources",
            json={
                "kind": "plex",
                "name": "Attic",
                "plex_link": pin["id"],
                "plex_server": MACHINE_ID,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["url"] == server.url
        tested = await client.post(f"/api/media-sources/{created.json()['id']}/test")
        assert tested.json()["name"] == "Attic Plex"
        reused = await client.post(
            "/api/media-sources",
            json={
                "kind": "plex",
                "name": "Again",
                "plex_link": pin["id"],
                "plex_server": MACHINE_ID,
            },
        )
        assert "expired or does not exist" in assert_problem(reused, 404)["detail"]
        seen += [started.text, waiting.text, linked.text, created.text, tested.text, reused.text]

    stored = await _stored_credentials(container)
    for secret in (ACCOUNT_TOKEN, SERVER_TOKEN):
        assert all(secret not in page for page in seen)
        assert all(secret not in record.getMessage() for record in caplog.records)
        assert secret not in stored


async def test_an_unknown_plex_link_is_not_found(
    linked_container: tuple[Container, FakePlexTv],
) -> None:
    container, _ = linked_container
    async with open_client(container) as client:
        missing = await client.get("/api/media-sources/plex-link/42")
        assert "start again" in assert_problem(missing, 404)["detail"]


async def test_jellyfin_and_emby_sign_in_with_a_password_and_mirror_that_users_playlists(
    sqlite_container: Container,
    fake_jellyfin: tuple[FakeJellyfin, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    container = sqlite_container
    fake, server = fake_jellyfin
    alice = fake.add_user("alice", PASSWORD, admin=True)
    bob = fake.add_user("bob", "another secret")
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    films = [fake.catalogue.add(movies, "movie", f"Film {n}") for n in range(5)]
    mine = fake.catalogue.collection(
        "Weekend", movies, [f.key for f in films[::-1]], playlist=True, owner=alice.user_id
    )
    fake.catalogue.collection("Bob's", movies, [films[0].key], playlist=True, owner=bob.user_id)
    body = {"kind": fake.flavour, "name": "Den", "url": server.url, "username": "alice"}
    async with open_client(container) as client:
        refused = await client.post("/api/media-sources", json={**body, "password": "wrong"})
        assert "refused the user name or password" in assert_problem(refused, 422)["detail"]
        created = await client.post("/api/media-sources", json={**body, "password": PASSWORD})
        assert created.status_code == 201, created.text
        source = created.json()
        assert (source["user_id"], source["has_token"]) == (alice.user_id, True)
        tested = await client.post(f"/api/media-sources/{source['id']}/test")
        assert {u["name"] for u in tested.json()["users"]} == {"alice", "bob"}
        chosen = await client.post(
            f"/api/media-sources/{source['id']}/libraries", json={"libraries": [movies.key]}
        )
        library_id = chosen.json()[0]["id"]
        await client.post(f"/api/libraries/{library_id}/scan")
        result = await container.libraries.wait(library_id)
        assert result.status is ScanStatus.COMPLETED, result.error
        problems = (await client.get(f"/api/libraries/{library_id}/problems")).json()
        seen = [refused.text, created.text, tested.text, str(problems)]

    (weekend,) = [c for c in await container.catalog.collections() if c.name == "Weekend (Den)"]
    members = await container.catalog.collection_items(weekend.id)
    assert [m.metadata.title for m in members] == [f"Film {n}" for n in range(4, -1, -1)]
    names = [c.name for c in await container.catalog.collections() if not c.automatic]
    assert names == ["Weekend (Den)"]
    assert problems == [
        {
            "path": f'{"Jellyfin" if fake.flavour == "jellyfin" else "Emby"} playlist "Bob\'s"',
            "reason": "the chosen user may not read it",
        }
    ]
    assert mine.key in "".join(fake.requests)
    assert fake.sign_ins[-1]["Username"] == "alice"
    assert all(PASSWORD not in page for page in seen)
    assert all(PASSWORD not in record.getMessage() for record in caplog.records)
    assert PASSWORD not in await _stored_credentials(container)


async def test_without_a_user_playlists_are_a_scan_problem_until_one_is_chosen(
    sqlite_container: Container, fake_jellyfin: tuple[FakeJellyfin, LoopbackServer]
) -> None:
    container = sqlite_container
    fake, server = fake_jellyfin
    carol = fake.add_user("carol", "pw")
    movies = fake.catalogue.library("Movies", "movie", "/media/movies")
    film = fake.catalogue.add(movies, "movie", "Film")
    fake.catalogue.collection("Mix", movies, [film.key], playlist=True, owner=carol.user_id)
    async with open_client(container) as client:
        created = await client.post(
            "/api/media-sources",
            json={"kind": fake.flavour, "name": "Den", "url": server.url, "token": JF_TOKEN},
        )
        source_id = created.json()["id"]
        chosen = await client.post(
            f"/api/media-sources/{source_id}/libraries", json={"libraries": [movies.key]}
        )
        library_id = chosen.json()[0]["id"]
        await container.libraries.scan(library_id)
        (problem,) = (await client.get(f"/api/libraries/{library_id}/problems")).json()
        assert problem["reason"].startswith("not mirrored: playlists belong to users")

        picked = await client.put(
            f"/api/media-sources/{source_id}/user", json={"user_id": carol.user_id}
        )
        assert picked.json()["user_id"] == carol.user_id
        await container.libraries.scan(library_id)
        assert (await client.get(f"/api/libraries/{library_id}/problems")).json() == []
    names = [c.name for c in await container.catalog.collections() if not c.automatic]
    assert names == ["Mix (Den)"]


async def test_the_command_line_signs_in_with_a_password_from_the_environment(
    tmp_path: Path,
) -> None:
    fake = FakeJellyfin(flavour="emby")  # the API test covers both flavours
    fake.add_user("alice", PASSWORD)
    async with served(fake.app()) as server:
        status, out = await _cli(
            "source", "add", fake.flavour, "--url", server.url, "--user", "alice",
            "--name", "Den", "--data-dir", str(tmp_path / "data"),
            env={"MEDIA_SERVER_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert status == 0, out
    assert f"signed in to {fake.flavour} source 1: Den ({server.url}) as alice" in out
    assert PASSWORD not in out


async def test_the_command_line_links_plex_with_a_code_typed_at_plex_tv(
    fake_plex: tuple[FakePlex, LoopbackServer], tmp_path: Path
) -> None:
    fake, server = fake_plex
    fake_tv = FakePlexTv()
    fake_tv.add_server("Attic Plex", MACHINE_ID, fake.token, server.url)
    async with served(fake_tv.app()) as tv:
        config = tmp_path / "exstreamtv.yaml"
        config.write_text(f"media_servers:\n  plex_tv_url: {tv.url}\n")
        command = asyncio.create_task(
            _cli("source", "link-plex", "--name", "Attic", "--config", str(config),
                 "--data-dir", str(tmp_path / "data"))
        )  # fmt: skip
        async with asyncio.timeout(60):
            await fake_tv.pin_made.wait()
        fake_tv.link(next(iter(fake_tv.pins)))
        status, out = await command
    code = next(iter(fake_tv.pins.values()))["code"]
    assert status == 0, out
    assert f"Open https://plex.tv/link and enter the code: {code}" in out
    assert f"added plex source 1: Attic ({server.url})" in out
    assert fake.token not in out and ACCOUNT_TOKEN not in out

"""``/api/media-sources`` end to end against a fake Plex, and where the token may never be:
API output, error messages, logs, and the database in plain text."""

from __future__ import annotations

import logging
import stat

import pytest
from sqlalchemy import text

from exstreamtv.services.container import Container
from exstreamtv.store.credentials import KEY_FILE_NAME
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.web.client import assert_problem, open_client


async def test_a_plex_server_is_added_tested_chosen_and_scanned_without_the_token_leaking(  # noqa: PLR0915 - one user journey
    sqlite_container: Container,
    fake_plex: tuple[FakePlex, LoopbackServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    container = sqlite_container
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.library("Music", "artist", "/data/Music")
    fake.catalogue.add(movies, "movie", "Film")
    seen: list[str] = []
    async with open_client(container) as client:
        created = await client.post(
            "/api/media-sources",
            json={
                "kind": "plex",
                "name": "Attic",
                "url": server.url + "/",
                "token": TOKEN,
                "path_mappings": [{"server": "/data", "local": "/mnt/plex"}],
            },
        )
        assert created.status_code == 201, created.text
        source = created.json()
        assert source["url"] == server.url
        assert source["has_token"] is True
        assert source["path_mappings"] == [{"server": "/data", "local": "/mnt/plex"}]
        seen.append(created.text)

        listed = await client.get("/api/media-sources")
        got = await client.get(f"/api/media-sources/{source['id']}")
        tested = await client.post(f"/api/media-sources/{source['id']}/test")
        seen += [listed.text, got.text, tested.text]
        assert [s["name"] for s in listed.json()] == ["Attic"]
        info = tested.json()
        assert (info["name"], info["version"]) == ("Attic Plex", "1.40.1.8227-c0dd5a73e")
        offered = {lib["title"]: lib for lib in info["libraries"]}
        assert offered["Movies"]["kind"] == "movies"
        assert offered["Movies"]["paths"] == ["/data/Movies"]

        refused = await client.post(
            f"/api/media-sources/{source['id']}/libraries",
            json={"libraries": [offered["Music"]["id"]]},
        )
        assert "not a video library" in assert_problem(refused, 422)["detail"]
        chosen = await client.post(
            f"/api/media-sources/{source['id']}/libraries",
            json={"libraries": [offered["Movies"]["id"]]},
        )
        assert chosen.status_code == 201, chosen.text
        library_id = chosen.json()[0]["id"]
        assert chosen.json()[0]["source_kind"] == "plex"
        again = await client.post(
            f"/api/media-sources/{source['id']}/libraries",
            json={"libraries": [offered["Movies"]["id"]]},
        )
        assert_problem(again, 409)

        assert (await client.post(f"/api/libraries/{library_id}/scan")).status_code == 202
        await container.libraries.wait(library_id)
        media = await client.get("/api/media", params={"library_id": library_id})
        seen.append(media.text)
        assert [m["title"] for m in media.json()["items"]] == ["Film"]

        fake.token = "rotated"
        failed = await client.post(f"/api/media-sources/{source['id']}/test")
        detail = assert_problem(failed, 503)["detail"]
        assert detail == "media server 'Attic' refused the token (HTTP 401 for /)"
        seen.append(failed.text)
        scan = await client.post(f"/api/libraries/{library_id}/scan")
        await container.libraries.wait(library_id)
        progress = await client.get(f"/api/libraries/{library_id}/scan")
        assert progress.json()["status"] == "failed"
        seen += [scan.text, progress.text]

    assert seen and all(TOKEN not in page for page in seen)
    assert caplog.records
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


async def test_the_token_is_stored_encrypted_with_a_private_key_file(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    _, server = fake_plex
    async with open_client(sqlite_container) as client:
        created = await client.post(
            "/api/media-sources",
            json={"kind": "plex", "name": "Attic", "url": server.url, "token": TOKEN},
        )
        assert created.status_code == 201
    async with sqlite_container.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM media_sources"))).all()
    raw = repr(rows)
    assert TOKEN not in raw and "Attic" in raw
    key_file = sqlite_container.settings.data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    info = await sqlite_container.media_servers.test(created.json()["id"])  # decrypts
    assert info.name == "Attic Plex"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"kind": "plex", "name": "A", "url": "ftp://h", "token": TOKEN}, "http:// or https://"),
        (
            {"kind": "plex", "name": "A", "url": f"http://u:{TOKEN}@h", "token": TOKEN},
            "must not contain credentials",
        ),
        (
            {"kind": "plex", "name": "A", "url": f"http://h/?X-Plex-Token={TOKEN}", "token": TOKEN},
            "must not contain credentials",
        ),
        ({"kind": "kodi", "name": "A", "url": "http://h", "token": TOKEN}, "kind"),
    ],
)
async def test_invalid_sources_are_refused_without_echoing_the_token(
    sqlite_container: Container, body: dict[str, str], fragment: str
) -> None:
    async with open_client(sqlite_container) as client:
        response = await client.post("/api/media-sources", json=body)
    problem = assert_problem(response, 422)
    assert fragment in response.text
    assert TOKEN not in response.text
    assert problem["status"] == 422


async def test_deleting_a_source_deletes_its_libraries(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    async with open_client(sqlite_container) as client:
        created = (
            await client.post(
                "/api/media-sources",
                json={"kind": "plex", "name": "Attic", "url": server.url, "token": TOKEN},
            )
        ).json()
        await client.post(
            f"/api/media-sources/{created['id']}/libraries", json={"libraries": [movies.key]}
        )
        gone = await client.delete(f"/api/media-sources/{created['id']}")
        assert gone.status_code == 204
        assert (await client.get("/api/libraries")).json() == []
        assert_problem(await client.get(f"/api/media-sources/{created['id']}"), 404)


async def test_a_new_token_and_a_renamed_server_library_take_effect(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    async with open_client(sqlite_container) as client:
        body = {"kind": "plex", "name": "Attic", "url": server.url, "token": TOKEN}
        source = (await client.post("/api/media-sources", json=body)).json()
        (library,) = (
            await client.post(
                f"/api/media-sources/{source['id']}/libraries", json={"libraries": [movies.key]}
            )
        ).json()
        fake.token = "rotated-token-1234"
        assert_problem(await client.post(f"/api/media-sources/{source['id']}/test"), 503)
        update = {"name": "Attic", "url": server.url, "token": "rotated-token-1234"}
        updated = await client.put(f"/api/media-sources/{source['id']}", json=update)
        assert updated.status_code == 200, updated.text
        assert "rotated-token-1234" not in updated.text
        tested = await client.post(f"/api/media-sources/{source['id']}/test")
        assert tested.status_code == 200, tested.text

        edit = {"name": "Films", "kind": "movies", "paths": ["/ignored"]}
        renamed = await client.put(f"/api/libraries/{library['id']}", json=edit)
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["name"], renamed.json()["paths"]) == ("Films", ["/data/Movies"])

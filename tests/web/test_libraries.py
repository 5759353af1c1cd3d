"""``/api/libraries``: creating, checking, scanning and deleting libraries (SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from exstreamtv.services.container import Container, open_container
from tests.support import noise
from tests.web.client import assert_problem, create_and_scan, open_client
from tests.web.conftest import SettingsFactory

Place = Callable[[Path, float], Path]


async def test_scanned_library_lists_items_with_durations_and_episode_numbers(
    client: httpx.AsyncClient, scanned: int
) -> None:
    page = (await client.get("/api/media", params={"library_id": scanned})).json()
    by_title = {item["title"]: item for item in page["items"]}
    assert page["total"] == 5
    assert abs(by_title["Big Movie"]["duration_ms"] - 3000) <= 100
    assert abs(by_title["Start"]["duration_ms"] - 1000) <= 100
    title = by_title["Title"]
    assert (title["kind"], title["show"], title["season"], title["episode"]) == (
        "episode",
        "Show",
        1,
        2,
    )
    assert (title["video_codec"], title["width"], title["height"]) == ("h264", 160, 120)
    assert title["metadata"]["status"] == "ok"


async def test_corrupt_and_empty_files_are_failed_with_a_reason_and_the_scan_completes(
    client: httpx.AsyncClient, sqlite_container: Container, media_dir: Path
) -> None:
    (media_dir / "broken.mp4").write_bytes(noise(4096))
    (media_dir / "empty.mkv").touch()
    library_id = await create_and_scan(client, sqlite_container, media_dir)
    progress = (await client.get(f"/api/libraries/{library_id}/scan")).json()
    assert progress["status"] == "completed"
    assert progress["counts"]["failed"] == 2
    failed = (await client.get("/api/media", params={"status": "failed"})).json()["items"]
    assert sorted(Path(item["path"]).name for item in failed) == ["broken.mp4", "empty.mkv"]
    assert all(item["metadata"]["reason"] and item["duration_ms"] == 0 for item in failed)


async def test_symlink_loop_is_reported_as_a_scan_problem(
    client: httpx.AsyncClient, sqlite_container: Container, media_dir: Path
) -> None:
    (media_dir / "Show" / "loop").symlink_to(media_dir)
    library_id = await create_and_scan(client, sqlite_container, media_dir)
    problems = (await client.get(f"/api/libraries/{library_id}/problems")).json()
    assert [p["path"] for p in problems] == [str(media_dir / "Show" / "loop")]
    assert "loop" in problems[0]["reason"]


@pytest.mark.parametrize(
    ("make_path", "reason"),
    [
        (lambda tmp: str(tmp / "absent"), "does not exist"),
        (lambda tmp: str(tmp / "file.txt"), "is not a folder"),
        (lambda _tmp: "relative/folder", "must be absolute"),
    ],
)
async def test_bad_library_path_is_a_422_naming_the_reason_and_nothing_is_stored(
    client: httpx.AsyncClient, tmp_path: Path, make_path: Callable[[Path], str], reason: str
) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    response = await client.post(
        "/api/libraries", json={"name": "Bad", "paths": [make_path(tmp_path)]}
    )
    assert reason in str(assert_problem(response, 422)["detail"])
    assert (await client.get("/api/libraries")).json() == []


async def test_library_body_with_an_unknown_field_is_a_422_naming_it(
    client: httpx.AsyncClient, media_dir: Path
) -> None:
    body = {"name": "A", "paths": [str(media_dir)], "recursive": True}
    problem = assert_problem(await client.post("/api/libraries", json=body), 422)
    assert problem["errors"] == [{"loc": "body.recursive", "message": "unknown field"}]


async def test_two_concurrent_scan_requests_start_exactly_one_scan(
    client: httpx.AsyncClient, sqlite_container: Container, media_dir: Path
) -> None:
    created = await client.post("/api/libraries", json={"name": "M", "paths": [str(media_dir)]})
    url = f"/api/libraries/{created.json()['id']}/scan"
    first, second = await asyncio.gather(client.post(url), client.post(url))
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    conflict = first if first.status_code == 409 else second
    assert "already being scanned" in str(assert_problem(conflict, 409)["detail"])
    await sqlite_container.libraries.wait(created.json()["id"])


async def test_scan_progress_is_404_with_a_reason_before_the_first_scan(
    client: httpx.AsyncClient, media_dir: Path
) -> None:
    created = await client.post("/api/libraries", json={"name": "M", "paths": [str(media_dir)]})
    response = await client.get(f"/api/libraries/{created.json()['id']}/scan")
    assert "has not been scanned" in str(assert_problem(response, 404)["detail"])


async def test_scanning_an_unknown_library_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/libraries/999/scan"), 404)
    assert_problem(await client.get("/api/libraries/999/problems"), 404)


async def test_library_is_renamed_and_its_new_paths_are_checked(
    client: httpx.AsyncClient, scanned: int, tmp_path: Path, media_dir: Path
) -> None:
    url = f"/api/libraries/{scanned}"
    bad = await client.put(url, json={"name": "X", "paths": [str(tmp_path / "gone")]})
    assert_problem(bad, 422)
    renamed = await client.put(
        url, json={"name": "Renamed", "kind": "shows", "paths": [str(media_dir)]}
    )
    assert renamed.status_code == 200
    got = (await client.get(url)).json()
    assert (got["name"], got["kind"], got["scan"]["status"]) == ("Renamed", "shows", "completed")
    assert got["last_scan_at"].endswith("Z")


async def test_library_names_are_unique(client: httpx.AsyncClient, media_dir: Path) -> None:
    body = {"name": "Same", "paths": [str(media_dir)]}
    assert (await client.post("/api/libraries", json=body)).status_code == 201
    assert_problem(await client.post("/api/libraries", json=body), 409)


async def test_deleting_a_library_declared_in_the_config_is_a_409(
    make_settings: SettingsFactory, media_dir: Path
) -> None:
    settings = make_settings(libraries=[{"name": "Declared", "paths": [str(media_dir)]}])
    async with open_container(settings) as container, open_client(container) as client:
        assert await container.libraries.ensure_configured() == []
        (library,) = (await client.get("/api/libraries")).json()
        response = await client.delete(f"/api/libraries/{library['id']}")
        assert "config file" in str(assert_problem(response, 409)["detail"])
        assert (await client.get(f"/api/libraries/{library['id']}")).json()["managed_by_config"]


async def test_deleted_library_is_gone(client: httpx.AsyncClient, scanned: int) -> None:
    response = await client.delete(f"/api/libraries/{scanned}")
    assert (response.status_code, response.content) == (204, b"")
    assert_problem(await client.get(f"/api/libraries/{scanned}"), 404)
    assert_problem(await client.delete(f"/api/libraries/{scanned}"), 404)

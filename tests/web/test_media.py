"""``/api/media``: filters, pagination and hostile input (SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest

from exstreamtv.services.container import Container
from tests.web.client import assert_problem, create_and_scan

ODD_TITLE = '100% Pure_Fun "Quoted" it\'s 🎬'


async def titles(client: httpx.AsyncClient, **params: str | int) -> list[str]:
    page = (await client.get("/api/media", params=params)).json()
    return [item["title"] for item in page["items"]]


@pytest.mark.usefixtures("scanned")
async def test_media_filters_by_kind_show_status_and_text(client: httpx.AsyncClient) -> None:
    assert await titles(client, kind="movie") == ["Big Movie"]
    assert await titles(client, show="show") == ["Pilot", "Title", "Return"]
    assert await titles(client, kind="episode", q="start") == ["Start"]
    assert await titles(client, status="failed") == []
    assert await titles(client, state="missing") == []
    assert len(await titles(client, status="ok", state="present")) == 5


@pytest.mark.usefixtures("scanned")
async def test_media_pages_report_total_offset_and_limit(client: httpx.AsyncClient) -> None:
    everything = await titles(client)
    page = (await client.get("/api/media", params={"offset": 1, "limit": 2})).json()
    assert (page["total"], page["offset"], page["limit"]) == (5, 1, 2)
    assert [item["title"] for item in page["items"]] == everything[1:3]
    last = (await client.get("/api/media", params={"offset": 4, "limit": 2})).json()
    assert [item["title"] for item in last["items"]] == everything[4:]
    beyond = (await client.get("/api/media", params={"offset": 50})).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)


async def test_media_item_is_fetched_by_id_and_unknown_ids_are_404(
    client: httpx.AsyncClient, scanned: int
) -> None:
    (first, *_) = (await client.get("/api/media", params={"library_id": scanned})).json()["items"]
    assert (await client.get(f"/api/media/{first['id']}")).json() == first
    assert_problem(await client.get("/api/media/424242"), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 10**9},
        {"limit": 0},
        {"offset": -1},
        {"offset": 10**30},
        {"library_id": 10**30},
        {"kind": "cartoon"},
        {"q": "x" * 1000},
    ],
)
async def test_hostile_listing_parameters_are_a_422(
    client: httpx.AsyncClient, params: dict[str, int | str]
) -> None:
    problem = assert_problem(await client.get("/api/media", params=params), 422)
    (name,) = params
    assert [error["loc"] for error in problem["errors"]] == [f"query.{name}"]


@pytest.mark.parametrize(
    "path",
    ["/api/media/0", f"/api/media/{10**30}", f"/api/libraries/{2**31}", "/api/collections/-1"],
)
async def test_out_of_range_ids_in_paths_are_a_422(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 422)


async def test_text_search_matches_wildcards_quotes_and_emoji_literally(
    client: httpx.AsyncClient,
    sqlite_container: Container,
    tmp_path: Path,
    place_clip: Callable[[Path, float], Path],
) -> None:
    folder = tmp_path / "odd"
    for name, title in (("Odd", ODD_TITLE), ("Plain", "100 Pure Fun Quoted its")):
        place_clip(folder / name / f"{name}.mp4", 1.0)
        nfo = f"<movie><title>{escape(title)}</title></movie>"
        (folder / name / f"{name}.nfo").write_text(nfo, encoding="utf-8")
    await create_and_scan(client, sqlite_container, folder)
    for needle in ("100%", "%", "e_F", "_", '"Quoted"', "it's", "🎬", "PURE_fun"):
        assert await titles(client, q=needle) == [ODD_TITLE], needle
    assert len(await titles(client, q="pure")) == 2

"""``/api/collections``: kinds, their validation, items and previews (SQLite)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.client import assert_problem

pytestmark = pytest.mark.usefixtures("scanned")


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/collections", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def item_titles(client: httpx.AsyncClient, collection_id: int, **params: int) -> list[str]:
    page = (await client.get(f"/api/collections/{collection_id}/items", params=params)).json()
    return [item["title"] for item in page["items"]]


async def test_show_collection_holds_the_shows_episodes_in_season_episode_order(
    client: httpx.AsyncClient,
) -> None:
    show = await create(client, name="All of Show", kind="show", show="Show")
    assert await item_titles(client, show["id"]) == ["Pilot", "Title", "Return"]
    season = await create(client, name="Show S1", kind="season", show="Show", season=1)
    assert await item_titles(client, season["id"]) == ["Pilot", "Title"]
    page = (await client.get(f"/api/collections/{show['id']}/items", params={"limit": 1})).json()
    assert (page["total"], [i["title"] for i in page["items"]]) == (3, ["Pilot"])


async def made_by_hand(client: httpx.AsyncClient) -> list[str]:
    listed = (await client.get("/api/collections")).json()
    return [c["name"] for c in listed if not c["automatic"]]


async def test_smart_preview_returns_matches_their_count_and_duration_without_saving(
    client: httpx.AsyncClient,
) -> None:
    query = {"kinds": ["episode"], "text": "sho"}  # a word prefix of "Show" and "Other Show"
    page = (await client.post("/api/collections/preview", json=query)).json()
    assert [i["title"] for i in page["items"]] == ["Start", "Pilot", "Title", "Return"]
    assert page["total"] == 4
    assert page["duration_ms"] == pytest.approx(7000, abs=400)  # 1 s + 3 x 2 s
    second = await client.post("/api/collections/preview", params={"offset": 3}, json=query)
    assert [i["title"] for i in second.json()["items"]] == ["Return"]
    assert (second.json()["total"], await made_by_hand(client)) == (4, [])


async def test_smart_collection_keeps_its_query_and_follows_it(client: httpx.AsyncClient) -> None:
    query = {"kinds": ["movie"], "year_min": 2019, "year_max": 2021}
    smart = await create(client, name="Recent films", kind="smart", query=query)
    fetched = (await client.get(f"/api/collections/{smart['id']}")).json()
    assert fetched["query"]["kinds"] == ["movie"]
    assert fetched["query"]["year_min"] == 2019
    assert await item_titles(client, smart["id"]) == ["Big Movie"]


async def test_manual_collection_keeps_the_given_order(client: httpx.AsyncClient) -> None:
    items = (await client.get("/api/media")).json()["items"]
    chosen = [items[3]["id"], items[0]["id"]]
    manual = await create(client, name="Picks", kind="manual", item_ids=chosen)
    assert manual["item_ids"] == chosen
    assert await item_titles(client, manual["id"]) == [items[3]["title"], items[0]["title"]]
    unknown = await client.post(
        "/api/collections", json={"name": "Bad", "kind": "manual", "item_ids": [99999]}
    )
    assert "do not exist" in assert_problem(unknown, 422)["detail"]


@pytest.mark.parametrize(
    ("body", "needs"),
    [
        ({"kind": "show"}, "needs 'show'"),
        ({"kind": "season", "show": "Show"}, "needs 'season'"),
        ({"kind": "smart"}, "needs 'query'"),
        ({"kind": "show", "show": "Show", "item_ids": [1]}, "'item_ids'"),
        ({"kind": "manual", "query": {}}, "'query'"),
        ({"kind": "smart", "query": {"colour": "red"}}, "unknown field"),
        ({"kind": "playlist"}, "manual"),
    ],
)
async def test_collection_that_does_not_fit_its_kind_is_a_422_saying_why(
    client: httpx.AsyncClient, body: dict[str, Any], needs: str
) -> None:
    response = await client.post("/api/collections", json={"name": "C", **body})
    assert needs in assert_problem(response, 422)["detail"]


async def test_collections_are_updated_deleted_and_unique_by_name(
    client: httpx.AsyncClient,
) -> None:
    first = await create(client, name="One", kind="show", show="Show")
    await create(client, name="Two", kind="show", show="Other Show")
    url = f"/api/collections/{first['id']}"
    assert_problem(await client.put(url, json={"name": "Two", "kind": "show", "show": "X"}), 409)
    moved = await client.put(
        url, json={"name": "One", "kind": "season", "show": "Show", "season": 2}
    )
    assert moved.json()["season"] == 2
    assert await item_titles(client, first["id"]) == ["Return"]
    assert (await client.delete(url)).status_code == 204
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(f"{url}/items"), 404)
    assert await made_by_hand(client) == ["Two"]

"""End to end through HTTP on SQLite and PostgreSQL: library, scan, media, collections,
channels."""

from __future__ import annotations

from pathlib import Path

import httpx

from exstreamtv.services.container import Container
from tests.web.client import open_client


async def test_library_scan_media_collections_and_channels_work_together(
    container: Container, media_dir: Path
) -> None:
    async with open_client(container) as client:
        assert await flow(client, container, media_dir) == 0


async def flow(client: httpx.AsyncClient, container: Container, media_dir: Path) -> int:
    """Walk the API from a new library to channels; returns the media total at the end."""
    created = await client.post("/api/libraries", json={"name": "TV", "paths": [str(media_dir)]})
    assert created.status_code == 201
    library_id = created.json()["id"]
    assert (await client.post(f"/api/libraries/{library_id}/scan")).status_code == 202
    await container.libraries.wait(library_id)

    progress = (await client.get(f"/api/libraries/{library_id}/scan")).json()
    assert progress["status"] == "completed"
    assert progress["counts"]["added"] == 5
    assert progress["percent"] == 100.0
    assert progress["finished_at"].endswith("Z")

    episodes = (await client.get("/api/media", params={"show": "Show"})).json()
    assert [(i["season"], i["episode"]) for i in episodes["items"]] == [(1, 1), (1, 2), (2, 1)]
    assert all(abs(i["duration_ms"] - 2000) <= 100 for i in episodes["items"])

    smart = {"name": "Movies", "kind": "smart", "query": {"kinds": ["movie"]}}
    collection = (await client.post("/api/collections", json=smart)).json()
    items = (await client.get(f"/api/collections/{collection['id']}/items")).json()
    assert [i["title"] for i in items["items"]] == ["Big Movie"]

    channel = {"number": "5.1", "name": "Movies", "group": "Films"}
    assert (await client.post("/api/channels", json=channel)).status_code == 201
    assert (await client.get("/api/channels/5.1")).json()["name"] == "Movies"
    assert (await client.post("/api/channels", json=channel)).status_code == 409
    assert (await client.delete(f"/api/collections/{collection['id']}")).status_code == 204
    assert (await client.delete(f"/api/libraries/{library_id}")).status_code == 204
    return int((await client.get("/api/media")).json()["total"])

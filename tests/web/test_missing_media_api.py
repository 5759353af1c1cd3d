"""A file deleted from a library while a channel plays it later: after a rescan the guide
no longer lists it in the future and ``/playout/info`` names it (real files, real scan,
real HTTP; SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from exstreamtv.services.container import Container, open_container
from tests.lineups import parse_guide
from tests.web.client import create_and_scan, open_client
from tests.web.conftest import SettingsFactory

TITLES = ("Alpha", "Bravo", "Charlie")


def listed_from(xml: bytes, title: str, moment: datetime) -> list[str]:
    """Start times of the programmes titled ``title`` that start at or after ``moment``."""
    _, programmes = parse_guide(xml)
    floor = moment.strftime("%Y%m%d%H%M%S +0000")
    return [p.start for p in programmes if p.title == title and p.start >= floor]


async def test_a_deleted_file_leaves_the_guide_and_is_named_in_playout_info(
    make_settings: SettingsFactory, tmp_path: Path, place_clip: Callable[[Path, float], Path]
) -> None:
    folder = tmp_path / "movies"
    for year, title in enumerate(TITLES, start=2001):
        place_clip(folder / f"{title} ({year}).mp4", 2.0)
    settings = make_settings(playout={"horizon_hours": 1}, epg={"cache_ttl_sec": 600})
    async with open_container(settings) as container, open_client(container) as client:
        await on_air(client, container, folder)
        before = (await client.get("/iptv/xmltv.xml")).content
        assert listed_from(before, "Charlie", datetime.now(UTC))  # on later, and cached

        (folder / "Charlie (2003).mp4").unlink()
        await client.post("/api/libraries/1/scan")
        await container.libraries.wait(1)
        rescanned = datetime.now(UTC)

        after = (await client.get("/iptv/xmltv.xml")).content
        assert listed_from(after, "Charlie", rescanned) == []
        assert listed_from(after, "Alpha", rescanned)  # the channel plays on without it
        info = (await client.get("/api/channels/1/playout/info")).json()
        messages = [w["message"] for w in info["warnings"] if w["code"] == "missing_media"]
        assert len(messages) == 1
        assert str(folder / "Charlie (2003).mp4") in messages[0]
        assert "not found by the scan of library 'Movies'" in messages[0]


async def on_air(client: httpx.AsyncClient, container: Container, folder: Path) -> None:
    """Channel 1 playing every movie of ``folder`` in a loop."""
    library = await create_and_scan(client, container, folder, name="Movies")
    media = (await client.get("/api/media", params={"library_id": library})).json()
    ids = [item["id"] for item in media["items"]]
    assert len(ids) == len(TITLES)
    collection = await client.post(
        "/api/collections", json={"name": "Movies", "kind": "manual", "item_ids": ids}
    )
    assert collection.status_code == 201, collection.text
    item = {"source": {"collection_ids": [collection.json()["id"]], "order": "chronological"}}
    schedule = await client.post(
        "/api/schedules", json={"name": "Loop", "kind": "items", "items": [item]}
    )
    assert schedule.status_code == 201, schedule.text
    await client.post("/api/channels", json={"number": "1", "name": "Movies"})
    attached = await client.put(
        "/api/channels/1/schedule", json={"schedule_id": schedule.json()["id"]}
    )
    assert attached.status_code == 200, attached.text

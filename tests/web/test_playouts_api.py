"""``/api/channels/{n}/schedule``, ``/playout``, ``/playout/build``, ``/playout/info`` and
``/now``: the API over the one stored playout."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx

from exstreamtv.domain.playout import Timeline, from_ms, to_ms
from exstreamtv.services.container import Container
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.playouts import PlayoutRepository
from tests.seeding import add_collection, add_show
from tests.web.client import assert_problem, open_client


async def scheduled(client: httpx.AsyncClient, container: Container, **filler: int) -> int:
    """Channel 1 on a schedule playing show A; returns the collection id."""
    collection = await add_collection(container, "A", await add_show(container, "A", [20, 30]))
    item = {"source": {"collection_ids": [collection]}, "filler": filler}
    body = {"name": "A", "kind": "items", "items": [item]}
    schedule = (await client.post("/api/schedules", json=body)).json()
    await client.post("/api/channels", json={"number": "1", "name": "One"})
    attached = await client.put("/api/channels/1/schedule", json={"schedule_id": schedule["id"]})
    assert attached.status_code == 200, attached.text
    assert attached.json()["channel"]["schedule_id"] == schedule["id"]
    assert attached.json()["build"]["mode"] == "reset"
    return collection


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_now_equals_the_timeline_at_several_instants(container: Container) -> None:
    async with open_client(container) as client:
        await scheduled(client, container)
        async with container.sessions() as session:
            channel = (await ChannelRepository(session).all())[0]
            listed = await PlayoutRepository(session).entries(
                channel.id, from_ms(0), container.clock.now() + timedelta(days=3)
            )
        timeline = Timeline([item.entry for item in listed])
        first = timeline.entries[0]
        instants = [first.start_ms - 1, first.start_ms, first.start_ms + 1, first.finish_ms - 1,
                    first.finish_ms, timeline.entries[7].start_ms + 123_456,
                    timeline.entries[-1].finish_ms - 1, timeline.entries[-1].finish_ms]  # fmt: skip
        for ms in instants:
            now = (await client.get("/api/channels/1/now", params={"at": iso(from_ms(ms))})).json()
            expected = timeline.at_ms(ms)
            if expected is None:
                assert now["entry"] is None and "offline slate" in now["reason"]
                continue
            entry = now["entry"]
            assert (to_ms(datetime.fromisoformat(entry["start"])), entry["media_id"]) == (
                expected.entry.start_ms, expected.entry.media_id,
            )  # fmt: skip
            assert (now["offset_ms"], now["seek_ms"]) == (expected.offset_ms, expected.seek_ms)
            assert entry["show"] == "A" and entry["title"].startswith("A ")
        current = (await client.get("/api/channels/1/now")).json()
        assert current["entry"] is not None


async def test_playout_window_build_modes_and_info(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    await scheduled(client, sqlite_container)
    window = (await client.get("/api/channels/1/playout")).json()
    assert window and all(a["finish"] == b["start"] for a, b in pairwise(window))
    assert window[0]["start"].endswith("Z") and window[0]["kind"] == "content"
    start = datetime.fromisoformat(window[3]["start"])
    narrow = await client.get(
        "/api/channels/1/playout",
        params={"from": iso(start), "to": iso(start + timedelta(minutes=1))},
    )
    assert narrow.json() == [window[3]]
    for mode, removed in (("continue", 0), ("refresh", None), ("reset", None)):
        built = await client.post("/api/channels/1/playout/build", params={"mode": mode})
        assert built.status_code == 200, built.text
        assert built.json()["mode"] == mode
        assert removed is None or built.json()["removed"] == removed
    info = (await client.get("/api/channels/1/playout/info")).json()
    assert (info["last_mode"], info["warnings"]) == ("reset", [])
    assert info["entry_count"] > 100 and info["last_finish"] > window[-1]["finish"]


async def test_playout_requests_that_cannot_work_are_problems(client: httpx.AsyncClient) -> None:
    await client.post("/api/channels", json={"number": "2", "name": "Two"})
    problem = assert_problem(await client.post("/api/channels/2/playout/build"), 409)
    assert "no schedule" in problem["detail"]
    bad_mode = assert_problem(await client.post("/api/channels/2/playout/build?mode=redo"), 422)
    assert bad_mode["errors"][0]["loc"] == "query.mode"
    week = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-09T00:00:00Z"}
    assert (
        "7 days"
        in assert_problem(await client.get("/api/channels/2/playout", params=week), 422)["detail"]
    )
    naive = assert_problem(
        await client.get("/api/channels/2/now", params={"at": "2026-01-01T00:00"}), 422
    )
    assert naive["errors"][0]["loc"] == "query.at"
    unknown = {"schedule_id": 77}
    assert (
        "schedule 77"
        in assert_problem(await client.put("/api/channels/2/schedule", json=unknown), 422)["detail"]
    )
    assert_problem(await client.get("/api/channels/9/now"), 404)
    empty = (await client.get("/api/channels/2/now")).json()
    assert empty["entry"] is None and empty["reason"]


async def test_detaching_keeps_the_airing_programme_and_drops_the_rest(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    await scheduled(client, sqlite_container)
    airing = (await client.get("/api/channels/1/now")).json()["entry"]
    detached = await client.put("/api/channels/1/schedule", json={"schedule_id": None})
    assert detached.json() == {**detached.json(), "build": None}
    assert detached.json()["channel"]["schedule_id"] is None
    left = (await client.get("/api/channels/1/playout")).json()
    assert left == [airing]


async def test_degenerate_schedules_air_fallback_or_offline_with_warnings_in_info(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    ident = await add_collection(
        sqlite_container, "Ident", await add_show(sqlite_container, "I", [1])
    )
    preset = {"name": "Fallback", "kind": "fallback", "collections": [{"collection_id": ident}]}
    fallback = (await client.post("/api/filler-presets", json=preset)).json()["id"]
    collection = await scheduled(client, sqlite_container, fallback=fallback)
    empty = await add_collection(sqlite_container, "Empty", [])
    schedule_id = (await client.get("/api/channels/1")).json()["schedule_id"]
    two = [{"source": {"collection_ids": [collection]}, "filler": {"fallback": fallback}},
           {"source": {"collection_ids": [empty]}}]  # fmt: skip
    body: dict[str, Any] = {"name": "A", "kind": "items", "items": two}
    assert (await client.put(f"/api/schedules/{schedule_id}", json=body)).status_code == 200
    assert (await client.delete(f"/api/collections/{collection}")).status_code == 204
    built = (await client.post("/api/channels/1/playout/build?mode=reset")).json()
    info = (await client.get("/api/channels/1/playout/info")).json()
    codes = {w["code"] for w in info["warnings"]}
    assert (
        codes
        == {"missing_collection", "empty_collection"}
        == {w["code"] for w in built["warnings"]}
    )
    assert any(f"collection {collection}" in w["message"] for w in info["warnings"])
    after = (await client.get("/api/channels/1/playout", params={"from": built["first"]})).json()
    assert {e["kind"] for e in after} <= {"fallback", "offline"}
    assert "fallback" in {e["kind"] for e in after}
    assert (await client.get("/api/channels/1/now")).json()["entry"] is not None

"""``/api/schedules`` and ``/api/filler-presets``: CRUD, validation, previews (SQLite)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from exstreamtv.services.container import Container
from exstreamtv.store.tables import PlayoutEntryRow, PlayoutRow
from tests.seeding import add_collection, add_show
from tests.web.client import assert_problem


async def show_collection(container: Container, name: str = "A") -> int:
    return await add_collection(container, name, await add_show(container, name, [20, 21, 22]))


def slots_body(collection_id: int, **changes: Any) -> dict[str, Any]:
    slot = {"start": "06:00", "source": {"collection_ids": [collection_id]}, "weekdays": [0, 6]}
    return {"name": "Grid", "kind": "slots", "timezone": "Europe/Paris", "seed": 7,
            "slots": [slot], **changes}  # fmt: skip


async def test_filler_presets_are_created_read_updated_and_deleted(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    ident = await show_collection(sqlite_container, "Ident")
    body = {"name": "Bumps", "kind": "tail", "collections": [{"collection_id": ident}],
            "tail_boundary_minutes": 15}  # fmt: skip
    created = await client.post("/api/filler-presets", json=body)
    assert created.status_code == 201, created.text
    preset = created.json()
    assert preset == {
        **body, "id": preset["id"], "collections": [{"collection_id": ident, "weight": 1}],
        "cooldown_minutes": 0, "count": 1, "mid_roll_every_minutes": None,
        "tail_fixed_seconds": None, "cut_to_fit": True,
    }  # fmt: skip
    changed = await client.put(f"/api/filler-presets/{preset['id']}", json={**body, "count": 3})
    assert changed.json()["count"] == 3
    assert [p["name"] for p in (await client.get("/api/filler-presets")).json()] == ["Bumps"]
    missing = {**body, "name": "Other", "collections": [{"collection_id": 999}]}
    problem = assert_problem(await client.post("/api/filler-presets", json=missing), 422)
    assert "collections.0.collection_id: collection 999" in problem["detail"]
    assert (await client.delete(f"/api/filler-presets/{preset['id']}")).status_code == 204
    assert_problem(await client.get(f"/api/filler-presets/{preset['id']}"), 404)


async def test_schedules_round_trip_their_json_and_refuse_deleting_one_in_use(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    collection = await show_collection(sqlite_container)
    created = await client.post("/api/schedules", json=slots_body(collection))
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["slots"][0]["weekdays"] == [0, 6]
    assert schedule["slots"][0]["source"]["order"] == "season_episode"
    assert (await client.get(f"/api/schedules/{schedule['id']}")).json() == schedule
    renamed = await client.put(
        f"/api/schedules/{schedule['id']}", json=slots_body(collection, name="Renamed")
    )
    assert {**renamed.json(), "name": "Grid"} == schedule
    await client.post("/api/channels", json={"number": "4", "name": "Four"})
    body = {"schedule_id": schedule["id"]}
    assert (await client.put("/api/channels/4/schedule", json=body)).status_code == 200
    problem = assert_problem(await client.delete(f"/api/schedules/{schedule['id']}"), 409)
    assert "channel(s) 4" in problem["detail"]
    await client.put("/api/channels/4/schedule", json={"schedule_id": None})
    assert (await client.delete(f"/api/schedules/{schedule['id']}")).status_code == 204


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "body.timezone", "unknown time zone 'Mars/Olympus'"),
        ({"slots": [{"start": "06:00", "source": {"collection_ids": [1]}, "weekdays": [7]}]},
         "body.slots.0.weekdays.0", "less than or equal to 6"),
        ({"slots": [{"start": "24:00", "source": {"collection_ids": [1]}}]},
         "body.slots.0.start", "pattern"),
        ({"slots": []}, "body", "a slots schedule needs 'slots'"),
        ({"items": [{"source": {"collection_ids": [1]}}]}, "body", "has no 'items'"),
        ({"kind": "blocks", "slots": [], "templates": [{"placements": [
            {"start": "08:00", "block_key": "am"}]}], "blocks": [{"key": "am", "name": "AM",
            "minutes": 0, "entries": [{"source": {"collection_ids": [1]}}]}]},
         "body.blocks.0.minutes", "greater than or equal to 1"),
        ({"kind": "items", "slots": [], "items": [
            {"source": {"collection_ids": [1]}, "mode": "duration"}]},
         "body.items.0", "needs 'duration_minutes'"),
        ({"seed": -1}, "body.seed", "greater than or equal to 0"),
    ],
)  # fmt: skip
async def test_invalid_schedules_are_422_problems_naming_the_field(
    client: httpx.AsyncClient, changes: dict[str, Any], loc: str, words: str
) -> None:
    problem = assert_problem(
        await client.post("/api/schedules", json=slots_body(1, **changes)), 422
    )
    assert [e["loc"] for e in problem["errors"]] == [loc]
    assert words in problem["errors"][0]["message"]


async def test_references_to_missing_collections_and_presets_are_422_naming_the_field(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    collection = await show_collection(sqlite_container)
    unknown = slots_body(collection)
    unknown["slots"][0]["source"]["collection_ids"] = [collection, 999]
    problem = assert_problem(await client.post("/api/schedules", json=unknown), 422)
    assert problem["detail"] == "slots.0.source.collection_ids.1: collection 999 does not exist"
    no_preset = slots_body(collection, fallback=55)
    problem = assert_problem(await client.post("/api/schedules", json=no_preset), 422)
    assert problem["detail"] == "fallback: filler preset 55 does not exist"
    assert (await client.get("/api/schedules")).json() == []


async def test_only_a_preset_of_the_fields_kind_fills_it_and_a_used_preset_keeps_its_kind(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    collection = await show_collection(sqlite_container)
    presets = {}
    for kind in ("pre_roll", "tail", "fallback"):
        body = {"name": kind, "kind": kind, "collections": [{"collection_id": collection}]}
        presets[kind] = (await client.post("/api/filler-presets", json=body)).json()["id"]
    as_fallback = slots_body(collection, fallback=presets["pre_roll"])
    problem = assert_problem(await client.post("/api/schedules", json=as_fallback), 422)
    assert problem["detail"] == (
        "fallback: filler preset 'pre_roll' is pre-roll filler; only a fallback preset can go here"
    )
    wrong_row = slots_body(collection)
    wrong_row["slots"][0]["filler"] = {"tail": presets["pre_roll"]}
    problem = assert_problem(await client.post("/api/schedules", json=wrong_row), 422)
    assert problem["detail"].startswith("slots.0.filler.tail: filler preset 'pre_roll'")

    good = slots_body(collection, fallback=presets["fallback"])
    good["slots"][0]["filler"] = {"tail": presets["tail"], "pre_roll": presets["pre_roll"]}
    assert (await client.post("/api/schedules", json=good)).status_code == 201
    retyped = {"name": "tail", "kind": "fallback", "collections": [{"collection_id": collection}]}
    problem = assert_problem(
        await client.put(f"/api/filler-presets/{presets['tail']}", json=retyped), 409
    )
    assert "slots.0.filler.tail" in problem["detail"]


async def test_preview_builds_the_hours_asked_and_saves_nothing(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    collection = await show_collection(sqlite_container)
    body = {"name": "Try", "kind": "items", "items": [{"source": {"collection_ids": [collection]}}]}
    start = "2026-03-02T12:00:00Z"
    preview = await client.post("/api/schedules/preview", params={"hours": 3, "start": start},
                                json=body)  # fmt: skip
    assert preview.status_code == 200, preview.text
    entries = preview.json()["entries"]
    assert entries[0]["start"] == start
    assert entries[-1]["finish"] >= "2026-03-02T15:00:00Z"
    assert all(a["finish"] == b["start"] for a, b in pairwise(entries))
    assert [(e["show"], e["episode"]) for e in entries[:4]] == [
        ("A", 1),
        ("A", 2),
        ("A", 3),
        ("A", 1),
    ]
    assert preview.json()["warnings"] == []
    between = await client.post(
        "/api/schedules/preview", json=body, params={"hours": 1, "start": f"{start[:-1]}.839Z"}
    )
    assert between.json()["entries"][0]["start"] == start  # on the second, as a build starts
    assert (await client.get("/api/schedules")).json() == []
    async with sqlite_container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PlayoutEntryRow)) == 0
        assert await session.scalar(select(func.count()).select_from(PlayoutRow)) == 0
    for hours in (0, 169):
        problem = assert_problem(
            await client.post("/api/schedules/preview", params={"hours": hours}, json=body), 422
        )
        assert problem["errors"][0]["loc"] == "query.hours"
    saved = (await client.post("/api/schedules", json=body)).json()
    again = await client.get(f"/api/schedules/{saved['id']}/preview", params={"start": start})
    assert again.json()["entries"][: len(entries)] == entries  # 24 h by default


async def test_a_preview_of_a_day_of_one_second_clips_lists_a_page_and_draws_a_bar(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    clips = await add_show(sqlite_container, "Clip", [1 / 60] * 3)
    collection = await add_collection(sqlite_container, "Clips", clips)
    body = slots_body(collection, timezone="UTC", slots=[
        {"start": "00:00", "source": {"collection_ids": [collection]}, "mode": "flood"},
        {"start": "12:00", "source": {"collection_ids": [collection]}, "mode": "flood"},
    ])  # fmt: skip
    start = "2026-03-02T00:00:00Z"
    asked = await client.post(
        "/api/schedules/preview", params={"start": start, "limit": 200}, json=body
    )
    assert asked.status_code == 200, asked.text
    preview = asked.json()
    assert preview["total"] == 86_400
    assert len(preview["entries"]) == 200
    assert [e["episode"] for e in preview["entries"][:4]] == [1, 2, 3, 1]
    assert len(preview["overview"]) <= 1001  # what a bar can show, not 86,400 boxes
    assert sum(run["entries"] for run in preview["overview"]) == 86_400
    assert preview["overview"][0]["start"] == start
    assert preview["overview"][-1]["finish"] == "2026-03-03T00:00:00Z"
    assert len(asked.content) < 200_000
    default = await client.post("/api/schedules/preview", params={"start": start}, json=body)
    assert len(default.json()["entries"]) == 10_000  # a page unless more is asked for
    for limit in (0, 100_001):
        problem = assert_problem(
            await client.post("/api/schedules/preview", params={"limit": limit}, json=body), 422
        )
        assert problem["errors"][0]["loc"] == "query.limit"


async def test_a_run_of_one_entry_in_the_overview_carries_that_entry(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    collection = await show_collection(sqlite_container)
    body = {"name": "Try", "kind": "items", "items": [{"source": {"collection_ids": [collection]}}]}
    preview = (await client.post("/api/schedules/preview", params={"hours": 3}, json=body)).json()
    runs = preview["overview"]
    assert preview["total"] == len(preview["entries"]) == len(runs)  # each 20 min: a run each
    assert [run["entry"] for run in runs] == preview["entries"]
    assert [run["entries"] for run in runs] == [1] * len(runs)

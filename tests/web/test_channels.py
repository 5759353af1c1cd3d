"""``/api/channels``: channels addressed by number (SQLite)."""

from __future__ import annotations

import httpx
import pytest

from tests.web.client import assert_problem


async def test_channels_are_created_listed_in_number_order_updated_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    for number, name in (("10", "Ten"), ("5.1", "Five point one"), ("5", "Five")):
        created = await client.post("/api/channels", json={"number": number, "name": name})
        assert created.status_code == 201
    listed = (await client.get("/api/channels")).json()
    assert [c["number"] for c in listed] == ["5", "5.1", "10"]
    assert listed[0] == {
        "id": listed[0]["id"],
        "number": "5",
        "name": "Five",
        "group": None,
        "logo": None,
        "enabled": True,
        "stream_profile_id": None,
        "schedule_id": None,
        "watermark": None,
    }
    moved = await client.put(
        "/api/channels/5.1", json={"number": "6", "name": "Six", "enabled": False}
    )
    assert (moved.json()["number"], moved.json()["enabled"]) == ("6", False)
    assert_problem(await client.get("/api/channels/5.1"), 404)
    assert (await client.delete("/api/channels/6")).status_code == 204
    assert [c["number"] for c in (await client.get("/api/channels")).json()] == ["5", "10"]


async def test_channel_number_is_stored_in_canonical_form(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/channels", json={"number": " 007.2", "name": "Bond"})
    assert created.json()["number"] == "7.2"
    assert (await client.get("/api/channels/07.2")).json()["name"] == "Bond"


@pytest.mark.parametrize("number", ["abc", "0", "5.1.2", "-3", "", "123456"])
async def test_invalid_channel_number_is_a_422_in_body_and_path(
    client: httpx.AsyncClient, number: str
) -> None:
    problem = assert_problem(
        await client.post("/api/channels", json={"number": number, "name": "X"}), 422
    )
    assert problem["errors"][0]["loc"] == "body.number"
    if number:
        assert (
            "channel number"
            in assert_problem(await client.get(f"/api/channels/{number}"), 422)["detail"]
        )


async def test_duplicate_channel_number_is_a_409(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/api/channels", json={"number": "3", "name": "A"})
    ).status_code == 201
    problem = assert_problem(
        await client.post("/api/channels", json={"number": "3", "name": "B"}), 409
    )
    assert "already in use" in problem["detail"]
    await client.post("/api/channels", json={"number": "4", "name": "C"})
    assert_problem(await client.put("/api/channels/4", json={"number": "3", "name": "C"}), 409)


async def test_unknown_channel_is_a_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/channels/42"), 404)
    assert_problem(await client.put("/api/channels/42", json={"number": "42", "name": "X"}), 404)
    assert_problem(await client.delete("/api/channels/42"), 404)


async def test_channel_body_errors_name_the_field(client: httpx.AsyncClient) -> None:
    body = {"number": "8", "name": "X", "colour": "red"}
    problem = assert_problem(await client.post("/api/channels", json=body), 422)
    assert problem["errors"] == [{"loc": "body.colour", "message": "unknown field"}]
    no_name = assert_problem(await client.post("/api/channels", json={"number": "8"}), 422)
    assert no_name["errors"][0]["loc"] == "body.name"
    profile = {"number": "8", "name": "X", "stream_profile_id": 77}
    missing = assert_problem(await client.post("/api/channels", json=profile), 422)
    assert "stream profile 77" in missing["detail"]

"""``/api/stream-profiles`` and the profile and watermark of ``/api/channels`` (SQLite)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from exstreamtv.domain.profiles import DEFAULT_PROFILE
from exstreamtv.services.container import Container, start_up
from tests.web.client import assert_problem

SMALL = {"name": "Small", "width": 640, "height": 360, "video_bitrate_kbps": 800}
# A real 1x1 PNG (logo uploads may be decoded, so no bare signature).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)
JSON = {"content-type": "application/json"}
HOSTILE_NAME = "Nachrichten · ニュース 📺 <script>alert(1)</script> '; DROP TABLE x; --"


def field_of(problem: dict[str, Any]) -> list[str]:
    return [error["loc"] for error in problem["errors"]]


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    created = await client.post("/api/stream-profiles", json={**SMALL, **body})
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


async def test_the_builtin_default_is_listed_with_the_builtin_values(
    client: httpx.AsyncClient,
) -> None:
    (default,) = (await client.get("/api/stream-profiles")).json()
    assert default["default"] is True
    assert (default["name"], default["width"], default["height"], default["video_encoder"]) == (
        DEFAULT_PROFILE.name, DEFAULT_PROFILE.width, DEFAULT_PROFILE.height, "libx264",
    )  # fmt: skip


async def test_a_profile_is_created_read_replaced_and_deleted(client: httpx.AsyncClient) -> None:
    created = await create(client, name=HOSTILE_NAME, fps=29.97, audio_channels=1)
    assert created["name"] == HOSTILE_NAME  # stored and returned exactly, any script
    assert (created["width"], created["fps"], created["audio_channels"]) == (640, 29.97, 1)
    assert created["default"] is False
    path = f"/api/stream-profiles/{created['id']}"
    assert (await client.get(path)).json() == created
    replaced = await client.put(path, json={"name": "Small", "mode": "copy", "width": 1920,
                                            "height": 1080})  # fmt: skip
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["mode"], replaced.json()["width"]) == ("copy", 1920)
    assert replaced.json()["video_bitrate_kbps"] == DEFAULT_PROFILE.video_bitrate_kbps
    assert (await client.delete(path)).status_code == 204
    assert_problem(await client.get(path), 404)
    assert_problem(await client.delete(path), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"width": 641}, "body.width"),
        ({"height": 8}, "body.height"),
        ({"width": 10**30}, "body.width"),
        ({"width": True}, "body.width"),
        ({"width": 640.5}, "body.width"),
        ({"fps": 1000}, "body.fps"),
        ({"fps": 0}, "body.fps"),
        ({"video_bitrate_kbps": 10**12}, "body.video_bitrate_kbps"),
        ({"audio_bitrate_kbps": 8}, "body.audio_bitrate_kbps"),
        ({"sample_rate": 22050}, "body.sample_rate"),
        ({"audio_channels": 6}, "body.audio_channels"),
        ({"gop_seconds": 0}, "body.gop_seconds"),
        ({"mode": "passthrough"}, "body.mode"),
        ({"video_encoder": "h265_magic"}, "body.video_encoder"),
        ({"audio_codec": "mp3"}, "body.audio_codec"),
        ({"preset": "fast -y /etc/passwd"}, "body.preset"),
        ({"preset": "x" * 10_000}, "body.preset"),
        ({"loudnorm": "maybe"}, "body.loudnorm"),
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "bad\x00name"}, "body.name"),
        ({"name": "two\nlines"}, "body.name"),
        ({"name": "c1\x85control"}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
async def test_an_invalid_field_is_a_422_naming_it(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(await client.post("/api/stream-profiles", json={**SMALL, **body}), 422)
    assert field_of(problem) == [field]
    assert len((await client.get("/api/stream-profiles")).json()) == 1  # nothing was stored


async def test_rules_across_fields_and_odd_widths_say_why(client: httpx.AsyncClient) -> None:
    odd = assert_problem(
        await client.post("/api/stream-profiles", json={**SMALL, "width": 641}), 422
    )
    assert "even" in odd["errors"][0]["message"]
    both = {**SMALL, "mode": "copy", "loudnorm": True}
    problem = assert_problem(await client.post("/api/stream-profiles", json=both), 422)
    assert "copy mode" in problem["detail"]


async def test_a_taken_name_is_a_409(client: httpx.AsyncClient) -> None:
    await create(client)
    assert_problem(await client.post("/api/stream-profiles", json=SMALL), 409)


async def test_the_default_moves_but_is_never_deleted_or_unset(client: httpx.AsyncClient) -> None:
    (builtin,) = (await client.get("/api/stream-profiles")).json()
    builtin_path = f"/api/stream-profiles/{builtin['id']}"
    problem = assert_problem(await client.delete(builtin_path), 409)
    assert "default" in problem["detail"]
    unset = {"name": builtin["name"], "default": False}
    assert "default" in assert_problem(await client.put(builtin_path, json=unset), 422)["detail"]

    small = await create(client, default=True)
    assert small["default"] is True
    listed = {p["id"]: p["default"] for p in (await client.get("/api/stream-profiles")).json()}
    assert listed == {builtin["id"]: False, small["id"]: True}
    assert (await client.delete(builtin_path)).status_code == 204  # no longer the default
    kept = await client.put(f"/api/stream-profiles/{small['id']}", json={"name": "Renamed"})
    assert kept.json()["default"] is True  # omitting "default" leaves it


async def test_a_profile_that_channels_use_cannot_be_deleted_and_the_409_names_them(
    client: httpx.AsyncClient,
) -> None:
    small = await create(client)
    for number in ("21", "4"):
        body = {"number": number, "name": f"Ch {number}", "stream_profile_id": small["id"]}
        created = await client.post("/api/channels", json=body)
        assert created.json()["stream_profile_id"] == small["id"]
    path = f"/api/stream-profiles/{small['id']}"
    problem = assert_problem(await client.delete(path), 409)
    assert "4, 21" in problem["detail"]
    for number in ("21", "4"):
        await client.put(f"/api/channels/{number}", json={"number": number, "name": "Moved"})
    assert (await client.delete(path)).status_code == 204


async def test_a_channel_naming_a_missing_profile_is_a_422(client: httpx.AsyncClient) -> None:
    body = {"number": "5", "name": "Five", "stream_profile_id": 999}
    problem = assert_problem(await client.post("/api/channels", json=body), 422)
    assert "stream_profile_id" in problem["detail"] and "999" in problem["detail"]
    bad_id = assert_problem(
        await client.post("/api/channels", json={**body, "stream_profile_id": 2**40}), 422
    )
    assert field_of(bad_id) == ["body.stream_profile_id"]


DEFAULT_MARK = {
    "corner": "bottom_right", "opacity": 1.0, "image": None, "size_percent": None,
    "margin_x_percent": None, "margin_y_percent": None, "mode": "always",
    "every_minutes": None, "for_seconds": None,
}  # fmt: skip


async def test_a_watermark_is_stored_and_validated(client: httpx.AsyncClient) -> None:
    body = {"number": "5", "name": "Five", "watermark": {"corner": "top_left", "opacity": 0.5}}
    created = await client.post("/api/channels", json=body)
    assert created.json()["watermark"] == {**DEFAULT_MARK, "corner": "top_left", "opacity": 0.5}
    for mark in (
        {"corner": "middle"}, {"opacity": 0}, {"opacity": 1.5}, {"opacity": "x"},
        {"size_percent": 0}, {"size_percent": 101}, {"margin_x_percent": -1},
        {"margin_y_percent": 51}, {"mode": "intermittent"}, {"mode": "sometimes"},
        {"mode": "intermittent", "every_minutes": 1, "for_seconds": 60},
        {"mode": "intermittent", "every_minutes": 0, "for_seconds": 5},
        {"image": "../../etc/passwd"}, {"image": "/etc/passwd"}, {"image": "up/../x.png"},
        {"image": "a" * 201}, {"size_percent": float("nan")},
    ):  # fmt: skip
        again = {**body, "number": "6", "watermark": mark}
        response = await client.post("/api/channels", content=_json(again), headers=JSON)
        problem = assert_problem(response, 422)
        assert field_of(problem)[0].startswith("body.watermark"), mark
    off = await client.put("/api/channels/5", json={"number": "5", "name": "Five"})
    assert off.json()["watermark"] is None


def _json(body: dict[str, Any]) -> str:
    """JSON that may carry NaN (as the literal a hostile client would send)."""
    return json.dumps(body, allow_nan=True)


async def test_every_watermark_setting_round_trips_and_a_patch_keeps_what_it_does_not_name(
    client: httpx.AsyncClient,
) -> None:
    uploaded = await client.post("/api/logos", files={"file": ("w.png", PNG, "image/png")})
    image = uploaded.json()["logo"]
    mark = {
        "corner": "top_right", "opacity": 0.7, "image": image, "size_percent": 12.5,
        "margin_x_percent": 3, "margin_y_percent": 4.5, "mode": "intermittent",
        "every_minutes": 10, "for_seconds": 30,
    }  # fmt: skip
    body = {"number": "5", "name": "Five", "group": "News", "logo": image, "watermark": mark}
    created = (await client.post("/api/channels", json=body)).json()
    assert created["watermark"] == mark
    renamed = await client.patch("/api/channels/5", json={"name": "Five HD"})
    assert renamed.status_code == 200, renamed.text
    assert {**created, "name": "Five HD"} == renamed.json()
    moved = (await client.patch("/api/channels/5", json={"number": "5.1", "group": None})).json()
    assert (moved["number"], moved["group"], moved["watermark"]) == ("5.1", None, mark)
    always = {**mark, "mode": "always"}
    steady = (await client.patch("/api/channels/5.1", json={"watermark": always})).json()
    assert steady["watermark"] == {**always, "every_minutes": None, "for_seconds": None}
    cleared = (await client.patch("/api/channels/5.1", json={"watermark": None})).json()
    assert (cleared["watermark"], cleared["logo"]) == (None, image)
    for bad in ({"name": None}, {"number": None}, {"enabled": None}, {"number": "0"}, {"x": 1}):
        assert_problem(await client.patch("/api/channels/5.1", json=bad), 422)
    assert_problem(await client.patch("/api/channels/9", json={"name": "Nine"}), 404)


async def test_a_watermark_and_a_copy_profile_are_refused_together(
    client: httpx.AsyncClient,
) -> None:
    copy = await create(client, name="Remux", mode="copy")
    mark = {"corner": "bottom_right", "opacity": 1}
    body = {"number": "5", "name": "Five", "stream_profile_id": copy["id"], "watermark": mark}
    problem = assert_problem(await client.post("/api/channels", json=body), 422)
    assert "copy mode" in problem["detail"]

    small = await create(client)
    marked = {**body, "stream_profile_id": small["id"]}
    assert (await client.post("/api/channels", json=marked)).status_code == 201
    to_copy = {**SMALL, "mode": "copy"}
    path = f"/api/stream-profiles/{small['id']}"
    problem = assert_problem(await client.put(path, json=to_copy), 422)
    assert "5" in problem["detail"] and "watermark" in problem["detail"]
    # the default profile serves channels that name none
    (builtin,) = [p for p in (await client.get("/api/stream-profiles")).json() if p["default"]]
    plain = {"number": "6", "name": "Six", "watermark": mark}
    assert (await client.post("/api/channels", json=plain)).status_code == 201
    builtin_path = f"/api/stream-profiles/{builtin['id']}"
    as_copy = {"name": builtin["name"], "mode": "copy"}
    assert "6" in assert_problem(await client.put(builtin_path, json=as_copy), 422)["detail"]
    copy_default = {"name": "Remux", "mode": "copy", "default": True}
    copy_path = f"/api/stream-profiles/{copy['id']}"
    assert "6" in assert_problem(await client.put(copy_path, json=copy_default), 422)["detail"]


async def test_start_up_ensures_the_default_and_reports_the_encoders_ffmpeg_can_use(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    before = (await client.get("/api/stream-profiles/capabilities")).json()
    assert before == {"detected": False, "encoders": []}
    await start_up(sqlite_container, extend_playouts=False)
    await sqlite_container.warm_up.wait()  # the encoders are listed once the server listens
    found = (await client.get("/api/stream-profiles/capabilities")).json()
    assert found["detected"] is True
    usable = {e["encoder"]: (e["usable"], e["reason"]) for e in found["encoders"]}
    assert usable["libx264"] == (True, None)
    assert set(usable) == {"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"}
    for encoder in ("h264_nvenc", "h264_qsv", "h264_vaapi"):
        is_usable, reason = usable[encoder]
        assert (reason is None) if is_usable else ("using libx264" in reason)
    assert len([p for p in (await client.get("/api/stream-profiles")).json() if p["default"]]) == 1

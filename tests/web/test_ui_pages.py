"""The web UI's pages over HTTP: sign-in, the session cookie, CSRF, escaping, uploads."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from exstreamtv.services.admin_sessions import AdminSessions
from exstreamtv.services.container import Container, open_container
from exstreamtv.web.browser_session import COOKIE, CSRF_HEADER
from tests.seeding import ManualClock, add_channel, add_collection, add_show, items_schedule
from tests.web.client import assert_problem, open_client
from tests.web.conftest import SettingsFactory

ALL_INTERFACES = "0.0.0.0"  # only the setting under test: nothing binds to it
UI = {CSRF_HEADER: "1"}
PAGES = ["/", "/channels", "/channels/new", "/channels/1/edit", "/guide", "/watch/1",
         "/schedules", "/schedules/new", "/schedules/1", "/libraries", "/libraries/1",
         "/collections", "/collections/new", "/collections/1", "/filler", "/settings",
         "/troubleshooting", "/logs"]  # fmt: skip


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 4), (255, 0, 0)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
async def exposed(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    """A container whose server listens on every interface (the admin key is needed)."""
    settings = make_settings(
        server={"host": ALL_INTERFACES, "access_token": "player-token"},
        hdhomerun={"friendly_name": "<img src=x onerror=alert(1)>"},
    )
    async with open_container(settings) as opened:
        yield opened


@pytest.fixture
async def key(exposed: Container) -> str:
    created = await exposed.admin_keys.ensure()
    assert created is not None
    return created


async def sign_in(client: httpx.AsyncClient, key: str, next_: str = "/") -> httpx.Response:
    return await client.post("/login", data={"key": key, "next": next_})


@pytest.mark.parametrize("path", PAGES)
async def test_pages_send_a_stranger_to_the_login_page(
    exposed: Container, key: str, path: str
) -> None:
    async with open_client(exposed) as client:
        response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


async def test_signing_in_sets_a_strict_httponly_session_cookie_without_the_key(
    exposed: Container, key: str
) -> None:
    await add_channel(exposed, "1")  # the watch page of a missing channel is a 404
    async with open_client(exposed) as client:
        response = await sign_in(client, key, "/guide")
        assert response.status_code == 303
        assert response.headers["location"] == "/guide"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain http here; https adds it
        assert key not in cookie
        for path in PAGES:
            page = await client.get(path)
            assert page.status_code == 200, path
            assert key not in page.text
            assert "Content-Security-Policy" in page.headers
        assert (await client.get("/api/channels")).status_code == 200


async def test_cookie_is_secure_when_reached_over_https(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        response = await client.post(
            "/login", data={"key": key}, headers={"X-Forwarded-Proto": "https"}
        )
    assert "Secure" in response.headers["set-cookie"]


async def test_a_wrong_key_is_refused_in_place(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        response = await sign_in(client, key + "x")
        assert response.status_code == 200
        assert "That is not the admin key." in response.text
        assert "set-cookie" not in response.headers
        assert (await client.get("/")).status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "", "guide"]
)
async def test_sign_in_never_redirects_off_the_server(
    exposed: Container, key: str, target: str
) -> None:
    async with open_client(exposed) as client:
        response = await sign_in(client, key, target)
    assert response.headers["location"] == "/"


async def test_forged_or_tampered_cookies_are_refused(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        token = (await sign_in(client, key)).cookies[COOKIE]
        session_id, secret = token.split(".")
        hostile = [
            f"{session_id}.{'A' * len(secret)}",  # forged secret
            f"{'0' * len(session_id)}.{secret}",  # another id
            "garbage", "", "1.2", "9" * 300, f"{token}.x", f"{session_id.upper()}.{secret}",
        ]  # fmt: skip
        for value in hostile:
            client.cookies.set(COOKIE, value)
            assert_problem(await client.get("/api/channels"), 401)
            assert (await client.get("/")).status_code == 303


async def test_sign_out_revokes_the_session(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        token = (await sign_in(client, key)).cookies[COOKIE]
        response = await client.post("/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        client.cookies.set(COOKIE, token)  # a copy kept by someone else
        assert_problem(await client.get("/api/channels"), 401)


async def test_rotating_the_admin_key_ends_every_session(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        await sign_in(client, key)
        assert (await client.get("/api/channels")).status_code == 200
        await exposed.admin_keys.rotate()
        assert_problem(await client.get("/api/channels"), 401)


async def test_a_change_with_the_cookie_needs_the_ui_header(exposed: Container, key: str) -> None:
    body = {"number": "7", "name": "Seven"}
    async with open_client(exposed) as client:
        await sign_in(client, key)
        refused = assert_problem(await client.post("/api/channels", json=body), 403)
        assert CSRF_HEADER in refused["detail"]
        assert (await client.post("/api/channels", json=body, headers=UI)).status_code == 201
        assert_problem(await client.delete("/api/channels/7"), 403)
        assert (await client.get("/api/channels/7")).status_code == 200


async def test_a_cross_site_change_is_refused_even_with_the_header(
    exposed: Container, key: str
) -> None:
    body = {"number": "8", "name": "Eight"}
    async with open_client(exposed) as client:
        await sign_in(client, key)
        for origin in ("http://evil.example", "null", "http://test.evil.example"):
            headers = {**UI, "Origin": origin}
            assert_problem(await client.post("/api/channels", json=body, headers=headers), 403)
        same = {**UI, "Origin": "http://localhost"}
        assert (await client.post("/api/channels", json=body, headers=same)).status_code == 201
        assert_problem(await client.post("/logout", headers={"Origin": "http://evil.example"}), 403)
        assert (await client.get("/api/channels")).status_code == 200  # still signed in


async def test_a_loopback_server_refuses_cross_site_changes(client: httpx.AsyncClient) -> None:
    body = {"number": "9", "name": "Nine"}
    evil = {"Origin": "http://evil.example"}
    assert_problem(await client.post("/api/channels", json=body, headers=evil), 403)
    assert (await client.post("/api/channels", json=body)).status_code == 201


async def test_the_admin_key_still_works_without_the_ui_header(
    exposed: Container, key: str
) -> None:
    async with open_client(exposed) as client:
        response = await client.post(
            "/api/channels", json={"number": "3", "name": "Three"}, headers={"X-API-Key": key}
        )
    assert response.status_code == 201


async def test_the_session_cookie_opens_player_urls_without_the_token(
    exposed: Container, key: str
) -> None:
    await add_channel(exposed, "1", "One")
    async with open_client(exposed) as client:
        assert_problem(await client.get("/iptv/channels.m3u"), 401)
        await sign_in(client, key)
        playlist = await client.get("/iptv/channels.m3u")
    assert playlist.status_code == 200
    assert "#EXTINF" in playlist.text


async def test_hostile_values_are_rendered_escaped(exposed: Container, key: str) -> None:
    async with open_client(exposed) as client:
        login = await client.get("/login", params={"next": '/"><script>alert(1)</script>'})
        assert "<script>alert(1)</script>" not in login.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in login.text
        await sign_in(client, key)
        settings = await client.get("/settings")
    assert "<img src=x onerror=alert(1)>" not in settings.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in settings.text


async def test_a_page_for_an_invalid_channel_number_is_refused(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/watch/<script>"), 422)
    assert_problem(await client.get("/channels/1x/edit"), 422)


async def test_signing_in_is_not_needed_on_loopback(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    await add_channel(sqlite_container, "1")
    for path in PAGES:
        assert (await client.get(path)).status_code == 200, path
    proxied = await client.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 303


async def test_an_uploaded_logo_is_stored_re_encoded_and_served(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    stored = await client.post("/api/logos", files={"file": ("l.png", PNG, "image/png")})
    assert stored.status_code == 201
    logo = stored.json()["logo"]
    kept = (sqlite_container.settings.data_dir / "logos" / logo).read_bytes()
    with Image.open(io.BytesIO(kept)) as image:
        assert (image.format, image.size, image.getpixel((0, 0))) == ("PNG", (8, 4), (255, 0, 0))
    created = await client.post("/api/channels", json={"number": "4", "name": "Four", "logo": logo})
    assert created.status_code == 201
    served = await client.get("/iptv/logos/4.png")
    assert served.content == kept
    for data in (b"GIF89a" + b"\x00" * 10, b"", PNG[:8] + b"\x00" * 64):
        refused = await client.post("/api/logos", files={"file": ("l.png", data, "image/png")})
        assert_problem(refused, 422)


def _sessions(container: Container, clock: ManualClock, **limits: int) -> AdminSessions:
    key_file = container.settings.data_dir / "ui-sessions.key"
    return AdminSessions(container.sessions, clock, container.admin_keys, key_file, **limits)


async def test_sessions_expire_and_the_oldest_beyond_the_cap_is_dropped(
    sqlite_container: Container,
) -> None:
    clock = ManualClock()
    key = await sqlite_container.admin_keys.rotate()
    sessions = _sessions(sqlite_container, clock, lifetime_sec=60, max_sessions=2)
    first = await sessions.open(key)
    clock.advance(timedelta(seconds=1))
    second, third = await sessions.open(key), await sessions.open(key)
    assert await sessions.open("wrong") is None
    assert not await sessions.check(first)  # pushed out: the oldest goes first
    assert await sessions.check(second) and await sessions.check(third)
    await sessions.revoke(second)
    assert not await sessions.check(second)
    clock.advance(timedelta(seconds=60))
    assert not await sessions.check(third)


async def test_sessions_and_sign_outs_outlive_a_restart_and_rotation_ends_them(
    sqlite_container: Container,
) -> None:
    key = await sqlite_container.admin_keys.rotate()
    fresh = _sessions(sqlite_container, ManualClock())
    tokens = await asyncio.gather(*(fresh.open(key) for _ in range(5)))
    for token in tokens:
        assert await fresh.check(token)
    await fresh.revoke(tokens[1])
    restarted = _sessions(sqlite_container, ManualClock())
    assert await restarted.check(tokens[0])  # the key file is kept: sessions survive
    assert not await restarted.check(tokens[1])  # and so does the sign-out
    await sqlite_container.admin_keys.rotate()
    assert not any([await restarted.check(token) for token in tokens])


async def test_status_reports_channels_scans_and_guide_state(
    client: httpx.AsyncClient, sqlite_container: Container, scanned: int
) -> None:
    await add_channel(sqlite_container, "5", "Five")
    status = (await client.get("/api/status")).json()
    assert [c["channel"]["number"] for c in status["channels"]] == ["5"]
    five = status["channels"][0]
    assert five["now"]["entry"] is None and five["breaker"] == "closed"
    assert five["live"] is False and five["viewers"] == 0
    assert status["libraries"][0]["scan"]["status"] == "completed"
    assert status["libraries"][0]["scan"]["percent"] == 100.0
    assert status["ffmpeg_processes"] == 0 and status["guide_problem"] is None
    for _ in range(5):  # the breaker opens after five failures
        sqlite_container.supervisor.record_failure("5")
    again = (await client.get("/api/status")).json()
    assert again["channels"][0]["breaker"] == "open"


async def test_status_says_why_the_guide_is_refused(client: httpx.AsyncClient) -> None:
    status = (await client.get("/api/status")).json()  # no channels: nothing to list
    assert status["guide_problem"] == "the lineup has no enabled channels"
    assert status["guide_failures"] == 1


async def test_guide_json_holds_the_programmes_of_the_xmltv_guide(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    ids = await add_show(sqlite_container, "Grid Show", [30, 30, 30, 30])
    collection = await add_collection(sqlite_container, "grid", ids)
    schedule = await sqlite_container.schedules.create(items_schedule("grid", collection))
    await add_channel(sqlite_container, "6", "Six")
    attached = await client.put("/api/channels/6/schedule", json={"schedule_id": schedule.id})
    assert attached.status_code == 200, attached.text
    guide = (await client.get("/api/guide", params={"hours": 2})).json()
    assert [c["number"] for c in guide["channels"]] == ["6"]
    starts = [p["start"] for p in guide["programmes"]]
    assert len(starts) in {4, 5} and starts == sorted(starts)
    assert {p["title"] for p in guide["programmes"]} == {"Grid Show"}
    xmltv = (await client.get("/iptv/xmltv.xml")).text
    for programme in guide["programmes"]:
        stamp = programme["start"].replace("-", "").replace("T", "").replace(":", "")[:14]
        assert f'start="{stamp} +0000"' in xmltv
    assert_problem(await client.get("/api/guide", params={"hours": 0}), 422)
    assert_problem(await client.get("/api/guide", params={"hours": 49}), 422)
    start = guide["start"]
    for hostile in (
        {"start": start[:19]}, {"colour": "red"}, {"start": start, "end": start},
        {"limit": 0}, {"short_under_sec": -1}, {"channel": "x" * 65}, {"start": "yesterday"},
    ):  # fmt: skip
        assert_problem(await client.get("/api/guide", params=hostile), 422)
    one_row = await client.get("/api/guide", params={"limit": 1, "short_under_sec": 3600})
    assert one_row.json()["rows"] == [guide["channels"][0]["id"]]


@pytest.mark.parametrize(("name", "attribute"), [("HLS_JS", "hlsjs"), ("MPEGTS_JS", "mpegtsjs")])
async def test_the_watch_page_does_without_a_missing_player_library(
    client: httpx.AsyncClient, sqlite_container: Container, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, name: str, attribute: str,
) -> None:  # fmt: skip
    await add_channel(sqlite_container, "1")
    monkeypatch.setattr(f"exstreamtv.web.ui.assets.{name}", tmp_path / "absent.js")
    url = {"HLS_JS": "/ui/vendor/hls.min.js", "MPEGTS_JS": "/ui/vendor/mpegts.js"}[name]
    page = await client.get("/watch/1")
    assert page.status_code == 200
    assert f'data-{attribute}="no"' in page.text
    assert url not in page.text  # no request that would fail
    assert "is not installed" in assert_problem(await client.get(url), 404)["detail"]


@pytest.mark.parametrize(
    ("name", "url"), [("HLS_JS", "/ui/vendor/hls.min.js"), ("MPEGTS_JS", "/ui/vendor/mpegts.js")]
)
async def test_an_installed_player_library_is_served(
    client: httpx.AsyncClient, sqlite_container: Container, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, name: str, url: str,
) -> None:  # fmt: skip
    await add_channel(sqlite_container, "1")
    library = tmp_path / "player.js"
    library.write_text("window.Player = function () {};")
    monkeypatch.setattr(f"exstreamtv.web.ui.assets.{name}", library)
    page = await client.get("/watch/1")
    assert f'<script src="{url}"></script>' in page.text
    served = await client.get(url)
    assert served.text == library.read_text()
    assert served.headers["content-type"].startswith("text/javascript")


async def test_the_watch_page_says_when_a_channel_is_missing_disabled_or_unscheduled(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    missing = await client.get("/watch/404")
    assert missing.status_code == 404
    assert "There is no channel 404" in missing.text and "<video" not in missing.text
    await add_channel(sqlite_container, "5", "Five")
    idle = await client.get("/watch/5")
    assert "Nothing is scheduled on this channel" in idle.text and "<video" in idle.text
    await client.patch("/api/channels/5", json={"enabled": False})
    disabled = await client.get("/watch/5")
    assert "This channel is disabled" in disabled.text and "<video" not in disabled.text
    assert "watch.js" not in disabled.text  # nothing tries to play it


async def test_an_uploaded_image_is_shown_again_but_nothing_outside_the_logos_folder(
    client: httpx.AsyncClient, sqlite_container: Container
) -> None:
    stored = await client.post("/api/logos", files={"file": ("l.png", PNG, "image/png")})
    value = stored.json()["logo"]
    shown = await client.get("/api/logos", params={"value": value})
    assert (shown.status_code, shown.headers["content-type"]) == (200, "image/png")
    secret = sqlite_container.settings.data_dir / "secret.png"
    secret.write_bytes(PNG)
    for hostile in ("../secret.png", str(secret), "uploads/../../secret.png", "", "x" * 201,
                    "https://example.invalid/x.png", "uploads/nothing.png"):  # fmt: skip
        response = await client.get("/api/logos", params={"value": hostile})
        assert response.status_code in {404, 422}, hostile

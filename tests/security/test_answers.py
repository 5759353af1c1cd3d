"""Smaller holes: the lineup URL without its token, wrong Allow headers, a number read as
a time, and secrets inherited by child processes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.services.container import open_container
from tests.support import build_settings
from tests.web.client import assert_problem, open_client


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    settings = build_settings(tmp_path / "data", url, server={"access_token": "a&b t0ken"})
    async with open_container(settings) as container, open_client(container) as opened:
        yield opened


async def test_discover_json_gives_a_lineup_url_that_works(client: httpx.AsyncClient) -> None:
    discover = await client.get("/discover.json", params={"token": "a&b t0ken"})
    lineup_url = discover.json()["LineupURL"]
    assert lineup_url == "http://localhost/lineup.json?token=a%26b+t0ken"
    assert (await client.get(lineup_url)).status_code == 200


async def test_405_lists_every_method_the_path_takes(client: httpx.AsyncClient) -> None:
    for method, path, allowed in [
        ("DELETE", "/api/channels", "GET, POST"),
        ("PATCH", "/api/libraries/1", "GET, PUT, DELETE"),
        ("GET", "/api/libraries/1/scan/cancel", "POST"),
    ]:
        response = await client.request(method, path)
        assert_problem(response, 405)
        assert response.headers["allow"] == allowed, path


@pytest.mark.parametrize("at", ["0.5", "1700000000", "2026-03-01T18:00:00", "tomorrow"])
async def test_a_time_that_is_not_iso_8601_with_an_offset_is_refused(
    client: httpx.AsyncClient, at: str
) -> None:
    await client.post("/api/channels", json={"number": "1", "name": "One"})
    response = await client.get("/api/channels/1/now", params={"at": at})
    assert "ISO 8601" in assert_problem(response, 422)["detail"]
    fine = await client.get("/api/channels/1/now", params={"at": "2026-03-01T18:00:00+01:00"})
    assert fine.status_code == 200


async def test_child_processes_inherit_no_exstreamtv_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXSTREAMTV_SERVER__ACCESS_TOKEN", "inherited-5ecret")
    monkeypatch.setenv("MEDIA_SERVER_TOKEN", "plex-5ecret")
    monkeypatch.setenv("KEEP_ME", "yes")
    done = await run_capture(["/usr/bin/env"], timeout=10)
    assert b"KEEP_ME=yes" in done.stdout
    assert b"5ecret" not in done.stdout
    assert os.environ["KEEP_ME"] == "yes"  # ours is untouched

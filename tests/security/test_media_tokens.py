"""A Plex-backed channel plays on a real server while every process's arguments and
environment are read, as any local user can (``ps``, ``/proc/*/cmdline``): the Plex token
and the server's own secrets appear in none of them. The loopback proxy FFmpeg reads
through passes ranges on and expires its URLs."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from exstreamtv.domain.libraries import SourceKind
from exstreamtv.services.container import Container
from exstreamtv.services.media_proxy import MediaProxy
from tests.media_servers.conftest import fake_plex, sqlite_container
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.security.conftest import ACCESS_TOKEN, Station
from tests.seeding import ManualClock

ENV_SECRET = ACCESS_TOKEN
__all__ = ["fake_plex", "sqlite_container"]  # fixtures shared with the media-server tests
STREAM_DEADLINE_SEC = 60.0


@pytest.fixture
def plex(
    fake_plex: tuple[FakePlex, LoopbackServer], clip_cache: dict[float, Path]
) -> tuple[FakePlex, LoopbackServer]:
    """The fake Plex with a Movies library holding one real 3 s clip."""
    fake, server = fake_plex
    movies = fake.catalogue.library("Movies", "movie", "/data/Movies")
    fake.catalogue.add(movies, "movie", "Clip", duration_ms=3_000, media=clip_cache[3.0])
    return fake, server


def process_texts() -> dict[int, bytes]:
    """Every process's argv and environment, as far as this user may read them."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        parts = []
        for name in ("cmdline", "environ"):
            try:
                parts.append((proc / name).read_bytes())
            except OSError:  # gone, or not ours to read
                continue
        found[int(proc.name)] = b"\0".join(parts)
    return found


async def _channel_on(client: httpx.AsyncClient, plex_url: str) -> None:
    """A Plex source, its Movies library scanned, and channel 77 playing it."""
    body = {"kind": "plex", "name": "Attic", "url": plex_url, "token": TOKEN}
    source = (await client.post("/api/media-sources", json=body)).json()
    tested = (await client.post(f"/api/media-sources/{source['id']}/test")).json()
    movies = next(lib["id"] for lib in tested["libraries"] if lib["title"] == "Movies")
    chosen = await client.post(
        f"/api/media-sources/{source['id']}/libraries", json={"libraries": [movies]}
    )
    library_id = chosen.json()[0]["id"]
    assert (await client.post(f"/api/libraries/{library_id}/scan")).status_code == 202
    deadline = time.monotonic() + STREAM_DEADLINE_SEC
    while (await client.get(f"/api/libraries/{library_id}/scan")).json()["status"] == "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    items = (await client.get("/api/media", params={"library_id": library_id})).json()["items"]
    collection = await client.post(
        "/api/collections",
        json={"name": "Remote plex", "kind": "manual", "item_ids": [i["id"] for i in items]},
    )
    schedule = await client.post(
        "/api/schedules",
        json={"name": "Remote loop", "kind": "items",
              "items": [{"source": {"collection_ids": [collection.json()["id"]]}}]},
    )  # fmt: skip
    created = await client.post("/api/channels", json={"number": "77", "name": "Remote"})
    assert created.status_code == 201, created.text
    attached = await client.put(
        "/api/channels/77/schedule", json={"schedule_id": schedule.json()["id"]}
    )
    assert attached.status_code == 200, attached.text


async def test_a_playing_plex_channel_shows_no_secret_in_any_process(
    plex: tuple[FakePlex, LoopbackServer], loopback: Station
) -> None:
    fake, plex_server = plex
    station = loopback
    async with httpx.AsyncClient(base_url=station.url, timeout=30) as client:
        await _channel_on(client, plex_server.url)
        url = "/iptv/channel/77.ts"
        async with client.stream("GET", url, params={"token": ENV_SECRET}) as stream:
            assert stream.status_code == 200
            received, seen = 0, {}
            async for chunk in stream.aiter_bytes():
                received += len(chunk)
                seen.update(await asyncio.to_thread(process_texts))
                if fake.stream_requests >= 1 and received > 300_000:
                    break

    readers = [text for text in seen.values() if b"ffmpeg" in text and b"/media/" in text]
    assert readers, "no FFmpeg read the Plex item through the loopback proxy"
    assert all(b"http://127.0.0.1:" in text for text in readers)
    assert [pid for pid, text in seen.items() if TOKEN.encode() in text] == []
    others = {pid: t for pid, t in seen.items() if pid != station.server.process.pid}
    others.pop(os.getpid(), None)  # this test put the secret in its own environment
    assert [pid for pid, text in others.items() if ENV_SECRET.encode() in text] == []


async def test_the_proxy_passes_ranges_and_its_urls_expire(
    sqlite_container: Container,
    plex: tuple[FakePlex, LoopbackServer],
    clip_cache: dict[float, Path],
) -> None:
    fake, plex_server = plex
    source = await sqlite_container.media_servers.create(
        SourceKind.PLEX, "Attic", plex_server.url, SecretStr(TOKEN)
    )
    item = next(iter(next(iter(fake.catalogue.libraries.values())).items.values()))
    stream_key = f"/library/parts/{item.part_id}/1579478991/file.mp4"
    clock = ManualClock()
    proxy = MediaProxy(sqlite_container.media_servers, clock)
    try:
        url = await proxy.url_for(source.id, item.key, stream_key, duration_sec=3)
        assert TOKEN not in url and plex_server.url not in url
        whole = clip_cache[3.0].read_bytes()
        async with httpx.AsyncClient(timeout=30) as client:
            ranged = await client.get(url, headers={"Range": "bytes=100-199"})
            assert ranged.status_code == 206
            assert ranged.content == whole[100:200]
            assert ranged.headers["content-range"] == f"bytes 100-199/{len(whole)}"
            assert (await client.get(url)).content == whole
            assert (await client.post(url)).status_code == 405
            assert (await client.get(url + "x")).status_code == 404
            clock.ticks += 604  # the item's 3 s plus the 600 s margin
            assert (await client.get(url)).status_code == 404  # expired
    finally:
        await proxy.close()

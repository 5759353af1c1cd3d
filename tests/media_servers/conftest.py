"""Fixtures for media-server tests: fake Plex, Jellyfin and Emby servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exstreamtv.services.container import Container, open_container
from tests.media_servers.fake_jellyfin import FakeJellyfin
from tests.media_servers.fake_plex import FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.support import build_settings


@pytest.fixture
async def sqlite_container(tmp_path: Path) -> AsyncIterator[Container]:
    """An open container on a fresh SQLite database (fast tests that need no PostgreSQL)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
    settings = build_settings(tmp_path / "data", url, media_servers={"retry_backoff_sec": 0.01})
    async with open_container(settings) as opened:
        yield opened


@pytest.fixture
async def fake_plex() -> AsyncIterator[tuple[FakePlex, LoopbackServer]]:
    fake = FakePlex()
    server = LoopbackServer(fake.app())
    await server.start()
    try:
        yield fake, server
    finally:
        await server.stop()


@pytest.fixture(params=["jellyfin", "emby"])
async def fake_jellyfin(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[FakeJellyfin, LoopbackServer]]:
    """A fake Jellyfin, then a fake Emby: the shared client must handle both."""
    fake = FakeJellyfin(flavour=request.param)
    server = LoopbackServer(fake.app())
    await server.start()
    try:
        yield fake, server
    finally:
        await server.stop()

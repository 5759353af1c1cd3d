"""Fixtures for the HTTP layer: apps on real containers, clients, and a media folder.

Most web tests run on SQLite only (``sqlite_container``) to stay fast; tests that take the
root ``container`` fixture run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from exstreamtv.config import Settings
from exstreamtv.services.container import Container, open_container
from tests.support import build_settings
from tests.web.client import create_and_scan, open_client

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings on a SQLite database in ``tmp_path`` (demo off) with the given sections."""

    def make(**sections: Any) -> Settings:
        url = f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
        return build_settings(tmp_path / "data", url, **sections)

    return make


@pytest.fixture
async def sqlite_container(make_settings: SettingsFactory) -> AsyncIterator[Container]:
    """An open container on a fresh SQLite database, listening on loopback (no admin key)."""
    async with open_container(make_settings()) as opened:
        yield opened


@pytest.fixture
async def client(sqlite_container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with open_client(sqlite_container) as opened:
        yield opened


@pytest.fixture
def media_dir(tmp_path: Path, place_clip: Callable[[Path, float], Path]) -> Path:
    """A library folder: three episodes of "Show" (2 s each, placed out of order), one of
    "Other Show" (1 s), and a 3 s movie."""
    root = tmp_path / "media"
    season1, season2 = root / "Show" / "Season 01", root / "Show" / "Season 02"
    place_clip(season2 / "Show - S02E01 - Return.mp4", 2.0)
    place_clip(season1 / "Show - S01E02 - Title.mp4", 2.0)
    place_clip(season1 / "Show - S01E01 - Pilot.mp4", 2.0)
    place_clip(root / "Other Show" / "Season 01" / "Other Show - S01E01 - Start.mp4", 1.0)
    place_clip(root / "Big Movie (2020)" / "Big Movie (2020).mp4", 3.0)
    return root


@pytest.fixture
async def scanned(client: httpx.AsyncClient, sqlite_container: Container, media_dir: Path) -> int:
    """The id of a scanned library on ``media_dir`` (SQLite)."""
    return await create_and_scan(client, sqlite_container, media_dir)

"""Fixtures for online sources: media made once per session, a website and a fake Internet
Archive on loopback, and containers pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from exstreamtv.clock import Clock
from exstreamtv.services.container import Container, open_container
from tests.media_servers.loopback import LoopbackServer
from tests.online.fake_archive import ArchiveItem, FakeArchive, video_files
from tests.online.site import MediaSite, build_media
from tests.support import build_settings

ContainerFactory = Callable[..., AbstractAsyncContextManager[Container]]


@pytest.fixture(scope="session")
def online_media(tmp_path_factory: pytest.TempPathFactory, clip_cache: dict[float, Path]) -> Path:
    return build_media(tmp_path_factory.mktemp("site"), clip_cache[3.0])


@pytest.fixture
async def site(online_media: Path) -> AsyncIterator[tuple[MediaSite, LoopbackServer]]:
    fake = MediaSite(online_media)
    server = LoopbackServer(fake.app())
    await server.start()
    try:
        yield fake, server
    finally:
        await server.stop()


@pytest.fixture
async def archive(online_media: Path) -> AsyncIterator[tuple[FakeArchive, LoopbackServer]]:
    fake = FakeArchive()
    clip = online_media / "clip.mp4"
    for n, title in enumerate(("Duck and Cover", "A Date with Your Family", "Reel Three")):
        identifier = f"reel_{n:02d}"
        fake.add(
            ArchiveItem(
                identifier, title, "prelinger", video_files(identifier, 3.0),
                {f"{identifier}.mp4": clip, f"{identifier}_512kb.mp4": clip},
                metadata={
                    "creator": "Archer Productions", "date": f"195{n}", "year": f"195{n}",
                    "subject": ["civil defense; atomic", "Ephemeral films"],
                    "description": f"<p>An <b>educational</b> film, part {n}.</p>",
                },
            )
        )  # fmt: skip
    fake.add(ArchiveItem("reel_99", "Silent stills", "prelinger", [], {}))
    fake.add(ArchiveItem("radio_01", "A radio show", "prelinger", [], {}, mediatype="audio"))
    fake.add(ArchiveItem("other_01", "Not in it", "elsewhere", video_files("o", 3.0), {}))
    server = LoopbackServer(fake.app())
    await server.start()
    try:
        yield fake, server
    finally:
        await server.stop()


@pytest.fixture
def make_container(tmp_path: Path) -> ContainerFactory:
    @asynccontextmanager
    async def make(clock: Clock | None = None, **sections: Any) -> AsyncIterator[Container]:
        settings = build_settings(
            tmp_path / "data",
            f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
            media_servers={"retry_backoff_sec": 0.01, "retries": 1},
            **sections,
        )
        async with open_container(settings, clock=clock) as container:
            yield container

    return make

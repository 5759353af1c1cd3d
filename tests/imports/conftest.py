"""A library holding the files the import fixtures name (on their media servers under
``/data``), as catalogue rows: no files to probe, realistic durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import FileStamp, MediaKind, MediaMetadata, ScannedFile, TechnicalInfo
from exstreamtv.services.container import Container
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository

# The files the fixture's programmes name on the (never existing) Plex server.
PLEX_FILES = (
    "tv/Show A/Season 01/Show A - S01E01.mkv",
    "tv/Show A/Season 01/Show A - S01E02.mkv",
    "tv/Show A/Season 01/Show A - S01E03.mkv",
    "tv/Show B/Season 01/Show B - S01E01.mkv",
    "tv/Show B/Season 01/Show B - S01E02.mkv",
    "tv/Cartoon X/Season 01/Cartoon X - S01E01.mkv",
    "tv/Cartoon X/Season 01/Cartoon X - S01E02.mkv",
    "movies/Movie One (1999)/Movie One (1999).mkv",
    "movies/Movie Two (2004)/Movie Two (2004).mkv",
    "filler/bumper1.mp4",
    "filler/bumper2.mp4",
)


@pytest.fixture
async def library(container: Container, tmp_path: Path) -> Path:
    """Our copy of the Plex server's files, as catalogue rows of a local library (written
    straight through the repositories: no files to probe, realistic durations)."""
    root = tmp_path / "media"
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        lib = await LibraryRepository(session).create_local(
            "Media", LibraryKind.MIXED, [str(root)], now
        )
        await MediaRepository(session).save_scanned(
            lib.id, [_scanned(root, n) for n in PLEX_FILES], {}, now
        )
    return root


def _scanned(root: Path, name: str) -> ScannedFile:
    if name.startswith("tv/"):
        show, _, file = name[3:].split("/")
        season, episode = int(file[-9:-7]), int(file[-6:-4])
        meta = MediaMetadata(MediaKind.EPISODE, file, show=show, season=season, episode=episode)
        minutes = 22.0
    elif name.startswith("movies/"):
        meta = MediaMetadata(MediaKind.MOVIE, name.split("/")[1])
        minutes = 95.0
    else:
        meta = MediaMetadata(MediaKind.OTHER, name)
        minutes = 0.25
    return ScannedFile(
        str(root / name), FileStamp(1, 1), meta, TechnicalInfo(round(minutes * 60_000))
    )

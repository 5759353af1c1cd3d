"""Channels on air for guide and tuner tests: media with any metadata, written through the
repositories (no files, no ffprobe), a schedule playing it, and the guide's real validator.

Builds on :mod:`tests.seeding`; the XMLTV checks run the real ``tv_validate_file``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import FileStamp, MediaKind, MediaMetadata, ScannedFile, TechnicalInfo
from exstreamtv.services.container import Container
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import MediaRepository
from tests.seeding import MIN, add_collection, items_schedule

DTD = Path("/usr/share/xmltv/xmltv.dtd")
HOSTILE = (
    "Tom & Jerry <b>bold</b> ]]> \"quoted\" 'single'",
    "Emoji 📺🎬 and RTL עברית العربية",
    "Control\x01\x02\x07\x1b\x7f\x85 chars",
    "<![CDATA[ sneaky ]]> &amp; &#0; &bogus;",
)


def episode(show: str, number: int, title: str | None = None) -> MediaMetadata:
    return MediaMetadata(
        MediaKind.EPISODE, title or f"{show} {number}", show=show, season=1, episode=number
    )


def movie(
    title: str, *, year: int | None = None, plot: str | None = None, genres: tuple[str, ...] = ()
) -> MediaMetadata:
    return MediaMetadata(MediaKind.MOVIE, title, year=year, plot=plot, genres=genres)


async def add_media(
    container: Container, items: Sequence[MediaMetadata], minutes: float = 20
) -> list[int]:
    """Store ``items`` (each ``minutes`` long) in a library of their own; returns their ids."""
    now = container.clock.now()
    async with transaction(container.sessions) as session:
        libraries = LibraryRepository(session)
        count = len(await libraries.all())
        name = f"lib-{count + 1}"
        library = await libraries.create_local(name, LibraryKind.MIXED, [f"/media/{name}"], now)
        files = [
            ScannedFile(
                f"/media/{name}/{index}.mkv",
                FileStamp(1, 1),
                metadata,
                TechnicalInfo(round(minutes * MIN)),
            )
            for index, metadata in enumerate(items)
        ]
        media = MediaRepository(session)
        await media.save_scanned(library.id, files, {}, now)
        known = await media.known_files(library.id)
    return [known[f.path].id for f in files]


async def on_air(
    container: Container,
    number: str,
    items: Sequence[MediaMetadata],
    *,
    name: str | None = None,
    minutes: float = 20,
) -> Channel:
    """Channel ``number`` playing ``items`` in a loop, its playout built from now."""
    ids = await add_media(container, items, minutes)
    collection = await add_collection(container, f"Collection {number}", ids)
    schedule = await container.schedules.create(items_schedule(f"Schedule {number}", collection))
    fields = ChannelFields(ChannelNumber.parse(number), name or f"Channel {number}")
    channel = await container.channels.create(fields)
    return (await container.playouts.attach(channel.number, schedule.id)).channel


@dataclass(frozen=True, slots=True)
class GuideProgramme:
    channel: str
    start: str
    stop: str
    title: str


def parse_guide(document: bytes) -> tuple[dict[str, list[str]], list[GuideProgramme]]:
    """``(channel id -> display names, programmes)`` of an XMLTV document."""
    root = SafeET.fromstring(document)
    channels = {
        str(c.get("id")): [str(n.text) for n in c.findall("display-name")]
        for c in root.findall("channel")
    }
    programmes = [
        GuideProgramme(
            str(p.get("channel")),
            str(p.get("start")),
            str(p.get("stop")),
            str(p.findtext("title")),
        )
        for p in root.findall("programme")
    ]
    return channels, programmes


async def tv_validate(document: bytes, folder: Path) -> str:
    """What ``tv_validate_file --dtd-file xmltv.dtd`` says about ``document``."""
    executable = shutil.which("tv_validate_file")
    if executable is None:
        pytest.fail("tv_validate_file is missing: apt-get install xmltv-util")
    path = folder / "guide.xml"
    path.write_bytes(document)
    process = await asyncio.create_subprocess_exec(
        executable, "--dtd-file", str(DTD), str(path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    return output.decode(errors="replace")

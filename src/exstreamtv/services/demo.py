"""The built-in demo: real clips made by FFmpeg, scanned and put on channels.

When nothing is configured, a newcomer still gets channels at once. The clips are real
H.264/AAC files (distinct colours, on-screen titles, tones), laid out like a real library
(``Shows/<Show>/Season NN/...`` and ``Movies/<Title> (Year)/...``, with NFO sidecars for
one show and one movie) and scanned by the same scanner as any other library.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind, SmartQuery
from exstreamtv.domain.libraries import Library, LibraryKind
from exstreamtv.domain.media import MediaKind
from exstreamtv.domain.schedules import Schedule
from exstreamtv.errors import ProcessError
from exstreamtv.ffmpeg.command import demo_clip_argv
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.services.catalog import CatalogService
from exstreamtv.services.channels import ChannelService
from exstreamtv.services.demo_schedules import (
    FILLER_COLLECTION,
    DemoFiller,
    demo_presets,
    movies_schedule,
    shows_schedule,
)
from exstreamtv.services.library import LibraryService
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.schedules import ScheduleService
from exstreamtv.store.channels import ChannelFields
from exstreamtv.store.media import MediaFilter

log = logging.getLogger(__name__)
DEMO_LIBRARY = "Demo"
CLIP_TIMEOUT_SEC = 120.0
IDENT_CLIP = "Interstitials/Station Ident.mp4"


@dataclass(frozen=True, slots=True)
class DemoClip:
    """One clip: where it goes (relative), its on-screen title, look and length (seconds)."""

    relative: str
    title: str
    colour: str
    tone_hz: int
    seconds: float


def _episodes(
    show: str, season: int, titles: list[str], *, colours: list[str], base_hz: int, seconds: float
) -> list[DemoClip]:
    return [
        DemoClip(
            f"Shows/{show}/Season {season:02d}/{show} - S{season:02d}E{n:02d} - {title}.mp4",
            f"{show} S{season:02d}E{n:02d}: {title}",
            colours[(n - 1) % len(colours)],
            base_hz + 40 * n,
            seconds,
        )
        for n, title in enumerate(titles, start=1)
    ]


DEMO_CLIPS: tuple[DemoClip, ...] = (
    *_episodes(
        "Color Bars Theater",
        1,
        ["Red Alert", "Green Light", "Blue Monday"],
        colours=["darkred", "darkgreen", "navy"],
        base_hz=300,
        seconds=30,
    ),
    *_episodes(
        "Color Bars Theater",
        2,
        ["Orange Crush", "Purple Haze"],
        colours=["darkorange", "purple"],
        base_hz=500,
        seconds=45,
    ),
    *_episodes(
        "Tone Patrol",
        1,
        ["The Low Note", "Middle C", "High Pitch", "Feedback"],
        colours=["teal", "olive", "maroon", "slateblue"],
        base_hz=200,
        seconds=20,
    ),
    DemoClip(
        "Movies/The Long Test (2024)/The Long Test (2024).mp4",
        "The Long Test (2024)",
        "midnightblue",
        220,
        120,
    ),
    DemoClip(
        "Movies/Pattern Night (2023)/Pattern Night (2023).mp4",
        "Pattern Night (2023)",
        "darkslategray",
        330,
        90,
    ),
    DemoClip("Interstitials/Station Ident.mp4", "EXStreamTV", "black", 880, 10),
)

DEMO_NFOS: dict[str, str] = {
    "Shows/Color Bars Theater/tvshow.nfo": (
        "<tvshow><title>Color Bars Theater</title><genre>Comedy</genre><genre>Test Pattern</genre>"
        "<mpaa>TV-G</mpaa><plot>Each week a new colour takes the stage.</plot></tvshow>"
    ),
    "Movies/The Long Test (2024)/The Long Test (2024).nfo": (
        "<movie><title>The Long Test</title><year>2024</year><genre>Drama</genre>"
        "<mpaa>PG</mpaa><plot>Two minutes of unbroken blue. A meditation.</plot></movie>"
    ),
}


def demo_folder(settings: Settings) -> Path:
    return settings.data_dir / "demo"


async def generate_demo_media(settings: Settings, folder: Path) -> None:
    """Make every missing demo clip and sidecar under ``folder`` (two FFmpeg at a time).

    Each clip is written to a temporary name and renamed, so an interrupted run never
    leaves a half-written clip behind. Raises :class:`ProcessError` if FFmpeg fails.
    """
    limit = asyncio.Semaphore(2)

    async def make(clip: DemoClip) -> None:
        target = folder / clip.relative
        if target.exists():
            return
        async with limit:
            await _make_clip(settings.ffmpeg.ffmpeg_path, clip, target)

    for relative, text in DEMO_NFOS.items():
        path = folder / relative
        if not path.exists():
            await asyncio.to_thread(_write_text, path, text)
    await asyncio.gather(*(make(clip) for clip in DEMO_CLIPS))


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


async def _make_clip(ffmpeg: str, clip: DemoClip, target: Path) -> None:
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial.mp4")
    for with_text in (True, False):
        argv = demo_clip_argv(
            ffmpeg,
            partial,
            title=clip.title,
            colour=clip.colour,
            tone_hz=clip.tone_hz,
            seconds=clip.seconds,
            with_text=with_text,
        )
        result = await run_capture(argv, timeout=CLIP_TIMEOUT_SEC)
        if result.returncode == 0:
            await asyncio.to_thread(partial.replace, target)
            return
        # drawtext needs a font; without one, fall back to plain colour cards.
        log.warning("demo clip %s: ffmpeg failed (%s)", clip.relative, result.stderr_tail[-200:])
    raise ProcessError(f"ffmpeg could not make the demo clip {clip.relative}")


class DemoSetup:
    """Creates the demo library, collections, filler, schedules and channels (with their
    playouts built) when nothing is configured."""

    def __init__(
        self,
        settings: Settings,
        libraries: LibraryService,
        catalog: CatalogService,
        channels: ChannelService,
        *,
        schedules: ScheduleService,
        playouts: PlayoutService,
    ) -> None:
        self._settings = settings
        self._libraries = libraries
        self._catalog = catalog
        self._channels = channels
        self._schedules = schedules
        self._playouts = playouts

    async def needed(self) -> bool:
        """True when the demo is enabled and no library exists or is configured."""
        if not self._settings.demo.enabled or self._settings.libraries:
            return False
        return not await self._libraries.libraries()

    async def install(self) -> Library:
        """Generate the clips, scan them, and create the demo collections and channels."""
        folder = demo_folder(self._settings)
        log.info("generating the demo library in %s (first run only)", folder)
        await generate_demo_media(self._settings, folder)
        library = await self._libraries.create(DEMO_LIBRARY, LibraryKind.MIXED, [str(folder)])
        await self._libraries.scan(library.id)
        collections = await self._create_collections(library)
        filler = await self._create_filler(collections[FILLER_COLLECTION])
        shows = shows_schedule(
            (collections["Color Bars Theater"], collections["Tone Patrol"]), filler
        )
        movies = movies_schedule(collections["Demo Movies"], filler, secrets.randbelow(2**31))
        await self._create_channels(
            [await self._schedules.create(shows), await self._schedules.create(movies)]
        )
        return library

    async def _create_collections(self, library: Library) -> dict[str, int]:
        """The demo collections, by name (the filler collection holds the ident)."""
        found, _ = await self._catalog.search(MediaFilter(library_id=library.id), 0, 500)
        ident = tuple(item.id for item in found if item.path.endswith(f"/{IDENT_CLIP}"))
        ids: dict[str, int] = {}
        for show in ("Color Bars Theater", "Tone Patrol"):  # made by the scan
            ids[show] = (await self._catalog.automatic_collection(CollectionKind.SHOW, show)).id
        for collection in (
            Collection(
                0, "Demo Movies", CollectionKind.SMART, query=SmartQuery(kinds=(MediaKind.MOVIE,))
            ),
            Collection(
                0,
                "Demo Episodes",
                CollectionKind.SMART,
                query=SmartQuery(kinds=(MediaKind.EPISODE,)),
            ),
            Collection(0, FILLER_COLLECTION, CollectionKind.MANUAL, item_ids=ident),
        ):
            ids[collection.name] = (await self._catalog.create_collection(collection)).id
        return ids

    async def _create_filler(self, collection_id: int) -> DemoFiller:
        tail, pre_roll, fallback = [
            (await self._schedules.create_preset(preset)).id
            for preset in demo_presets(collection_id)
        ]
        return DemoFiller(tail=tail, pre_roll=pre_roll, fallback=fallback)

    async def _create_channels(self, schedules: list[Schedule]) -> None:
        """Channels 1 and 2 on the two schedules; attaching builds their playouts."""
        for (number, name), schedule in zip(
            (("1", "Demo Shows"), ("2", "Demo Movies")), schedules, strict=True
        ):
            channel = await self._channels.create(
                ChannelFields(number=ChannelNumber.parse(number), name=name, group="Demo")
            )
            await self._playouts.attach(channel.number, schedule.id)

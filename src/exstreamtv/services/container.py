"""Wires settings, the database and the services together, and owns their lifecycle.

Nothing is built at import time: :func:`open_container` creates everything from validated
settings and disposes of it on exit (scans cancelled, connections closed).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock, SystemClock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.playout import NowPlaying
from exstreamtv.errors import DataDirError
from exstreamtv.logs import SecretRedactor
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.playback.tuners import TunerPool
from exstreamtv.services.admin_key import AdminKeys
from exstreamtv.services.catalog import CatalogService
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.services.channels import ChannelService
from exstreamtv.services.demo import DemoSetup
from exstreamtv.services.device import DeviceIdentity
from exstreamtv.services.guide import GuideService
from exstreamtv.services.library import LibraryService
from exstreamtv.services.logos import LogoService
from exstreamtv.services.playout_extender import PlayoutExtender
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.schedules import ScheduleService
from exstreamtv.services.streaming import StreamingService
from exstreamtv.store.database import create_engine, session_factory, transaction, upgrade_schema
from exstreamtv.store.libraries import LibraryRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Container:
    """Everything a running EXStreamTV needs, built once from settings."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    redactor: SecretRedactor
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    libraries: LibraryService
    catalog: CatalogService
    channels: ChannelService
    schedules: ScheduleService
    playouts: PlayoutService
    extender: PlayoutExtender
    admin_keys: AdminKeys
    guide: GuideService
    device: DeviceIdentity
    streaming: StreamingService
    logos: LogoService
    demo: DemoSetup
    supervisor: Supervisor
    live: LiveChannels


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory if needed and prove it is writable.

    Raises :class:`DataDirError` naming the directory and the reason.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise DataDirError(f"data directory {path} is not usable: {reason}") from err
    return path


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for log redaction."""
    values = [settings.server.access_token, settings.llm.api_key, settings.database.url]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.database.url is not None:
        with contextlib.suppress(ArgumentError):
            password = make_url(settings.database.url.get_secret_value()).password
            found.append(str(password) if password else "")
    return found


@contextlib.asynccontextmanager
async def open_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    redactor: SecretRedactor | None = None,
) -> AsyncIterator[Container]:
    """Build the container, apply migrations, yield it, then close everything (the
    playout extender, if :func:`start_up` started it, is stopped and awaited; every live
    channel and its FFmpeg is stopped before the database goes away).

    The FFmpeg supervisor starts here (it first kills process groups a crashed previous run
    left behind, listed in ``<data_dir>/ffmpeg.pids``)."""
    prepare_data_dir(settings.data_dir)
    redactor = redactor or SecretRedactor()
    redactor.register(secrets_of(settings))
    clock = clock or SystemClock()
    metrics = Metrics()
    engine = create_engine(settings.database_url, settings.database.pool_size)
    try:
        await upgrade_schema(engine)
        sessions = session_factory(engine)
        libraries = LibraryService(sessions, settings, clock, metrics)
        catalog = CatalogService(sessions, clock)
        locks = ChannelLocks()
        changes = GuideChanges()
        channels = ChannelService(sessions, clock, locks, changes)
        playouts = PlayoutService(sessions, settings, clock, metrics, locks, changes=changes)
        schedules = ScheduleService(sessions, clock, playouts)
        extender = PlayoutExtender(playouts)
        supervisor = Supervisor(
            max_processes=settings.ffmpeg.max_processes,
            clock=clock,
            metrics=metrics,
            registry=settings.data_dir / "ffmpeg.pids",
        )

        async def now_playing(number: ChannelNumber, at: datetime) -> NowPlaying | None:
            on_air = await playouts.now(number, at)
            return on_air.playing if on_air is not None else None

        live = LiveChannels(
            supervisor,
            clock,
            now=now_playing,
            item=catalog.item,
            ffmpeg=settings.ffmpeg.ffmpeg_path,
            idle_timeout=settings.streaming.idle_timeout_sec,
            metrics=metrics,
        )
        metrics.live_channels.set_function(lambda: len(live.sessions))
        metrics.live_viewers.set_function(live.viewer_count)
        container = Container(
            settings=settings,
            clock=clock,
            metrics=metrics,
            redactor=redactor,
            engine=engine,
            sessions=sessions,
            libraries=libraries,
            catalog=catalog,
            channels=channels,
            schedules=schedules,
            playouts=playouts,
            extender=extender,
            admin_keys=AdminKeys(sessions),
            guide=GuideService(sessions, settings, clock, metrics, changes),
            device=DeviceIdentity(sessions, settings),
            streaming=StreamingService(
                channels, TunerPool(settings.hdhomerun.tuner_count), live, metrics
            ),
            logos=LogoService(settings),
            demo=DemoSetup(
                settings, libraries, catalog, channels, schedules=schedules, playouts=playouts
            ),
            supervisor=supervisor,
            live=live,
        )
        await supervisor.start()
        try:
            yield container
        finally:
            await live.close()
            await supervisor.close()
            await extender.stop()
            await libraries.close()
    finally:
        await engine.dispose()


async def start_up(container: Container, *, extend_playouts: bool = True) -> str | None:
    """One-time start-up work before serving. Returns a newly created admin key, if any.

    Marks scans interrupted by a previous crash as failed, creates libraries declared in
    the config (and scans them in the background), installs the demo on first run, and
    starts the playout extender (its first pass builds every playout to the horizon;
    ``extend_playouts=False`` leaves it stopped).
    """
    new_key = await container.admin_keys.ensure()
    await container.device.ensure()  # the DeviceID is fixed before any client can see it
    async with transaction(container.sessions) as session:
        stale = await LibraryRepository(session).fail_interrupted_scans(container.clock.now())
    if stale:
        log.warning("%d scan(s) were interrupted by the last shutdown and marked failed", stale)
    for problem in await container.libraries.ensure_configured():
        log.error("%s", problem)
    if await container.demo.needed():
        await container.demo.install()
    elif container.settings.libraries:
        for library in await container.libraries.libraries():
            if library.managed_by_config and not container.libraries.is_scanning(library.id):
                await container.libraries.start_scan(library.id)
    if extend_playouts:
        container.extender.start()
    return new_key

"""Wires settings, the database and the services together, and owns their lifecycle.

Nothing is built at import time: :func:`open_container` creates everything from validated
settings and disposes of it on exit (scans cancelled, connections closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from exstreamtv.agent.metadata_resolution import in_metadata_resolution_context
from exstreamtv.clock import Clock, SystemClock
from exstreamtv.config import Settings
from exstreamtv.errors import DataDirError
from exstreamtv.log_ring import LogRing
from exstreamtv.logs import SecretRedactor
from exstreamtv.loop_lag import LoopLag
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.playback.tuners import TunerPool
from exstreamtv.services.admin_key import AdminKeys
from exstreamtv.services.admin_sessions import KEY_FILE_NAME as SESSION_KEY_FILE
from exstreamtv.services.admin_sessions import AdminSessions
from exstreamtv.services.automation import Automation, build_automation, channel_llm
from exstreamtv.services.backup_schedule import BackupSchedule
from exstreamtv.services.backups import Backups
from exstreamtv.services.catalog import CatalogService
from exstreamtv.services.catchup import CatchupService
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.services.channel_plans import ChannelPlanService
from exstreamtv.services.channels import ChannelService
from exstreamtv.services.demo import DemoSetup
from exstreamtv.services.device import DeviceIdentity
from exstreamtv.services.fallback_filler import FallbackFiller, outage_lookup
from exstreamtv.services.guide import GuideService
from exstreamtv.services.guide_grid import GuideGrid
from exstreamtv.services.library import LibraryService
from exstreamtv.services.logos import LogoService
from exstreamtv.services.media_faults import MediaFaultReports
from exstreamtv.services.media_locations import MediaLocator
from exstreamtv.services.media_proxy import MediaProxy
from exstreamtv.services.media_servers import MediaServerService
from exstreamtv.services.metadata_health import MetadataHealthService
from exstreamtv.services.online_sources import OnlineSourceService
from exstreamtv.services.playback_trials import PlaybackTrials
from exstreamtv.services.playout_extender import PlayoutExtender
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.plex_guide import PlexGuideReload
from exstreamtv.services.profiles import ProfileService
from exstreamtv.services.schedules import ScheduleService
from exstreamtv.services.server_sync import ServerSync
from exstreamtv.services.sign_in_attempts import SignInAttempts
from exstreamtv.services.station_import import StationImport
from exstreamtv.services.streaming import StreamingService
from exstreamtv.services.troubleshooting import TroubleshootingService
from exstreamtv.services.warm_up import Step, WarmUp
from exstreamtv.store.database import (
    create_engine,
    make_sqlite_file_private,
    session_factory,
    transaction,
    upgrade_schema,
)
from exstreamtv.store.key_files import tighten
from exstreamtv.store.libraries import LibraryRepository

log = logging.getLogger(__name__)
PRIVATE_DIR = 0o700


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
    admin_sessions: AdminSessions
    guide: GuideService
    device: DeviceIdentity
    streaming: StreamingService
    catchup: CatchupService
    logos: LogoService
    demo: DemoSetup
    supervisor: Supervisor
    live: LiveChannels
    log_ring: LogRing
    metadata_health: MetadataHealthService
    troubleshooting: TroubleshootingService
    profiles: ProfileService
    automation: Automation
    media_servers: MediaServerService
    plex_guide: PlexGuideReload
    loop_lag: LoopLag
    sign_ins: SignInAttempts
    imports: StationImport
    backups: Backups
    backup_schedule: BackupSchedule
    guide_grid: GuideGrid
    trials: PlaybackTrials
    channel_plans: ChannelPlanService
    online: OnlineSourceService
    warm_up: WarmUp


def prepare_data_dir(path: Path) -> Path:
    """Create the data directory (mode 0700) if needed and prove it is writable.

    The directory holds the database, key files and the config file: group and others
    lose every permission on the directory and on each file directly in it (0755 becomes
    0700, 0644 becomes 0600), with a warning.
    Raises :class:`DataDirError` naming the directory and the reason.
    """
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise DataDirError(f"data directory {path} is not usable: {reason}") from err
    tighten(path)
    for entry in path.iterdir():
        if entry.is_file() and not entry.is_symlink():
            tighten(entry)
    return path


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings, for log redaction."""
    values = [settings.server.access_token, settings.llm.api_key, settings.database.url]
    found = [v.get_secret_value() for v in values if v is not None]
    if settings.database.url is not None:
        with contextlib.suppress(ArgumentError, ValueError):
            password = make_url(settings.database.url.get_secret_value()).password
            found.append(str(password) if password else "")
    return found


@contextlib.asynccontextmanager
async def open_container(  # noqa: PLR0915 - the wiring: one statement per service
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
    await asyncio.to_thread(prepare_data_dir, settings.data_dir)
    await asyncio.to_thread(make_sqlite_file_private, settings.database_url)
    redactor = redactor or SecretRedactor()
    redactor.register(secrets_of(settings))
    clock = clock or SystemClock()
    metrics = Metrics()
    engine = create_engine(settings.database_url, settings.database.pool_size)
    try:
        await upgrade_schema(engine)
        sessions = session_factory(engine)
        media_servers = MediaServerService(sessions, settings, clock, metrics, redactor)
        catalog = CatalogService(sessions, clock)
        locks = ChannelLocks()
        changes = GuideChanges()
        plex_guide = PlexGuideReload(media_servers, changes, clock)
        channels = ChannelService(sessions, clock, locks, changes)
        playouts = PlayoutService(sessions, settings, clock, metrics, locks, changes=changes)
        media_faults = MediaFaultReports(playouts)
        online = OnlineSourceService(
            sessions, settings, clock, redactor, media_servers, on_gone=media_faults.report
        )
        remote = ServerSync(
            sessions, online.open, clock, seal=online.seal,
            guide_hours=settings.playout.horizon_hours, changes=changes,
        )  # fmt: skip
        libraries = LibraryService(
            sessions, settings, clock, metrics, remote=remote,
            on_missing=playouts.drop_unavailable, after_scan=catalog.sync_automatic,
        )  # fmt: skip
        schedules = ScheduleService(sessions, clock, playouts)
        extender = PlayoutExtender(playouts)
        admin_keys = AdminKeys(sessions)
        supervisor = Supervisor(
            max_processes=settings.ffmpeg.max_processes,
            clock=clock,
            metrics=metrics,
            registry=settings.data_dir / "ffmpeg.pids",
            watchdog_timeout=settings.streaming.watchdog_timeout_sec,
            watchdog_interval=min(5.0, settings.streaming.watchdog_timeout_sec / 4),
        )

        proxy = MediaProxy(media_servers, clock)
        locator = MediaLocator(sessions, media_servers, catalog.item, proxy, online.locate)
        filler = FallbackFiller(sessions)
        backups = Backups(settings, engine, clock)
        logos = LogoService(settings)
        profiles = ProfileService(sessions, logos)
        live = LiveChannels(
            supervisor,
            clock,
            now=playouts.playing,
            item=locator.item,
            what_plays=lambda channel: outage_lookup(
                channel, playouts.playing, locator.item, filler
            ),
            ffmpeg=settings.ffmpeg.ffmpeg_path,
            ffprobe=settings.ffmpeg.ffprobe_path,
            idle_timeout=settings.streaming.idle_timeout_sec,
            metrics=metrics,
            profile_for=profiles.for_channel,
            viewer_max_lag=settings.streaming.viewer_max_lag_sec,
            on_media_fault=media_faults.report,
            hls_dvr_minutes=settings.streaming.hls_dvr_minutes,
        )
        metrics.live_channels.set_function(lambda: live.running)
        metrics.pool_pressure.set_function(lambda: supervisor.pool_pressure)
        metrics.restart_velocity.set_function(lambda: supervisor.restart_velocity)
        loop_lag = LoopLag()
        metrics.event_loop_lag.set_function(lambda: loop_lag.worst)
        # The log ring (GET /api/logs, troubleshooting) keeps redacted records only.
        log_ring = LogRing(redactor)
        health = MetadataHealthService(sessions, settings, clock, metrics)
        troubleshooting = TroubleshootingService(
            log_ring, supervisor=supervisor, live=live, health=health, metrics=metrics,
            clock=clock, redactor=redactor, in_resolution=in_metadata_resolution_context,
            resolution_enabled=settings.ai_agent.metadata_self_resolution_enabled,
            loop_lag=lambda: loop_lag.worst,
        )  # fmt: skip
        log_ring.listen(troubleshooting.observe)
        guide = GuideService(
            sessions, settings, clock, metrics, changes, on_generated=health.guide_generated
        )
        automation = build_automation(
            settings, sessions=sessions, clock=clock, metrics=metrics, redactor=redactor,
            supervisor=supervisor, live=live, guide=guide, changes=changes, playouts=playouts,
            health=health, troubleshooting=troubleshooting, log_ring=log_ring,
        )  # fmt: skip
        metrics.live_viewers.set_function(live.viewer_count)
        streaming = StreamingService(
            channels, TunerPool(settings.hdhomerun.tuner_count), live, metrics
        )
        channels.on_retired(streaming.retire)
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
            admin_keys=admin_keys,
            admin_sessions=AdminSessions(
                sessions, clock, admin_keys, settings.data_dir / SESSION_KEY_FILE
            ),
            guide=guide,
            device=DeviceIdentity(sessions, settings),
            streaming=streaming,
            catchup=CatchupService(settings, clock, playouts, streaming),
            logos=logos,
            demo=DemoSetup(
                settings, libraries, catalog, channels, schedules=schedules, playouts=playouts
            ),
            supervisor=supervisor,
            live=live,
            log_ring=log_ring,
            metadata_health=health,
            troubleshooting=troubleshooting,
            profiles=profiles,
            automation=automation,
            media_servers=media_servers,
            plex_guide=plex_guide,
            loop_lag=loop_lag,
            sign_ins=SignInAttempts(clock, metrics),
            imports=StationImport(sessions, clock, logos, playouts, changes),
            backups=backups,
            backup_schedule=BackupSchedule(backups, settings.backup),
            guide_grid=GuideGrid(sessions, clock, guide),
            trials=PlaybackTrials(
                settings,
                clock,
                supervisor,
                redactor,
                log_ring,
                item=locator.item,
                profiles=profiles,
            ),
            channel_plans=ChannelPlanService(
                sessions, clock, playouts, changes, llm=channel_llm(automation, redactor)
            ),
            online=online,
            warm_up=WarmUp(),
        )
        await supervisor.start()
        loop_lag.start()
        log_ring.install()
        try:
            yield container
        finally:
            await container.warm_up.close()
            await container.backup_schedule.stop()
            await loop_lag.close()
            await automation.close()
            await guide.close()
            log_ring.uninstall()
            await health.close()
            await live.close()
            await media_faults.close()
            await container.trials.close()
            await supervisor.close()
            await extender.stop()
            await libraries.close()
            await plex_guide.stop()
            await proxy.close()
            await online.close()
            await media_servers.close()
    finally:
        await engine.dispose()


async def start_up(container: Container, *, extend_playouts: bool = True) -> str | None:
    """:func:`prepare`, then :func:`warm_up` in the background. Returns a newly created
    admin key, if any. (``exstreamtv serve`` binds its port between the two.)"""
    new_key = await prepare(container)
    warm_up(container, extend_playouts=extend_playouts)
    return new_key


async def prepare(container: Container) -> str | None:
    """The start-up work needed before the first answer. Returns a newly created admin
    key, if any.

    Ensures the admin key, the DeviceID, the default stream profile; registers media
    server secrets for redaction; marks scans interrupted by a previous crash as failed;
    creates libraries declared in the config (and starts their scans in the background);
    installs the demo on first run. Nothing here is per channel.
    """
    new_key = await container.admin_keys.ensure()
    await container.device.ensure()  # the DeviceID is fixed before any client can see it
    await container.media_servers.register_secrets()  # before anything can log a token
    await container.online.register_secrets()
    await container.profiles.ensure_default()
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
    return new_key


def warm_up(container: Container, *, extend_playouts: bool = True) -> None:
    """Start the work that waits until the server listens (``/readyz`` is 503 until it
    is done): list FFmpeg's encoders (hardware encoders this machine lacks are replaced
    by libx264), start the playout extender and wait for its first pass, which builds
    every playout to the horizon (``extend_playouts=False`` leaves it stopped), start the
    5-minute metadata self-resolution schedule (it does nothing unless the ``ai_agent``
    flags allow it), the Plex guide reloads and the scheduled backups."""

    async def encoders() -> None:
        await container.profiles.detect_encoders(container.settings.ffmpeg.ffmpeg_path)

    async def playouts() -> None:
        container.extender.start()
        await container.extender.wait_for_passes(1)

    async def schedules() -> None:
        container.automation.resolution.start()
        container.plex_guide.start()  # asks Plex DVRs to reload our guide after changes
        container.backup_schedule.start()

    steps: list[Step] = [("ffmpeg encoders", encoders)]
    if extend_playouts:
        steps.append(("playouts", playouts))
    steps.append(("schedules", schedules))
    container.warm_up.start(steps)

"""Playout use cases: build channel playouts, read what is on, preview schedules.

A build loads the schedule and its collections, runs the pure engine in a worker thread
(nothing CPU-heavy runs on the event loop) and applies the result in one transaction:
replace the entries after the plan's boundary (see ``playout_plan``), drop entries that
finished before the kept history (``catchup.days``, at least :data:`TRIM_AFTER`: every
build prunes, and the hourly extension builds every channel), and record the build and its
warnings. Builds
of one channel are serialised by a per-channel lock; builds of different channels run
concurrently. All times are aware UTC.

Missing media leaves the future at once: :meth:`PlayoutService.drop_unavailable` rebuilds
each channel from the first programme after the one on air that uses a missing or deleted
file (everything before it keeps its slot); a library scan that marks files missing, the
stream failing to open a file (:meth:`PlayoutService.media_missing`) and every extender
pass call it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.media import MediaState
from exstreamtv.domain.overview import OverviewRun, overview
from exstreamtv.domain.playout import (
    BuildWarning,
    NowPlaying,
    Playable,
    floor_second,
    from_ms,
    to_ms,
)
from exstreamtv.domain.schedules import Schedule
from exstreamtv.errors import Conflict, Gone, InvalidInput, NotFound
from exstreamtv.metrics import Metrics
from exstreamtv.scheduling.engine import BuildInputs, BuildResult, build
from exstreamtv.scheduling.localtime import zone
from exstreamtv.scheduling.state import BuildState
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.channel_locks import ChannelLocks
from exstreamtv.services.playout_inputs import load_inputs, missing_warnings, playables_by_id
from exstreamtv.services.playout_plan import BuildMode, BuildPlan, plan_build, plan_repair
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import ListedEntry, MediaSummary, PlayoutInfo, PlayoutRepository
from exstreamtv.store.schedules import ScheduleRepository

log = logging.getLogger(__name__)
TRIM_AFTER = timedelta(hours=6)
"""Past rows kept even with catch-up off (the guide starts an hour back; joins look back)."""
DEFAULT_WINDOW = timedelta(hours=6)
MAX_WINDOW = timedelta(days=7)
MAX_PREVIEW_HOURS = 168
Planner = Callable[["PlayoutRepository", int, BuildMode, int], Awaitable[BuildPlan | None]]


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """What a build did: entries replaced (``removed``), old ones dropped (``trimmed``),
    entries added and the span they cover (UTC; ``None`` when nothing was added)."""

    channel: str
    mode: BuildMode
    removed: int
    trimmed: int
    added: int
    first: datetime | None
    last: datetime | None
    warnings: tuple[BuildWarning, ...]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """How many channels a batch of builds built, and how many failed (logged)."""

    built: int
    failed: int


@dataclass(frozen=True, slots=True)
class OnAir:
    """What is on at a moment (as ``Timeline.at`` says) and its media's summary."""

    playing: NowPlaying
    media: MediaSummary | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A channel after a schedule was attached (with the reset build) or detached."""

    channel: Channel
    build: BuildSummary | None


@dataclass(frozen=True, slots=True)
class Preview:
    """Entries a schedule would produce (nothing saved), their :func:`overview` and the
    build's warnings."""

    entries: list[ListedEntry]
    overview: list[OverviewRun]
    warnings: list[BuildWarning]


class PlayoutService:
    """Builds and reads channel playouts."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        locks: ChannelLocks,
        *,
        changes: GuideChanges | None = None,
    ) -> None:
        self._changes = changes or GuideChanges()
        self._sessions = sessions
        self._horizon = timedelta(hours=settings.playout.horizon_hours)
        self.history = max(TRIM_AFTER, timedelta(days=settings.catchup.days))
        self._clock = clock
        self._metrics = metrics
        self._locks = locks

    async def build(self, number: ChannelNumber, mode: BuildMode) -> BuildSummary:
        """Build the channel's playout up to now + the horizon, in ``mode``.

        The build is recorded (time, mode, warnings) unless it is a ``continue`` that had
        nothing to add. Raises :class:`NotFound` for an unknown channel and
        :class:`Conflict` for a channel without a schedule.
        """
        return await self._build_planned(await self._channel(number), mode)

    async def attach(self, number: ChannelNumber, schedule_id: int | None) -> Attachment:
        """Attach a schedule and reset the playout from the end of the airing programme;
        or, with ``None``, detach it and drop everything after the airing programme.

        Raises NotFound for the channel and :class:`InvalidInput` for an unknown schedule.
        """
        async with transaction(self._sessions) as session:
            repo = ChannelRepository(session)
            channel = await repo.set_schedule(number, schedule_id, self._clock.now())
        self._changes.channel_changed(channel.id)  # the mismatch check reads the schedule
        if schedule_id is None:
            async with self._locks.lock(channel.id):
                await self._cut_after_airing(channel.id)
            return Attachment(channel, None)
        return Attachment(channel, await self._build_planned(channel, BuildMode.RESET))

    async def extend_all(self) -> BuildReport:
        """``continue`` every enabled channel that has a schedule. A failing channel is
        logged and counted; it never stops the others."""
        async with self._sessions() as session:
            channels = await ChannelRepository(session).scheduled()
        return await self.build_each(channels, BuildMode.CONTINUE)

    async def drop_unavailable(self) -> BuildReport:
        """Take media that is missing (or was deleted) out of every channel's future.

        Each channel whose playout uses such media after the programme on air is rebuilt
        from the first programme that does, with the cursor stored before it: entries
        before it keep their slots, the airing programme is never touched, and the rebuilt
        ones (built with present media only) leave it out. The guide follows at once. A
        failing channel is logged and counted, never raised.
        """
        async with self._sessions() as session:
            ids = await PlayoutRepository(session).channels_with_unavailable(self._clock.now())
            wanted = set(ids)
            channels = [
                c
                for c in await ChannelRepository(session).all()
                if c.id in wanted and c.schedule_id is not None
            ]
        return await self.build_each(channels, BuildMode.REFRESH, planner=_repair_plan)

    async def media_missing(self, media_id: int, reason: str) -> BuildReport:
        """Mark the media item ``media_id`` missing, saying why (``reason``, for people:
        "the stream could not open it: No such file or directory"), then
        :meth:`drop_unavailable`. Meant for a *local* file the stream found gone; an
        unknown or already missing item is left as it is. Await it off the streaming path
        (as a task): it writes to the database and rebuilds playouts."""
        async with transaction(self._sessions) as session:
            media = MediaRepository(session)
            item = await media.get(media_id)
            if item is not None and item.state is MediaState.PRESENT:
                await media.mark_missing([media_id], self._clock.now(), reason)
                log.warning("media item %d (%s) is missing: %s", media_id, item.path, reason)
        return await self.drop_unavailable()

    async def build_each(
        self, channels: Sequence[Channel], mode: BuildMode, *, planner: Planner | None = None
    ) -> BuildReport:
        """Build each channel in ``mode`` (or as ``planner`` plans; a channel it has nothing
        to plan for is not counted), one after another; failures are logged and counted,
        never raised."""
        built = failed = 0
        for channel in channels:
            try:
                if await self._build(channel, mode, planner or _plan) is not None:
                    built += 1
            except Exception:  # the top of one channel's build in a batch: log, count, go on
                failed += 1
                log.exception(
                    "playout %s of channel %s failed",
                    mode.value,
                    channel.number,
                    extra={"channel": str(channel.number)},
                )
        return BuildReport(built, failed)

    async def now(self, number: ChannelNumber, moment: datetime | None = None) -> OnAir | None:
        """What is on at ``moment`` (default now, aware) or ``None`` when nothing is
        scheduled; equal to ``Timeline(stored entries).at(moment)``."""
        at = self._aware(moment or self._clock.now(), "at")
        async with self._sessions() as session:
            channel = await ChannelRepository(session).get(number)
            found = await PlayoutRepository(session).entry_at(channel.id, at)
        if found is None:
            return None
        return OnAir(NowPlaying(found.entry, to_ms(at) - found.entry.start_ms), found.media)

    async def aired(self, number: ChannelNumber, at: datetime) -> OnAir:
        """What aired at past instant ``at``, if it can be replayed: raises :class:`Gone`
        when no row covers ``at`` (pruned, or before the channel's first build) or when
        its file went missing (or was deleted) since, naming it."""
        async with self._sessions() as session:
            channel = await ChannelRepository(session).get(number)
            repo = PlayoutRepository(session)
            found = await repo.entry_at(channel.id, at)
            if found is None:
                raise Gone(
                    f"channel {number} has no playout at {at.isoformat()}: it is "
                    "older than the kept history or before the channel's first build"
                )
            missing = await repo.first_unavailable(channel.id, found.entry.start)
        if missing is not None and missing.start_ms == found.entry.start_ms:
            what = found.media.title if found.media is not None else "its media"
            raise Gone(
                f"channel {number} at {at.isoformat()}: the file of {what!r} is "
                "missing or was removed since it aired"
            )
        return OnAir(NowPlaying(found.entry, to_ms(at) - found.entry.start_ms), found.media)

    async def playing(self, number: ChannelNumber, at: datetime) -> NowPlaying | None:
        """What the stream plays at ``at``: :meth:`now` without the media row."""
        on_air = await self.now(number, at)
        return on_air.playing if on_air is not None else None

    async def entries(
        self, number: ChannelNumber, start: datetime | None = None, end: datetime | None = None
    ) -> list[ListedEntry]:
        """Entries overlapping ``[start, end)`` (default now to now + 6 h), in order.

        Raises :class:`InvalidInput` when ``end`` is not after ``start`` or the window is
        longer than 7 days.
        """
        start = self._aware(start or self._clock.now(), "from")
        end = self._aware(end or start + DEFAULT_WINDOW, "to")
        if end <= start:
            raise InvalidInput("to: must be after from")
        if end - start > MAX_WINDOW:
            raise InvalidInput("to: the window from..to is at most 7 days")
        async with self._sessions() as session:
            channel = await ChannelRepository(session).get(number)
            return await PlayoutRepository(session).entries(channel.id, start, end)

    async def info(self, number: ChannelNumber) -> PlayoutInfo:
        """The channel's latest build (mode, time, warnings) and its stored extent."""
        async with self._sessions() as session:
            channel = await ChannelRepository(session).get(number)
            return await PlayoutRepository(session).playout_info(channel.id)

    async def preview(
        self, schedule: Schedule, hours: int, start: datetime | None = None
    ) -> Preview:
        """Build ``hours`` (1-168) of ``schedule`` from ``start`` (default now) without
        saving anything. Raises :class:`InvalidInput` for bad hours or an unknown zone."""
        if not 1 <= hours <= MAX_PREVIEW_HOURS:
            raise InvalidInput(f"hours: must be between 1 and {MAX_PREVIEW_HOURS}")
        zone(schedule.timezone)
        self._aware(start or self._clock.now(), "start")  # refused before anything loads
        async with self._sessions() as session:
            inputs = await load_inputs(session, schedule)
        return await self.preview_inputs(inputs, hours, start)

    async def preview_inputs(
        self, inputs: BuildInputs, hours: int, start: datetime | None = None
    ) -> Preview:
        """:meth:`preview` of already loaded inputs (a schedule not stored yet, over
        collections given by content)."""
        begin = self._aware(start or self._clock.now(), "start")
        begin = from_ms(floor_second(to_ms(begin)))  # as a build would start it
        until = begin + timedelta(hours=hours)
        return await asyncio.to_thread(_previewed, inputs, begin, until)

    async def preview_saved(
        self, schedule_id: int, hours: int, start: datetime | None = None
    ) -> Preview:
        """:meth:`preview` of a stored schedule (NotFound if there is none)."""
        async with self._sessions() as session:
            schedule = await ScheduleRepository(session).get(schedule_id)
        return await self.preview(schedule, hours, start)

    async def _channel(self, number: ChannelNumber) -> Channel:
        async with self._sessions() as session:
            return await ChannelRepository(session).get(number)

    async def _build_planned(self, channel: Channel, mode: BuildMode) -> BuildSummary:
        """:meth:`_build` with the plan of ``mode`` (which always plans a build)."""
        summary = await self._build(channel, mode, _plan)
        return summary or _summarise(channel, mode, removed=0, trimmed=0, result=None)

    async def _build(
        self, channel: Channel, mode: BuildMode, planner: Planner
    ) -> BuildSummary | None:
        """Build as ``planner`` plans (``None``: it planned nothing, and nothing was done)."""
        started = self._clock.monotonic()
        label = str(channel.number)
        try:
            async with self._locks.lock(channel.id):
                summary = await self._build_locked(channel.id, mode, planner)
        except Exception:
            self._metrics.playout_builds.labels(label, mode.value, "failed").inc()
            raise
        if summary is None:
            return None
        self._metrics.playout_builds.labels(label, mode.value, "built").inc()
        self._metrics.playout_build_duration.labels(mode.value).observe(
            self._clock.monotonic() - started
        )
        log.info(
            "playout %s of channel %s: %d removed, %d added, %d warning(s)",
            mode.value, label, summary.removed, summary.added, len(summary.warnings),
            extra={"channel": label},
        )  # fmt: skip
        return summary

    async def _build_locked(
        self, channel_id: int, mode: BuildMode, planner: Planner
    ) -> BuildSummary | None:
        now = self._clock.now()
        until = now + self._horizon
        channel, plan, inputs = await self._prepare(channel_id, mode, now, until, planner)
        if plan is None:  # a repair that found nothing to repair
            return None
        if inputs is None:  # already built far enough: nothing for the engine to do
            result = BuildResult([], [], plan.state, [])
        else:
            result = await self._run(inputs, plan.state, from_ms(plan.boundary_ms), until)
            async with self._sessions() as session:
                result.warnings.extend(await missing_warnings(session, inputs))
        async with transaction(self._sessions) as session:
            repo = PlayoutRepository(session)
            removed = await repo.replace_from(
                channel_id, from_ms(plan.boundary_ms), result.entries, result.cursors
            )
            trimmed = await repo.trim_before(channel_id, now - self.history)
            if mode is not BuildMode.CONTINUE or result.entries:
                await repo.record_build(
                    channel_id, channel.schedule_id, mode.value, now, result.warnings
                )
        if removed or result.entries:  # trimmed rows ended hours before any guide starts
            self._changes.playout_changed(channel_id, plan.boundary_ms)
        return _summarise(channel, mode, removed=removed, trimmed=trimmed, result=result)

    async def _prepare(
        self, channel_id: int, mode: BuildMode, now: datetime, until: datetime, planner: Planner
    ) -> tuple[Channel, BuildPlan | None, BuildInputs | None]:
        """The channel, the plan (``None``: nothing to do), and the engine's inputs
        (``None`` when the plan already reaches ``until``). Raises NotFound (channel gone)
        or Conflict (no schedule)."""
        async with self._sessions() as session:
            try:
                channel = await ChannelRepository(session).by_id(channel_id)
            except NotFound:
                self._locks.drop(channel_id)  # deleted meanwhile: keep the lock map bounded
                raise
            if channel.schedule_id is None:
                raise Conflict(f"channel {channel.number} has no schedule; attach one first")
            plan = await planner(PlayoutRepository(session), channel_id, mode, to_ms(now))
            if plan is None or plan.state.next_ms >= to_ms(until):
                return channel, plan, None
            schedule = await ScheduleRepository(session).get(channel.schedule_id)
            return channel, plan, await load_inputs(session, schedule)

    async def _run(
        self, inputs: BuildInputs, state: BuildState | None, start: datetime, until: datetime
    ) -> BuildResult:
        """The pure engine, in a worker thread (it is CPU-bound)."""
        return await asyncio.to_thread(build, inputs, state, start, until)

    async def _cut_after_airing(self, channel_id: int) -> None:
        """Drop every entry after the guide group on air now (all of them if none airs)."""
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            repo = PlayoutRepository(session)
            airing = await repo.entry_at(channel_id, now)
            end = None if airing is None else await repo.group_end(
                channel_id, airing.entry.guide_group
            )  # fmt: skip
            boundary = now if end is None else end.entry.finish
            await repo.replace_from(channel_id, boundary, [], [])
        self._changes.playout_changed(channel_id, to_ms(boundary))

    @staticmethod
    def _aware(moment: datetime, name: str) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidInput(f"{name}: a time zone is required (like 2026-01-01T00:00Z)")
        return moment


async def _plan(
    repo: PlayoutRepository, channel_id: int, mode: BuildMode, now_ms: int
) -> BuildPlan:
    last = await repo.last_entry(channel_id)
    airing_end = None
    if mode is not BuildMode.CONTINUE:
        airing = await repo.entry_at(channel_id, from_ms(now_ms))
        if airing is not None:
            airing_end = await repo.group_end(channel_id, airing.entry.guide_group)
    return plan_build(mode, now_ms, last=last, airing_end=airing_end)


async def _repair_plan(
    repo: PlayoutRepository, channel_id: int, _mode: BuildMode, now_ms: int
) -> BuildPlan | None:
    """Rebuild from the first guide group after the one on air that uses unavailable
    media; ``None`` when there is none."""
    after = from_ms(now_ms)
    airing = await repo.entry_at(channel_id, after)
    if airing is not None:
        end = await repo.group_end(channel_id, airing.entry.guide_group)
        after = end.entry.finish if end is not None else after
    first = await repo.first_unavailable(channel_id, after)
    if first is None:
        return None
    start = await repo.group_start(channel_id, first.guide_group) or first.start
    return plan_repair(to_ms(start), await repo.entry_before(channel_id, start))


def _summarise(
    channel: Channel, mode: BuildMode, *, removed: int, trimmed: int, result: BuildResult | None
) -> BuildSummary:
    entries = [] if result is None else result.entries
    return BuildSummary(
        channel=str(channel.number),
        mode=mode,
        removed=removed,
        trimmed=trimmed,
        added=len(entries),
        first=entries[0].start if entries else None,
        last=entries[-1].finish if entries else None,
        warnings=() if result is None else tuple(result.warnings),
    )


def _previewed(inputs: BuildInputs, begin: datetime, until: datetime) -> Preview:
    """Build, list and overview a preview: all CPU-bound, so all in one worker thread."""
    result = build(inputs, None, begin, until, cursors=False)  # nothing resumes from it
    media = playables_by_id(inputs.collections)
    summaries: dict[int | None, MediaSummary | None] = {}  # one per media, not per play
    entries = []
    for entry in result.entries:
        if entry.media_id not in summaries:
            summaries[entry.media_id] = _summary(media.get(entry.media_id or 0))
        entries.append(ListedEntry(entry, summaries[entry.media_id]))
    return Preview(entries, overview(result.entries), result.warnings)


def _summary(media: Playable | None) -> MediaSummary | None:
    if media is None:
        return None
    return MediaSummary(media.title, media.show, media.season, media.episode)

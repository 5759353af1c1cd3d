"""Metadata health from real data: the library, and what each channel's guide airs.

:meth:`MetadataHealthService.snapshot` reads the database (every present media item; every
enabled channel's playout rows over the guide window, now - 1 h to now + the playout
horizon, with their media items) and computes the reports of ``domain.metadata_health``
in a worker thread. It publishes them as Prometheus gauges (scopes: a channel number,
``global``, ``library``).

After each guide generation the guide calls :meth:`MetadataHealthService.guide_generated`,
which returns at once: a background *cycle* (at most one at a time; generations during a
cycle are coalesced into one more) takes a snapshot, counts drift (the ratio rising by more
than 0.1 since the previous cycle: a warning log and a counter) and early warnings, and
calls ``on_early_warning`` (``None`` for the global scope, else a channel id) without
awaiting anything it starts. A cycle that fails is logged and counted; it never reaches the
guide's response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel
from exstreamtv.domain.metadata_health import (
    HealthReport,
    HealthWarning,
    LookupSource,
    MetadataSample,
    combine,
    drifted,
    health_report,
    unknown_sample,
)
from exstreamtv.domain.playout import EntryKind, PlayoutEntry
from exstreamtv.metrics import Metrics
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.media import MediaRepository
from exstreamtv.store.playouts import PlayoutRepository

log = logging.getLogger(__name__)
MEDIA_CHUNK = 2000  # rows per query: bounded parameters, and short steps on the event loop
GLOBAL = "global"
LIBRARY = "library"

EarlyWarningHook = Callable[[int | None], None]
"""Called with ``None`` (global) or a channel id when a scope breaks an early-warning rule;
it must return at once (fire-and-forget)."""


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """One enabled channel's report over the content programmes of its guide window."""

    channel_id: int
    number: str
    name: str
    report: HealthReport


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """Reports at ``made_at`` (UTC): the library, every channel, and all channels together."""

    made_at: datetime
    library: HealthReport
    guide: HealthReport
    channels: tuple[ChannelHealth, ...]

    def ratio(self, scope: int | None) -> float:
        """``metadata_failure_ratio`` of a channel id (0.0 for an unknown or idle channel),
        or globally (``None``): over every channel's programmes, or over the library while
        no channel has any."""
        if scope is None:
            return self.guide.failure_ratio if self.guide.samples else self.library.failure_ratio
        found = next((c for c in self.channels if c.channel_id == scope), None)
        return found.report.failure_ratio if found else 0.0


class MetadataHealthService:
    """Computes, publishes and watches metadata health (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        *,
        on_early_warning: EarlyWarningHook | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self.on_early_warning = on_early_warning
        self._cycle: asyncio.Task[None] | None = None
        self._again = False
        self._previous: dict[str, float] = {}  # the last cycle's ratio by scope; pruned
        self._published: set[str] = set()
        self.last: HealthSnapshot | None = None

    # --- reading -----------------------------------------------------------------------

    async def snapshot(self) -> HealthSnapshot:
        """A fresh snapshot from the database, also published as metrics."""
        now = self._clock.now()
        start, end = (
            now - timedelta(hours=1),
            now + timedelta(hours=self._settings.playout.horizon_hours),
        )
        async with self._sessions() as session:
            channels = [c for c in await ChannelRepository(session).all() if c.enabled]
            entries = await PlayoutRepository(session).all_entries(start, end)
            media = MediaRepository(session)
            library: dict[int, MetadataSample] = {}
            after = 0
            while True:  # in chunks: each one's rows are processed on the event loop
                found = await media.health_samples(after_id=after, limit=MEDIA_CHUNK)
                library.update(found)
                if len(found) < MEDIA_CHUNK:
                    break
                after = max(found)
            wanted = sorted(
                {e.media_id for es in entries.values() for e in es if e.media_id} - set(library)
            )
            aired = dict(library)
            for at in range(0, len(wanted), MEDIA_CHUNK):
                aired.update(await media.health_samples(wanted[at : at + MEDIA_CHUNK]))
        snapshot = await asyncio.to_thread(_compute, now, channels, entries, library, aired)
        self._publish(snapshot)
        self.last = snapshot
        return snapshot

    async def failure_ratio(self, scope: int | None) -> float:
        """The current ``metadata_failure_ratio`` (0..1) of channel id ``scope``, or the
        global one for ``None`` (see :meth:`HealthSnapshot.ratio`). Reads the database."""
        return (await self.snapshot()).ratio(scope)

    # --- after each guide generation ---------------------------------------------------

    def guide_generated(self) -> None:
        """Start a health cycle in the background (or coalesce into the running one).

        Returns at once; never raises."""
        if self._cycle is not None and not self._cycle.done():
            self._again = True
            return
        self._cycle = asyncio.create_task(self._cycles(), name="metadata-health")

    async def idle(self) -> None:
        """Wait until no cycle is running (for shutdown and tests)."""
        while self._cycle is not None and not self._cycle.done():
            await asyncio.wait({self._cycle})

    async def close(self) -> None:
        """Cancel a running cycle and wait for it."""
        if self._cycle is not None:
            self._cycle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cycle

    async def _cycles(self) -> None:
        while True:
            self._again = False
            try:
                self._watch(await self.snapshot())
            except Exception:  # the top of a task: log; the guide is unaffected
                log.exception("metadata health cycle failed")
            if not self._again:
                return

    def _watch(self, snapshot: HealthSnapshot) -> None:
        scopes: list[tuple[str, int | None, HealthReport]] = [(GLOBAL, None, snapshot.guide)]
        scopes += [(c.number, c.channel_id, c.report) for c in snapshot.channels]
        current = {label: report.failure_ratio for label, _, report in scopes}
        warned: list[int | None] = []
        for label, scope, report in scopes:
            if drifted(self._previous.get(label), report.failure_ratio):
                self._metrics.metadata_drift.labels(label).inc()
                log.warning(
                    "metadata failure ratio of %s rose from %.2f to %.2f since the last guide",
                    label, self._previous[label], report.failure_ratio,
                    extra={"channel": label if scope is not None else "-"},
                )  # fmt: skip
            fired = report.warnings()
            for rule in fired:
                self._metrics.metadata_early_warnings.labels(label, rule.value).inc()
            if fired and report.samples:
                warned.append(scope)
                log.warning(
                    "metadata early warning for %s: %s",
                    label, ", ".join(fired), extra={"channel": label if scope is not None else "-"},
                )  # fmt: skip
        self._previous = current  # only scopes that still exist: bounded by the lineup
        self._fire(warned)

    def _fire(self, warned: Sequence[int | None]) -> None:
        """One hook call for the global scope when it warns, else one per warning channel."""
        hook = self.on_early_warning
        if hook is None or not warned:
            return
        for scope in [None] if None in warned else warned:
            try:
                hook(scope)
            except Exception:  # a broken hook must not stop health cycles
                log.exception("early-warning hook failed")

    # --- metrics -----------------------------------------------------------------------

    def _publish(self, snapshot: HealthSnapshot) -> None:
        scopes = {LIBRARY: snapshot.library, GLOBAL: snapshot.guide}
        scopes |= {c.number: c.report for c in snapshot.channels}
        for gone in self._published - set(scopes):
            self._forget(gone)
        self._published = set(scopes)
        m = self._metrics
        for label, report in scopes.items():
            m.metadata_failure_ratio.labels(label).set(report.failure_ratio)
            m.metadata_placeholder_ratio.labels(label).set(report.placeholder_ratio)
            m.metadata_placeholders.labels(label).set(report.placeholders)
            m.metadata_missing_episode_ratio.labels(label).set(report.missing_episode_ratio)
            m.metadata_missing_year_ratio.labels(label).set(report.missing_year_ratio)
            for source in LookupSource:
                for ok, result in ((True, "success"), (False, "failure")):
                    count = report.lookups.get((source, ok), 0)
                    m.metadata_lookups.labels(label, source.value, result).set(count)
            fired = report.warnings()
            for rule in HealthWarning:
                m.metadata_early_warning.labels(label, rule.value).set(float(rule in fired))

    def _forget(self, label: str) -> None:
        m = self._metrics
        for gauge in (
            m.metadata_failure_ratio, m.metadata_placeholder_ratio, m.metadata_placeholders,
            m.metadata_missing_episode_ratio, m.metadata_missing_year_ratio,
        ):  # fmt: skip
            with contextlib.suppress(KeyError):
                gauge.remove(label)
        for source in LookupSource:
            for result in ("success", "failure"):
                with contextlib.suppress(KeyError):
                    m.metadata_lookups.remove(label, source.value, result)
        for rule in HealthWarning:
            with contextlib.suppress(KeyError):
                m.metadata_early_warning.remove(label, rule.value)


def channel_samples(
    entries: Sequence[PlayoutEntry], media: dict[int, MetadataSample]
) -> list[MetadataSample]:
    """One sample per content programme: each (guide group, media item) of the content
    entries, in order (mid-roll breaks split one programme into several entries)."""
    seen: set[tuple[int, int]] = set()
    samples: list[MetadataSample] = []
    for entry in entries:
        if entry.kind is not EntryKind.CONTENT or entry.media_id is None:
            continue
        key = (entry.guide_group, entry.media_id)
        if key not in seen:
            seen.add(key)
            samples.append(media.get(entry.media_id) or unknown_sample())
    return samples


def _compute(
    now: datetime,
    channels: list[Channel],
    entries: dict[int, list[PlayoutEntry]],
    library: dict[int, MetadataSample],
    aired: dict[int, MetadataSample],
) -> HealthSnapshot:
    per_channel = tuple(
        ChannelHealth(
            c.id,
            str(c.number),
            c.name,
            health_report(channel_samples(entries.get(c.id, []), aired)),
        )
        for c in channels
    )
    return HealthSnapshot(
        made_at=now,
        library=health_report(library.values()),
        guide=combine(c.report for c in per_channel),
        channels=per_channel,
    )

"""The automation layer wired to the real services: the agent's tools, its containment, its
planner, and metadata self-resolution.

Tools (see ``agent/tools.py`` for the registry's rules):

=========================== ====== ========== =================================================
tool                        risk   cooldown   does
=========================== ====== ========== =================================================
fetch_metadata_logs         LOW    5 s        counts by status and the commonest failure reasons
reparse_filename_metadata   LOW    30 s       re-reads NFO, folder and file name of placeholder
                                              or failed items (no probe)
reprobe_media               LOW    30 s       re-reads and re-probes items never probed
refresh_source_metadata     LOW    30 s       asks the media server again (injected refresher);
                                              a no-op for local items
rebuild_xmltv               LOW    5 s        invalidates the guide cache and regenerates it
rebuild_playout             MEDIUM 120 s      ``refresh`` build of one channel
restart_channel             HIGH   120 s      restarts a streaming channel through the
                                              supervisor's restart path
=========================== ====== ========== =================================================

File work (listing folders, reading NFOs) runs in a worker thread; database work is async.
A metadata tool *fails* when it could not do its work (every item it tried was unreadable
or failed to probe, or the database refused), not when nothing needed doing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.agent.channel_planner import LLMChannelPlanner
from exstreamtv.agent.containment import Containment
from exstreamtv.agent.llm import LLMPlanner
from exstreamtv.agent.loop import AgentLoop
from exstreamtv.agent.metadata_resolution import MetadataSelfResolution
from exstreamtv.agent.planner import Planner, RulePlanner
from exstreamtv.agent.redact import PromptRedactor
from exstreamtv.agent.tools import (
    ChannelArgs,
    GuideArgs,
    ItemsArgs,
    LogsArgs,
    Risk,
    Tool,
    ToolKind,
    ToolRegistry,
    ToolResult,
)
from exstreamtv.agent.troubleshooting import LLMTroubleshooter
from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.libraries import Library, SourceKind
from exstreamtv.domain.media import (
    FileStamp,
    MediaItem,
    MediaMetadata,
    MetadataStatus,
    ScannedFile,
)
from exstreamtv.errors import NotFound
from exstreamtv.log_ring import LogRing
from exstreamtv.logs import SecretRedactor
from exstreamtv.metrics import Metrics
from exstreamtv.playback.channels import LiveChannels
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.guide import GuideLinks, GuideService
from exstreamtv.services.metadata_health import MetadataHealthService
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.services.troubleshooting import TroubleshootingService
from exstreamtv.sources.local import KIND_HINTS, describe, locate, read_file_metadata
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import KnownFile, MediaRepository
from exstreamtv.store.media_status import MediaStatusRepository

log = logging.getLogger(__name__)
SourceRefresher = Callable[[MediaItem, Library], Awaitable[bool]]
"""Re-fetches one item's metadata from its media server; True when it changed."""
_RANK = {MetadataStatus.OK: 0, MetadataStatus.PLACEHOLDER: 1, MetadataStatus.FAILED: 2}


@dataclass(frozen=True, slots=True)
class Automation:
    """The automation objects of one running server."""

    registry: ToolRegistry
    containment: Containment
    agent: AgentLoop
    resolution: MetadataSelfResolution
    planner: Planner

    async def close(self) -> None:
        await self.resolution.close()
        if isinstance(self.planner, LLMPlanner):
            await self.planner.close()


class MetadataTools:
    """The metadata tools. ``log_ring``, when given, adds recent metadata log lines to
    ``fetch_metadata_logs`` (they are redacted by the ring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        *,
        refresher: SourceRefresher | None = None,
        log_ring: LogRing | None = None,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings, clock
        self._refresher, self._ring = refresher, log_ring

    async def _items(
        self, channel: int | None, limit: int, *, unprobed: bool = False
    ) -> tuple[list[MediaItem], dict[int, Library]]:
        async with self._sessions() as session:
            items = await MediaStatusRepository(session).needing_work(
                channel, limit, unprobed=unprobed
            )
            libraries = LibraryRepository(session)
            found = {i: await libraries.get(i) for i in {item.library_id for item in items}}
        return items, found

    async def _save(self, item: MediaItem, scanned: ScannedFile) -> None:
        known = {item.path: KnownFile(item.id, scanned.stamp, item.state)}
        async with transaction(self._sessions) as session:
            await MediaRepository(session).save_scanned(
                item.library_id, [scanned], known, self._clock.now()
            )

    async def logs(self, args: LogsArgs) -> ToolResult:
        async with self._sessions() as session:
            status = MediaStatusRepository(session)
            counts = await status.counts(args.channel)
            reasons = await status.reasons(args.channel, args.limit)
        data: dict[str, int | float | str] = dict(counts)
        for number, (reason, count) in enumerate(reasons, start=1):
            data[f"reason_{number}"] = f"{reason[:200]} ({count})"
        if self._ring is not None:
            lines = self._ring.records(level="WARNING", text="metadata", limit=args.limit)
            for number, entry in enumerate(lines, start=1):
                data[f"log_{number}"] = entry.message[:200]
        bad = counts[MetadataStatus.PLACEHOLDER.value] + counts[MetadataStatus.FAILED.value]
        return ToolResult(True, f"{bad} item(s) with placeholder or failed metadata", data)

    async def reparse(self, args: ItemsArgs) -> ToolResult:
        items, libraries = await self._items(args.channel, args.limit)
        local = [i for i in items if libraries[i.library_id].source_kind is SourceKind.LOCAL]
        read = await asyncio.to_thread(_describe_all, local, libraries)
        improved = unreadable = 0
        for item, fresh in zip(local, read, strict=True):
            if fresh is None:
                unreadable += 1
                continue
            metadata, stamp = fresh
            if item.technical is None and item.metadata.status is MetadataStatus.FAILED:
                # still unprobed: the probe failure stands until reprobe_media succeeds
                metadata = replace(
                    metadata, status=item.metadata.status, reason=item.metadata.reason
                )
            if metadata == item.metadata:
                continue
            await self._save(item, ScannedFile(item.path, stamp, metadata, item.technical))
            improved += _RANK[metadata.status] < _RANK[item.metadata.status]
        data = {
            "checked": len(local),
            "improved": improved,
            "unreadable": unreadable,
            "unprobed": sum(1 for i in local if i.technical is None),
            "from_server": len(items) - len(local),
        }
        ok = not local or unreadable < len(local)
        return ToolResult(ok, f"{improved} of {len(local)} item(s) improved", data)

    async def reprobe(self, args: ItemsArgs) -> ToolResult:
        items, libraries = await self._items(args.channel, args.limit, unprobed=True)
        local = [i for i in items if libraries[i.library_id].source_kind is SourceKind.LOCAL]
        limit = asyncio.Semaphore(self._settings.scan.concurrency)

        async def reread(item: MediaItem) -> ScannedFile | None:
            library = libraries[item.library_id]
            found = await asyncio.to_thread(locate, item.path, library.paths)
            if found is None:
                return None
            async with limit:
                return await read_file_metadata(
                    found, library.kind, ffprobe=self._settings.ffmpeg.ffprobe_path,
                    probe_timeout=self._settings.scan.probe_timeout_sec,
                )  # fmt: skip

        probed = failed = 0
        for item, scanned in zip(local, await asyncio.gather(*map(reread, local)), strict=True):
            if scanned is None or scanned.technical is None:
                failed += 1
            else:
                probed += 1
            if scanned is not None:
                await self._save(item, scanned)
        data = {"checked": len(local), "probed": probed, "failed": failed}
        return ToolResult(not local or probed > 0, f"{probed} of {len(local)} probed", data)

    async def refresh_source(self, args: ItemsArgs) -> ToolResult:
        items, libraries = await self._items(args.channel, args.limit)
        remote = [i for i in items if libraries[i.library_id].source_kind is not SourceKind.LOCAL]
        if not remote:
            return ToolResult(True, "no item in scope came from a media server; nothing to do")
        if self._refresher is None:
            return ToolResult(
                True, "media-server refresh is not available in this version; nothing done",
                {"from_server": len(remote)},
            )  # fmt: skip
        changed = 0
        for item in remote:
            changed += await self._refresher(item, libraries[item.library_id])
        data = {"from_server": len(remote), "changed": changed}
        return ToolResult(True, f"{changed} of {len(remote)} item(s) refreshed", data)


def _describe_all(
    items: Sequence[MediaItem], libraries: dict[int, Library]
) -> list[tuple[MediaMetadata, FileStamp] | None]:
    """NFO/folder/file-name metadata and the current stamp of each item (blocking)."""
    found: list[tuple[MediaMetadata, FileStamp] | None] = []
    for item in items:
        library = libraries[item.library_id]
        located = locate(item.path, library.paths)
        if located is None:
            found.append(None)
            continue
        metadata = describe(located, KIND_HINTS.get(library.kind))
        found.append((metadata, located.stamp))
    return found


class ChannelTools:
    """The guide, playout and stream tools."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        guide: GuideService,
        changes: GuideChanges,
        playouts: PlayoutService,
        live: LiveChannels,
    ) -> None:
        self._sessions, self._settings = sessions, settings
        self._guide, self._changes, self._playouts, self._live = guide, changes, playouts, live

    async def number_of(self, channel_id: int) -> str | None:
        """The channel number (the supervisor's key) of a row id, or ``None``."""
        async with self._sessions() as session:
            try:
                return str((await ChannelRepository(session).by_id(channel_id)).number)
            except NotFound:
                return None

    async def rebuild_xmltv(self, _args: GuideArgs) -> ToolResult:
        self._changes.bump()
        server = self._settings.server
        base = server.base_url or f"http://{server.host}:{server.port}"
        document = await self._guide.xmltv(GuideLinks(base))
        size = 0
        async for chunk in document.gzip_stream():
            size += len(chunk)
        if document.failed is not None:
            return ToolResult(False, "the guide could not be rendered; see the server log")
        return ToolResult(True, "guide regenerated", {"gzip_bytes": size})

    async def rebuild_playout(self, args: ChannelArgs) -> ToolResult:
        async with self._sessions() as session:
            channel = await ChannelRepository(session).by_id(args.channel)
        summary = await self._playouts.build(channel.number, BuildMode.REFRESH)
        data = {"added": summary.added, "removed": summary.removed}
        return ToolResult(True, f"playout of channel {channel.number} refreshed", data)

    async def restart_channel(self, args: ChannelArgs) -> ToolResult:
        async with self._sessions() as session:
            channel = await ChannelRepository(session).by_id(args.channel)
        decision = await self._live.restart(channel.number, "agent")
        if decision is None:
            return ToolResult(True, f"channel {channel.number} is not streaming; nothing to do")
        if not decision.allowed:
            return ToolResult(False, f"the supervisor refused the restart: {decision.reason}")
        return ToolResult(True, f"channel {channel.number} restarted")


def build_registry(clock: Clock, metadata: MetadataTools, channels: ChannelTools) -> ToolRegistry:
    registry = ToolRegistry(clock)
    for tool in (
        Tool("fetch_metadata_logs", "metadata counts and failure reasons", LogsArgs, Risk.LOW,
             ToolKind.DIAGNOSTIC, metadata.logs),
        Tool("reparse_filename_metadata", "re-read NFO, folder and file name", ItemsArgs,
             Risk.LOW, ToolKind.METADATA, metadata.reparse),
        Tool("reprobe_media", "re-probe items never probed", ItemsArgs, Risk.LOW,
             ToolKind.METADATA, metadata.reprobe),
        Tool("refresh_source_metadata", "ask the media server again", ItemsArgs, Risk.LOW,
             ToolKind.METADATA, metadata.refresh_source),
        Tool("rebuild_xmltv", "invalidate and regenerate the guide", GuideArgs, Risk.LOW,
             ToolKind.DIAGNOSTIC, channels.rebuild_xmltv),
        Tool("rebuild_playout", "refresh a channel's playout", ChannelArgs, Risk.MEDIUM,
             ToolKind.PLAYOUT, channels.rebuild_playout),
        Tool("restart_channel", "restart a streaming channel", ChannelArgs, Risk.HIGH,
             ToolKind.STREAM, channels.restart_channel),
    ):  # fmt: skip
        registry.register(tool)
    return registry


def health_counters(metrics: Metrics) -> Callable[[], Awaitable[tuple[float, float]]]:
    """(guide validation failures, FFmpeg crashes) so far, read from the metrics."""

    def total(collector: Any, **labels: str) -> float:
        found = 0.0
        for family in collector.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    found += sample.value
        return found

    async def read() -> tuple[float, float]:
        return (
            total(metrics.guide_validation_failures),
            total(metrics.restarts, reason="crash"),
        )

    return read


def channel_llm(automation: Automation, redactor: SecretRedactor) -> LLMChannelPlanner | None:
    """The LLM reading of channel sentences, on the agent's LLM client when one is set."""
    planner = automation.planner
    if not isinstance(planner, LLMPlanner):
        return None
    return LLMChannelPlanner(planner, PromptRedactor(redactor))


def build_automation(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    metrics: Metrics,
    redactor: SecretRedactor,
    supervisor: Supervisor,
    live: LiveChannels,
    guide: GuideService,
    changes: GuideChanges,
    playouts: PlayoutService,
    health: MetadataHealthService,
    troubleshooting: TroubleshootingService | None = None,
    log_ring: LogRing | None = None,
    refresher: SourceRefresher | None = None,
) -> Automation:
    """Everything the automation layer needs, from the running services.

    Self-resolution reads the metadata failure ratio from ``health`` and is triggered
    (activation Section 2, fire-and-forget) by ``health``'s early warning after a guide
    generation and by ``troubleshooting``. Nothing starts here; ``resolution.start()``
    starts the 5-minute schedule."""
    metadata = MetadataTools(sessions, settings, clock, refresher=refresher, log_ring=log_ring)
    channels = ChannelTools(
        sessions, settings, guide=guide, changes=changes, playouts=playouts, live=live
    )
    registry = build_registry(clock, metadata, channels)
    containment = Containment(supervisor, clock, metrics)
    planner: Planner = RulePlanner()
    if settings.llm.base_url is not None:
        planner = LLMPlanner(settings.llm, PromptRedactor(redactor))
    agent = AgentLoop(
        settings.ai_agent, registry, planner, containment,
        clock=clock, metrics=metrics, channel_key=channels.number_of,
    )  # fmt: skip
    resolution = MetadataSelfResolution(
        settings.ai_agent, agent, ratio=health.failure_ratio,
        counters=health_counters(metrics), clock=clock, metrics=metrics,
        interval=settings.ai_agent.metadata_self_resolution_interval_sec,
    )  # fmt: skip

    def early_warning(scope: int | None) -> None:
        resolution.request_soon(scope, "guide")  # the health cycle has no one to tell

    health.on_early_warning = early_warning
    if troubleshooting is not None:
        troubleshooting.resolve = resolution.request_soon
        if isinstance(planner, LLMPlanner):  # answers are LLM-enhanced when one is set
            troubleshooting.enhance = LLMTroubleshooter(planner, PromptRedactor(redactor)).enhance
    return Automation(registry, containment, agent, resolution, planner)

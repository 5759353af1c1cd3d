"""``/api/status``: the station at a glance, for the web UI's dashboard."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from exstreamtv.services.station_status import (
    ChannelStatus,
    LibraryStatus,
    StationStatus,
    station_status,
)
from exstreamtv.web.deps import ContainerDep, require_admin
from exstreamtv.web.playout_schemas import NowOut, WarningOut
from exstreamtv.web.routes.iptv import links
from exstreamtv.web.schemas import ChannelOut, ScanProgressOut

router = APIRouter(prefix="/api/status", tags=["status"], dependencies=[Depends(require_admin)])


class ChannelStatusOut(BaseModel):
    """A channel, what is on now, its latest build's warnings, its viewers (0 when it is
    not streaming) and its restart breaker (``closed``, ``open`` or ``half_open``)."""

    channel: ChannelOut
    now: NowOut
    warnings: list[WarningOut]
    live: bool
    viewers: int
    breaker: str

    @classmethod
    def of(cls, status: ChannelStatus) -> ChannelStatusOut:
        return cls(
            channel=ChannelOut.of(status.channel), now=NowOut.of(status.at, status.on_air),
            warnings=WarningOut.all(status.warnings), live=status.live, viewers=status.viewers,
            breaker=status.breaker,
        )  # fmt: skip


class LibraryStatusOut(BaseModel):
    id: int
    name: str
    last_scan_at: datetime | None
    scan: ScanProgressOut | None

    @classmethod
    def of(cls, status: LibraryStatus) -> LibraryStatusOut:
        lib, scan = status.library, status.scan
        return cls(
            id=lib.id, name=lib.name, last_scan_at=lib.last_scan_at,
            scan=ScanProgressOut.of(scan) if scan else None,
        )  # fmt: skip


class StatusOut(BaseModel):
    """Counts are since start-up; ``guide_problem`` says why the guide is refused now."""

    channels: list[ChannelStatusOut]
    libraries: list[LibraryStatusOut]
    viewers: int
    live_channels: int
    ffmpeg_processes: int
    ffmpeg_max: int
    restarts: int
    restarts_denied: int
    guide_failures: int
    guide_problem: str | None

    @classmethod
    def of(cls, found: StationStatus) -> StatusOut:
        return cls(
            channels=[ChannelStatusOut.of(c) for c in found.channels],
            libraries=[LibraryStatusOut.of(lib) for lib in found.libraries],
            viewers=found.viewers, live_channels=found.live_channels,
            ffmpeg_processes=found.ffmpeg_processes, ffmpeg_max=found.ffmpeg_max,
            restarts=found.restarts, restarts_denied=found.restarts_denied,
            guide_failures=found.guide_failures, guide_problem=found.guide_problem,
        )  # fmt: skip


@router.get("")
async def status(request: Request, app: ContainerDep) -> StatusOut:
    """Channels on air with their programme, viewers, FFmpeg processes, restarts, library
    scans and warnings (build warnings, guide validation, open breakers)."""
    return StatusOut.of(await station_status(app, links(request, app)))

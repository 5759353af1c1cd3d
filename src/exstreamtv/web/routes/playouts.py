"""``/api/channels/{number}/...``: a channel's schedule, playout builds, entries and now.

Everything here reads the one stored playout, the same rows the stream and the guide use.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.web.deps import ContainerDep, IsoMoment, NumberPath, require_admin
from exstreamtv.web.playout_schemas import (
    AttachmentOut,
    BuildSummaryOut,
    EntryOut,
    NowOut,
    PlayoutInfoOut,
    ScheduleAttachIn,
)

router = APIRouter(prefix="/api/channels", tags=["playouts"], dependencies=[Depends(require_admin)])
Moment = Annotated[
    IsoMoment | None,
    Query(description="An ISO 8601 time with its offset, e.g. 2026-03-01T18:00:00Z."),
]


@router.put("/{number}/schedule")
async def attach_schedule(
    number: NumberPath, body: ScheduleAttachIn, app: ContainerDep
) -> AttachmentOut:
    """Attach a schedule and ``reset`` the playout after the programme on air (which keeps
    playing); ``{"schedule_id": null}`` detaches it and drops what follows that programme."""
    return AttachmentOut.of(await app.playouts.attach(number, body.schedule_id))


@router.post("/{number}/playout/build")
async def build_playout(
    number: NumberPath, app: ContainerDep, mode: BuildMode = BuildMode.CONTINUE
) -> BuildSummaryOut:
    """Build to now + the horizon. ``continue`` extends the end; ``refresh`` rebuilds after
    the programme on air, keeping positions; ``reset`` does too, from fresh positions.
    409 when the channel has no schedule."""
    return BuildSummaryOut.of(await app.playouts.build(number, mode))


@router.get("/{number}/playout")
async def playout_entries(
    number: NumberPath,
    app: ContainerDep,
    from_: Annotated[Moment, Query(alias="from")] = None,
    to: Moment = None,
) -> list[EntryOut]:
    """Entries overlapping ``[from, to)`` (default now to now + 6 h; at most 7 days)."""
    return [EntryOut.of(e) for e in await app.playouts.entries(number, from_, to)]


@router.get("/{number}/playout/info")
async def playout_info(number: NumberPath, app: ContainerDep) -> PlayoutInfoOut:
    """The latest build (time, mode, warnings) and the extent of the stored playout."""
    return PlayoutInfoOut.of(await app.playouts.info(number))


@router.get("/{number}/now")
async def now_playing(number: NumberPath, app: ContainerDep, at: Moment = None) -> NowOut:
    """What is on at ``at`` (default now): the entry and the offset to join it at, or
    ``entry: null`` with the reason when nothing is scheduled."""
    moment = at or app.clock.now()
    return NowOut.of(moment, await app.playouts.now(number, moment))

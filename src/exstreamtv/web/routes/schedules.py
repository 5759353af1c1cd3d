"""``/api/schedules``: schedules (items, slots, blocks), and previews that save nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime

from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.playout_schemas import PREVIEW_LIMIT, PreviewOut
from exstreamtv.web.schedule_schemas import ScheduleIn, ScheduleOut

router = APIRouter(
    prefix="/api/schedules", tags=["schedules"], dependencies=[Depends(require_admin)]
)
Hours = Annotated[int, Query(ge=1, le=168, description="How many hours to build (1-168).")]
Limit = Annotated[int, Query(ge=1, le=100_000, description="How many entries to list (1-100000).")]
Start = Annotated[
    AwareDatetime | None, Query(description="Where the preview starts (default: now).")
]


@router.get("")
async def list_schedules(app: ContainerDep) -> list[ScheduleOut]:
    """Every schedule, by name."""
    return [ScheduleOut.of(s) for s in await app.schedules.schedules()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_schedule(body: ScheduleIn, app: ContainerDep) -> ScheduleOut:
    """Create a schedule; 422 naming the field for an unknown time zone, collection or
    filler preset; 409 when the name is taken."""
    return ScheduleOut.of(await app.schedules.create(body.to_domain()))


@router.post("/preview")
async def preview_schedule(
    body: ScheduleIn,
    app: ContainerDep,
    hours: Hours = 24,
    start: Start = None,
    limit: Limit = PREVIEW_LIMIT,
) -> PreviewOut:
    """The entries ``body`` would produce over ``hours`` from ``start`` (the first
    ``limit`` listed, all counted in ``total`` and drawn in ``overview``); nothing is saved.
    Missing collections or presets show up as warnings rather than errors."""
    preview = await app.playouts.preview(body.to_domain(), hours, start)
    return PreviewOut.of(preview, limit)


@router.get("/{schedule_id}")
async def get_schedule(schedule_id: IdPath, app: ContainerDep) -> ScheduleOut:
    return ScheduleOut.of(await app.schedules.schedule(schedule_id))


@router.put("/{schedule_id}")
async def update_schedule(schedule_id: IdPath, body: ScheduleIn, app: ContainerDep) -> ScheduleOut:
    """Replace a schedule. Channels using it are refreshed: the programme on air stays,
    the change airs from the next one."""
    return ScheduleOut.of(await app.schedules.update(schedule_id, body.to_domain()))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: IdPath, app: ContainerDep) -> Response:
    """Delete a schedule; 409 while a channel uses it."""
    await app.schedules.delete(schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{schedule_id}/preview")
async def preview_saved_schedule(
    schedule_id: IdPath,
    app: ContainerDep,
    hours: Hours = 24,
    start: Start = None,
    limit: Limit = PREVIEW_LIMIT,
) -> PreviewOut:
    """:func:`preview_schedule` of the stored schedule; nothing is saved."""
    preview = await app.playouts.preview_saved(schedule_id, hours, start)
    return PreviewOut.of(preview, limit)

"""``/api/filler-presets``: filler (pre/mid/post-roll, tail, fallback) from collections."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.schedule_schemas import FillerPresetIn, FillerPresetOut

router = APIRouter(
    prefix="/api/filler-presets", tags=["filler presets"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_presets(app: ContainerDep) -> list[FillerPresetOut]:
    """Every filler preset, by name."""
    return [FillerPresetOut.of(p) for p in await app.schedules.presets()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_preset(body: FillerPresetIn, app: ContainerDep) -> FillerPresetOut:
    """Create a preset; 422 for an unknown collection, 409 when the name is taken."""
    return FillerPresetOut.of(await app.schedules.create_preset(body.to_domain()))


@router.get("/{preset_id}")
async def get_preset(preset_id: IdPath, app: ContainerDep) -> FillerPresetOut:
    return FillerPresetOut.of(await app.schedules.preset(preset_id))


@router.put("/{preset_id}")
async def update_preset(
    preset_id: IdPath, body: FillerPresetIn, app: ContainerDep
) -> FillerPresetOut:
    """Replace a preset; channels whose schedules use it are refreshed."""
    return FillerPresetOut.of(await app.schedules.update_preset(preset_id, body.to_domain()))


@router.delete("/{preset_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_preset(preset_id: IdPath, app: ContainerDep) -> Response:
    """Delete a preset; 409 while a schedule names it."""
    await app.schedules.delete_preset(preset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""``/api/stream-profiles``: how channels are encoded, and which encoders work here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.profile_schemas import CapabilitiesOut, StreamProfileIn, StreamProfileOut

router = APIRouter(
    prefix="/api/stream-profiles", tags=["stream profiles"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_profiles(app: ContainerDep) -> list[StreamProfileOut]:
    """Every stream profile, by name; exactly one has ``default: true``."""
    return [StreamProfileOut.of(p) for p in await app.profiles.profiles()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_profile(body: StreamProfileIn, app: ContainerDep) -> StreamProfileOut:
    """Create a profile (the default with ``default: true``); 409 when the name is taken."""
    created = await app.profiles.create(body.to_domain(), default=bool(body.default))
    return StreamProfileOut.of(created)


@router.get("/capabilities")
async def capabilities(app: ContainerDep) -> CapabilitiesOut:
    """The H.264 encoders and whether each works on this machine (found at start-up)."""
    support = app.profiles.encoder_support()
    return CapabilitiesOut.of(app.profiles.capabilities is not None, support)


@router.get("/{profile_id}")
async def get_profile(profile_id: IdPath, app: ContainerDep) -> StreamProfileOut:
    return StreamProfileOut.of(await app.profiles.profile(profile_id))


@router.put("/{profile_id}")
async def update_profile(
    profile_id: IdPath, body: StreamProfileIn, app: ContainerDep
) -> StreamProfileOut:
    """Replace a profile; running channels pick it up when they next start. 422 for
    ``default: false`` on the default, or copy mode while channels using it overlay a
    watermark; 409 when the name is taken."""
    updated = await app.profiles.update(profile_id, body.to_domain(), default=body.default)
    return StreamProfileOut.of(updated)


@router.delete("/{profile_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_profile(profile_id: IdPath, app: ContainerDep) -> Response:
    """Delete a profile; 409 for the default profile, and while channels use it (the
    problem names them)."""
    await app.profiles.delete(profile_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

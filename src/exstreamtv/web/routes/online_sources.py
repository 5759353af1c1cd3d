"""``/api/online-sources``: HTTP(S) files and HLS VOD (``remote``), sites yt-dlp reads
(``youtube``), Internet Archive searches (``archive_org``) and IPTV playlists (``iptv``).
Each has one library, scanned like any other (``POST /api/libraries/{id}/scan``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.domain.libraries import SourceKind
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.online_source_schemas import (
    OnlineSourceIn,
    OnlineSourceOut,
    OnlineSourceUpdate,
)

router = APIRouter(
    prefix="/api/online-sources", tags=["online sources"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_sources(app: ContainerDep) -> list[OnlineSourceOut]:
    """Every online source, by name (its URLs only as host and path)."""
    online = app.online
    return [OnlineSourceOut.of(s, await online.library(s.id)) for s in await online.sources()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_source(body: OnlineSourceIn, app: ContainerDep) -> OnlineSourceOut:
    """Add an online source and its library (URLs and secrets stored encrypted). A URL that
    is not http(s) is a 422; a taken name is a 409. Then scan its library."""
    source = await app.online.create(
        SourceKind(body.kind), body.name, body.library_kind, body.secrets(), body.settings()
    )
    return OnlineSourceOut.of(source, await app.online.library(source.id))


@router.get("/{source_id}")
async def get_source(source_id: IdPath, app: ContainerDep) -> OnlineSourceOut:
    source = await app.online.source(source_id)
    return OnlineSourceOut.of(source, await app.online.library(source_id))


@router.put("/{source_id}")
async def update_source(
    source_id: IdPath, body: OnlineSourceUpdate, app: ContainerDep
) -> OnlineSourceOut:
    """Replace the name and options; what the source reads only when ``source`` is given."""
    source = await app.online.update(
        source_id,
        name=body.name,
        settings=body.settings(),
        secrets=body.source.secrets() if body.source else None,
    )
    return OnlineSourceOut.of(source, await app.online.library(source_id))


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: IdPath, app: ContainerDep) -> Response:
    """Delete the source with its library, items and local copies; 409 while it scans."""
    library = await app.online.library(source_id)
    busy = [library.id] if app.libraries.is_scanning(library.id) else []
    await app.online.delete(source_id, busy=busy)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""``/api/media-sources``: Plex, Jellyfin and Emby servers, their connection test and the
choice of their libraries (scans then go through ``/api/libraries/{id}/scan``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.domain.libraries import SourceKind
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.media_source_schemas import (
    LibrarySelectionIn,
    MediaSourceIn,
    MediaSourceOut,
    MediaSourceUpdate,
    ServerInfoOut,
)
from exstreamtv.web.schemas import LibraryOut

router = APIRouter(
    prefix="/api/media-sources", tags=["media sources"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_sources(app: ContainerDep) -> list[MediaSourceOut]:
    """Every media-server source, by name (tokens are never returned)."""
    return [MediaSourceOut.of(source) for source in await app.media_servers.sources()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_source(body: MediaSourceIn, app: ContainerDep) -> MediaSourceOut:
    """Add a server: its URL and token (stored encrypted). A taken name is a 409; a URL
    with credentials, a query or a fragment is a 422. Test it with ``POST .../test``."""
    source = await app.media_servers.create(
        SourceKind(body.kind),
        body.name,
        body.url,
        body.token,
        [m.to_domain() for m in body.path_mappings],
    )
    return MediaSourceOut.of(source)


@router.get("/{source_id}")
async def get_source(source_id: IdPath, app: ContainerDep) -> MediaSourceOut:
    return MediaSourceOut.of(await app.media_servers.source(source_id))


@router.put("/{source_id}")
async def update_source(
    source_id: IdPath, body: MediaSourceUpdate, app: ContainerDep
) -> MediaSourceOut:
    """Replace name, URL and path mappings; the token only when one is given."""
    source = await app.media_servers.update(
        source_id,
        name=body.name,
        url=body.url,
        mappings=[m.to_domain() for m in body.path_mappings],
        token=body.token,
    )
    return MediaSourceOut.of(source)


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: IdPath, app: ContainerDep) -> Response:
    """Delete the source with its libraries and items; 409 while one of them scans."""
    libraries = await app.media_servers.libraries(source_id)
    busy = [lib.id for lib in libraries if app.libraries.is_scanning(lib.id)]
    await app.media_servers.delete(source_id, busy=busy)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{source_id}/test")
async def test_source(source_id: IdPath, app: ContainerDep) -> ServerInfoOut:
    """Connect with the stored token: server name, version and libraries. An unreachable
    server or a refused token is a 503 naming the reason."""
    return ServerInfoOut.of(await app.media_servers.test(source_id))


@router.get("/{source_id}/libraries")
async def source_libraries(source_id: IdPath, app: ContainerDep) -> list[LibraryOut]:
    """Our libraries selected from this server."""
    await app.media_servers.source(source_id)
    libraries = await app.media_servers.libraries(source_id)
    return [LibraryOut.of(lib, app.libraries.progress(lib.id)) for lib in libraries]


@router.post("/{source_id}/libraries", status_code=status.HTTP_201_CREATED)
async def select_libraries(
    source_id: IdPath, body: LibrarySelectionIn, app: ContainerDep
) -> list[LibraryOut]:
    """Create our libraries for the chosen server libraries (ids from the test); scan
    them with ``POST /api/libraries/{id}/scan``."""
    created = await app.media_servers.select_libraries(source_id, body.libraries)
    return [LibraryOut.of(lib, None) for lib in created]

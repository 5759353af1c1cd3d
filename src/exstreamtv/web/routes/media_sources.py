"""``/api/media-sources``: Plex, Jellyfin and Emby servers (added with a token, a Plex PIN
link or a Jellyfin/Emby sign-in), their connection test, the user their playlists are read
as, and the choice of their libraries (scans then go through ``/api/libraries/{id}/scan``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.domain.libraries import SourceKind
from exstreamtv.errors import InvalidInput
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.media_source_schemas import (
    LibrarySelectionIn,
    MediaSourceIn,
    MediaSourceOut,
    MediaSourceUpdate,
    PlexLinkOut,
    PlexLinkStateOut,
    ServerInfoOut,
    UserChoiceIn,
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
    """Add a server with its URL and a token (stored encrypted), a Jellyfin/Emby user name
    and password (signed in once; only the token is stored, and that user's playlists are
    mirrored), or a linked Plex PIN. A taken name is a 409; a URL with credentials, a query
    or a fragment, or a refused password, is a 422. Test it with ``POST .../test``."""
    kind, mappings = SourceKind(body.kind), [m.to_domain() for m in body.path_mappings]
    if body.plex_link is not None and body.plex_server is not None:
        source = await app.media_servers.create_linked(
            body.name, body.plex_link, body.plex_server, body.url, mappings
        )
    elif body.username is not None and body.password is not None and body.url is not None:
        source = await app.media_servers.sign_in(
            kind, body.name, body.url, body.username, body.password, mappings=mappings
        )
    elif body.token is not None and body.url is not None:
        source = await app.media_servers.create(kind, body.name, body.url, body.token, mappings)
    else:  # the schema's validator refuses every other combination
        raise InvalidInput("give a token, a user name and password, or a Plex link")
    return MediaSourceOut.of(source)


@router.post("/plex-link", status_code=status.HTTP_201_CREATED)
async def start_plex_link(app: ContainerDep) -> PlexLinkOut:
    """Start linking a Plex account: type the returned code at https://plex.tv/link, then
    poll ``GET /api/media-sources/plex-link/{id}``."""
    return PlexLinkOut.of(await app.media_servers.link.start())


@router.get("/plex-link/{pin_id}")
async def plex_link_state(pin_id: int, app: ContainerDep) -> PlexLinkStateOut:
    """Whether the code was typed yet and, once it was, the account's servers; add one
    with ``POST /api/media-sources`` and ``plex_link``/``plex_server``. 404 once expired."""
    return PlexLinkStateOut.of(await app.media_servers.link.servers(pin_id))


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


@router.put("/{source_id}/user")
async def choose_user(source_id: IdPath, body: UserChoiceIn, app: ContainerDep) -> MediaSourceOut:
    """Choose the Jellyfin/Emby user (an id from the connection test's ``users``) whose
    playlists are mirrored at the next scan; ``null`` mirrors none."""
    return MediaSourceOut.of(await app.media_servers.set_user(source_id, body.user_id))


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

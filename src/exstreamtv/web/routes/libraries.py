"""``/api/libraries``: local media libraries, their scans and scan problems."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.errors import NotFound
from exstreamtv.web.deps import ContainerDep, IdPath, require_admin
from exstreamtv.web.schemas import LibraryIn, LibraryOut, ScanProblemOut, ScanProgressOut

router = APIRouter(
    prefix="/api/libraries", tags=["libraries"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_libraries(app: ContainerDep) -> list[LibraryOut]:
    """Every library, by name, with its latest scan since start-up (if any)."""
    service = app.libraries
    return [LibraryOut.of(lib, service.progress(lib.id)) for lib in await service.libraries()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_library(body: LibraryIn, app: ContainerDep) -> LibraryOut:
    """Create a local library. A path that is not a readable absolute folder is a 422
    naming the reason; a taken name is a 409."""
    library = await app.libraries.create(body.name, body.kind, body.paths)
    return LibraryOut.of(library, None)


@router.get("/{library_id}")
async def get_library(library_id: IdPath, app: ContainerDep) -> LibraryOut:
    library = await app.libraries.get(library_id)
    return LibraryOut.of(library, app.libraries.progress(library_id))


@router.put("/{library_id}")
async def update_library(library_id: IdPath, body: LibraryIn, app: ContainerDep) -> LibraryOut:
    """Replace a library's name, kind and paths (paths are checked as on create)."""
    library = await app.libraries.update(library_id, body.name, body.kind, body.paths)
    return LibraryOut.of(library, app.libraries.progress(library_id))


@router.delete("/{library_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_library(library_id: IdPath, app: ContainerDep) -> Response:
    """Delete a library and its items; 409 while declared in the config or scanning."""
    await app.libraries.delete(library_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{library_id}/scan", status_code=status.HTTP_202_ACCEPTED)
async def start_scan(library_id: IdPath, app: ContainerDep) -> ScanProgressOut:
    """Start a scan in the background; 409 when one is already running."""
    return ScanProgressOut.of(await app.libraries.start_scan(library_id))


@router.post("/{library_id}/scan/cancel")
async def cancel_scan(library_id: IdPath, app: ContainerDep) -> ScanProgressOut:
    """Stop the running scan (within a second; what was saved so far stays) and return
    its progress, ``cancelled`` once it stopped; 409 when no scan is running."""
    return ScanProgressOut.of(await app.libraries.cancel_scan(library_id))


@router.get("/{library_id}/scan")
async def scan_progress(library_id: IdPath, app: ContainerDep) -> ScanProgressOut:
    """The latest scan's progress; 404 when the library was not scanned since start-up."""
    await app.libraries.get(library_id)
    progress = app.libraries.progress(library_id)
    if progress is None:
        raise NotFound(f"library {library_id} has not been scanned since the server started")
    return ScanProgressOut.of(progress)


@router.get("/{library_id}/problems")
async def scan_problems(library_id: IdPath, app: ContainerDep) -> list[ScanProblemOut]:
    """Paths the latest scan could not use (unreadable folders, symlink loops...)."""
    await app.libraries.get(library_id)
    return [ScanProblemOut.model_validate(p) for p in await app.libraries.problems(library_id)]

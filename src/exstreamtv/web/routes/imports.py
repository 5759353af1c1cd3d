"""``/api/imports/{system}``: import channels from an uploaded dizqueTV, Tunarr or ErsatzTV
export (see docs/importing.md). The body limit is ``server.max_request_mib``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, UploadFile
from pydantic import BaseModel

from exstreamtv.domain.libraries import parse_mapping
from exstreamtv.domain.station_import import ForeignSystem
from exstreamtv.services.import_uploads import import_upload
from exstreamtv.web.deps import ContainerDep, require_admin

router = APIRouter(prefix="/api/imports", tags=["imports"], dependencies=[Depends(require_admin)])


class UnmatchedOut(BaseModel):
    where: str
    item: str
    reason: str


class ImportOut(BaseModel):
    """What was (or, for a dry run, would be) created, and every problem."""

    system: str
    dry_run: bool
    channels: list[str]
    skipped: list[str]
    collections: list[str]
    reused: list[str]
    presets: list[str]
    schedules: list[str]
    matched: int
    unmatched: list[UnmatchedOut]
    notes: list[str]
    builds: list[str]


@router.post("/{system}")
async def import_station(
    system: ForeignSystem,
    file: UploadFile,
    app: ContainerDep,
    dry_run: Annotated[bool, Form()] = False,
    path_map: Annotated[str, Form(max_length=20_000)] = "",
) -> ImportOut:
    """Import an upload: a .zip of dizqueTV's ``.dizquetv`` or Tunarr's data folder, or
    ErsatzTV's ``ersatztv.sqlite3``. ``path_map``: ``THEIR_PREFIX=OUR_PREFIX`` lines.
    422 with the reason when the upload is not that program's data."""
    mappings = tuple(parse_mapping(line) for line in path_map.splitlines() if line.strip())
    spool = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="exstreamtv-upload-"))
    try:
        upload = spool / "upload"
        with upload.open("wb") as out:
            while chunk := await file.read(1024 * 1024):
                await asyncio.to_thread(out.write, chunk)
        report = await import_upload(
            app.imports, system, upload, mappings=mappings, dry_run=dry_run
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, spool, True)
    return ImportOut(
        system=report.system, dry_run=report.dry_run, channels=list(report.channels),
        skipped=list(report.skipped), collections=list(report.collections),
        reused=list(report.reused), presets=list(report.presets),
        schedules=list(report.schedules), matched=report.matched,
        unmatched=[UnmatchedOut(where=u.where, item=u.item, reason=u.reason)
                   for u in report.unmatched],
        notes=list(report.notes), builds=list(report.builds),
    )  # fmt: skip

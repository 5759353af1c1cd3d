"""Imports from an upload (the web UI): a zip of dizqueTV's or Tunarr's data folder, or
ErsatzTV's database file, unpacked safely into a temporary folder and read from there.

Only the files the readers use are extracted (channel, filler and lineup JSON, the
database, uploaded logos), under names checked against the folder (no absolute paths,
no ``..``, no links), within a total size and a file count; anything else is ignored.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from exstreamtv.domain.libraries import PathMapping
from exstreamtv.domain.station_import import ForeignStation, ForeignSystem
from exstreamtv.errors import InvalidInput
from exstreamtv.services import foreign_exports
from exstreamtv.services.station_import import ImportReport, StationImport

MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 20_000
SQLITE_HEADER = b"SQLite format 3\x00"
# What each folder-based program's reader needs, relative to its data folder.
_WANTED = {
    ForeignSystem.DIZQUETV: re.compile(
        r"^(channels|filler|custom-shows)/[^/]+\.json$|^images/uploads/[A-Za-z0-9._-]+$"
    ),
    ForeignSystem.TUNARR: re.compile(r"^db\.db$|^channel-lineups/[^/]+\.json$"),
}
_READERS: dict[ForeignSystem, Callable[[Path], ForeignStation]] = {
    ForeignSystem.DIZQUETV: foreign_exports.read_dizquetv,
    ForeignSystem.TUNARR: foreign_exports.read_tunarr,
    ForeignSystem.ERSATZTV: foreign_exports.read_ersatztv,
}


async def import_upload(
    imports: StationImport,
    system: ForeignSystem,
    upload: Path,
    *,
    mappings: tuple[PathMapping, ...] = (),
    dry_run: bool = False,
) -> ImportReport:
    """Import the uploaded file ``upload`` (see the module docstring). Raises
    :class:`InvalidInput` for an upload that is not what ``system`` exports."""
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="exstreamtv-import-"))
    try:
        root = await asyncio.to_thread(_prepare, system, upload, folder)
        station = await asyncio.to_thread(_READERS[system], root)
        return await imports.run(station, mappings=mappings, dry_run=dry_run, files_root=root)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _prepare(system: ForeignSystem, upload: Path, folder: Path) -> Path:
    """The path the reader reads: the database file, or the unpacked data folder."""
    with upload.open("rb") as handle:
        head = handle.read(len(SQLITE_HEADER))
    if system is ForeignSystem.ERSATZTV:
        if head != SQLITE_HEADER:
            raise InvalidInput("upload ErsatzTV's database file, ersatztv.sqlite3")
        target = folder / "ersatztv.sqlite3"
        shutil.copyfile(upload, target)
        return target
    if not zipfile.is_zipfile(upload):
        raise InvalidInput(f"upload a .zip of {system.label}'s data folder")
    _unzip(upload, folder, _WANTED[system])
    return _data_root(system, folder)


def _unzip(upload: Path, folder: Path, wanted: re.Pattern[str]) -> None:
    try:
        _unzip_members(upload, folder, wanted)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as err:
        raise InvalidInput(f"the zip cannot be read: {err}") from err


def _unzip_members(upload: Path, folder: Path, wanted: re.Pattern[str]) -> None:
    total = 0
    with zipfile.ZipFile(upload) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"the zip holds more than {MAX_MEMBERS} files")
        for member in members:
            name = PurePosixPath(member.filename)
            if member.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            inner = _inside(name)
            if inner is None or not wanted.match(inner.as_posix()):
                continue
            total += member.file_size
            if total > MAX_UNPACKED_BYTES:
                raise InvalidInput("the zip unpacks to more than 1 GiB")
            target = folder / PurePosixPath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)


def _inside(name: PurePosixPath) -> PurePosixPath | None:
    """``name`` relative to the data folder, wherever the zip put that folder (at the top,
    in ``.dizquetv/``, or in any one parent folder)."""
    parts = name.parts
    for skip in range(min(len(parts), 3)):
        rest = PurePosixPath(*parts[skip:])
        if rest.parts and rest.parts[0] in {"channels", "filler", "custom-shows", "images",
                                            "db.db", "channel-lineups"}:  # fmt: skip
            return rest
    return None


def _data_root(system: ForeignSystem, folder: Path) -> Path:
    marker = "channels" if system is ForeignSystem.DIZQUETV else "db.db"
    found = sorted(folder.rglob(marker), key=lambda p: len(p.parts))
    if not found:
        raise InvalidInput(f"the zip holds no {system.label} data folder ({marker} is missing)")
    return found[0].parent

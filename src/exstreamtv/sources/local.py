"""Local folders as a media source: walking the tree, and reading one file's metadata.

The walk runs in a worker thread (``os.scandir`` blocks). It follows directory symlinks
but remembers every directory's ``(device, inode)``, so a symlink loop is reported once and
never walked twice. Sidecars (NFO, artwork) are found from the directory listing the walk
already has, so an unchanged file costs one ``stat`` and nothing else.
"""

from __future__ import annotations

import asyncio
import os
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from exstreamtv.domain.libraries import LibraryKind, ScanProblem
from exstreamtv.domain.media import (
    Artwork,
    FileStamp,
    MediaKind,
    MediaMetadata,
    MetadataStatus,
    ScannedFile,
)
from exstreamtv.errors import LibraryPathInvalid, MetadataParseError, ProbeFailed
from exstreamtv.ffmpeg.probe import probe_file
from exstreamtv.formats.filename import parse_media_path
from exstreamtv.formats.nfo import NfoMetadata, apply_nfo, parse_nfo

MEDIA_EXTENSIONS = frozenset(
    ".mp4 .m4v .mkv .avi .mov .wmv .ts .m2ts .mts .mpg .mpeg .webm .flv .ogv .3gp .vob .divx"
    " .mxf .asf".split()
)
POSTER_NAMES = ("poster", "folder", "cover")
MAX_NFO_BYTES = 1024 * 1024
KIND_HINTS = {
    LibraryKind.MOVIES: MediaKind.MOVIE,
    LibraryKind.SHOWS: MediaKind.EPISODE,
    LibraryKind.MUSIC_VIDEOS: MediaKind.MUSIC_VIDEO,
}


@dataclass(frozen=True, slots=True)
class Sidecars:
    """Files next to a media file that describe it (absolute paths, or ``None``)."""

    nfo: str | None = None
    show_nfo: str | None = None
    artwork: Artwork = field(default_factory=Artwork)


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A media file found by the walk.

    ``stamp.mtime_ns`` is the newest of the file's and its NFO's modification times, so
    editing an NFO makes the file count as changed.
    """

    path: str
    relative: PurePosixPath
    stamp: FileStamp
    sidecars: Sidecars


@dataclass(slots=True)
class WalkResult:
    files: list[FoundFile] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)


def check_library_paths(paths: Iterable[str]) -> list[str]:
    """Absolute, normalised folder paths; raises :class:`LibraryPathInvalid` with the reason."""
    checked = []
    for raw in paths:
        if not raw or "\x00" in raw:
            raise LibraryPathInvalid("library path is empty or contains a NUL character")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            raise LibraryPathInvalid(f"library path {raw!r} must be absolute")
        if not path.exists():
            raise LibraryPathInvalid(f"library path {raw!r} does not exist")
        if not path.is_dir():
            raise LibraryPathInvalid(f"library path {raw!r} is not a folder")
        if not os.access(path, os.R_OK | os.X_OK):
            raise LibraryPathInvalid(f"library path {raw!r} cannot be read by the server")
        checked.append(os.path.normpath(path))
    if not checked:
        raise LibraryPathInvalid("a library needs at least one folder")
    return checked


async def walk_library(roots: Iterable[str]) -> WalkResult:
    """Find every media file under ``roots`` (in a worker thread)."""
    return await asyncio.to_thread(_walk_roots, list(roots))


def _walk_roots(roots: list[str]) -> WalkResult:
    result = WalkResult()
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        _walk_dir(Path(root), Path(root), None, result, seen_dirs)
    return result


def _walk_dir(
    root: Path, folder: Path, show_nfo: str | None, out: WalkResult, seen: set[tuple[int, int]]
) -> None:
    try:
        info = folder.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen:
            out.problems.append(ScanProblem(str(folder), "symlink loop: folder already scanned"))
            return
        seen.add(key)
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as err:
        out.problems.append(ScanProblem(str(folder), f"folder cannot be read: {err.strerror}"))
        return
    names = {entry.name.lower(): entry.path for entry in entries}
    show_nfo = names.get("tvshow.nfo", show_nfo)
    folder_art = _folder_artwork(names)
    for entry in entries:
        _visit(root, entry, names, show_nfo, folder_art, out, seen)


def _visit(
    root: Path,
    entry: os.DirEntry[str],
    names: dict[str, str],
    show_nfo: str | None,
    folder_art: Artwork,
    out: WalkResult,
    seen: set[tuple[int, int]],
) -> None:
    if entry.name.startswith("."):
        return
    if not _storable(entry.name):
        out.problems.append(ScanProblem(_printable(entry.path), "name is not valid UTF-8"))
        return
    try:
        if entry.is_dir():
            _walk_dir(root, Path(entry.path), show_nfo, out, seen)
            return
        if Path(entry.name).suffix.lower() not in MEDIA_EXTENSIONS:
            return
        info = entry.stat()
    except OSError as err:
        out.problems.append(ScanProblem(entry.path, f"cannot be read: {err.strerror}"))
        return
    if not stat.S_ISREG(info.st_mode):
        out.problems.append(ScanProblem(entry.path, "not a regular file"))
        return
    sidecars = _sidecars(entry.name, names, show_nfo, folder_art)
    mtime = max(info.st_mtime_ns, _mtime_ns(sidecars.nfo))
    relative = PurePosixPath(Path(entry.path).relative_to(root).as_posix())
    out.files.append(FoundFile(entry.path, relative, FileStamp(info.st_size, mtime), sidecars))


def _storable(name: str) -> bool:
    """False for names with undecodable bytes (surrogate escapes) the database cannot hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(path: str) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _folder_artwork(names: dict[str, str]) -> Artwork:
    def first(stems: Iterable[str]) -> str | None:
        for stem in stems:
            for ext in (".jpg", ".jpeg", ".png", ".webp"):
                if stem + ext in names:
                    return names[stem + ext]
        return None

    return Artwork(poster=first(POSTER_NAMES), thumb=first(("thumb",)), fanart=first(("fanart",)))


def _sidecars(name: str, names: dict[str, str], show_nfo: str | None, art: Artwork) -> Sidecars:
    stem = Path(name).stem.lower()
    nfo = names.get(f"{stem}.nfo") or names.get("movie.nfo")

    def own(suffix: str) -> str | None:
        for ext in (".jpg", ".jpeg", ".png", ".webp"):
            if f"{stem}{suffix}{ext}" in names:
                return names[f"{stem}{suffix}{ext}"]
        return None

    artwork = Artwork(
        poster=own("-poster") or art.poster,
        thumb=own("-thumb") or own("") or art.thumb,
        fanart=own("-fanart") or art.fanart,
    )
    return Sidecars(nfo=nfo, show_nfo=show_nfo if show_nfo != nfo else None, artwork=artwork)


def _mtime_ns(path: str | None) -> int:
    if path is None:
        return 0
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


async def read_file_metadata(
    found: FoundFile,
    library_kind: LibraryKind,
    *,
    ffprobe: str,
    probe_timeout: float,
) -> ScannedFile:
    """Probe one file and work out what it shows: NFO first, then folders, then the name.

    Never raises for a bad file: a probe failure or a broken NFO is recorded as metadata
    status ``failed`` with the reason, so the scan carries on.
    """
    metadata = await asyncio.to_thread(describe, found, KIND_HINTS.get(library_kind))
    try:
        technical = await probe_file(Path(found.path), ffprobe=ffprobe, timeout=probe_timeout)
    except ProbeFailed as err:
        reasons = "; ".join(filter(None, (metadata.reason, f"cannot be probed: {err.message}")))
        metadata = replace(metadata, status=MetadataStatus.FAILED, reason=reasons)
        technical = None
    return ScannedFile(found.path, found.stamp, metadata, technical)


def describe(found: FoundFile, kind_hint: MediaKind | None) -> MediaMetadata:
    """Descriptive metadata for a found file (blocking: reads the NFO sidecars)."""
    relative = PurePosixPath(unicodedata.normalize("NFC", str(found.relative)))
    base = parse_media_path(relative, kind_hint)
    if found.sidecars.artwork != Artwork():
        base = replace(base, artwork=found.sidecars.artwork)
    if found.sidecars.nfo is None and found.sidecars.show_nfo is None:
        return base
    try:
        nfo = _read_nfo(found.sidecars.nfo)
        show_nfo = _read_nfo(found.sidecars.show_nfo)
    except MetadataParseError as err:
        return replace(base, status=MetadataStatus.FAILED, reason=f"NFO: {err.message}")
    if nfo is None:
        return apply_nfo(NfoMetadata(), base, show_nfo) if show_nfo else base
    return apply_nfo(nfo, base, show_nfo)


def _read_nfo(path: str | None) -> NfoMetadata | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_NFO_BYTES + 1)
    except OSError as err:
        raise MetadataParseError(f"{Path(path).name} cannot be read: {err.strerror}") from err
    return parse_nfo(data)

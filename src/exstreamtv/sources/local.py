"""Local folders as a media source: walking the tree, and reading one file's metadata.

The walk runs in a worker thread (``os.scandir`` blocks). It follows a symlink only when
its target resolves inside the library's own folders (a link to ``/`` or to another
user's home is reported and skipped), and it remembers every directory's ``(device,
inode)``, so a symlink loop is reported once and never walked twice. Sidecars (NFO,
artwork) are found from the directory listing the walk already has, so an unchanged file
costs one ``stat`` and nothing else. A walk can be stopped between two folders.

Library folders are checked before they are stored and again before each scan: pseudo and
system trees (``/proc``, ``/sys``, ``/dev``, ``/run``, ``/etc``, ``/boot``, ``/root``, and
``/`` which holds them) are refused unless explicitly allowed, wherever a path or its
symlinks lead; paths are normalised, and duplicates (the same folder by another name, or a
folder inside another of the same library) are dropped.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
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
    [
        ".mp4",
        ".m4v",
        ".mkv",
        ".avi",
        ".mov",
        ".wmv",
        ".ts",
        ".m2ts",
        ".mts",
        ".mpg",
        ".mpeg",
        ".webm",
        ".flv",
        ".ogv",
        ".3gp",
        ".vob",
        ".divx",
        ".mxf",
        ".asf",
    ]
)
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/run", "/etc", "/boot", "/root")
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


def check_library_paths(paths: Iterable[str], allowed: Iterable[str | Path] = ()) -> list[str]:
    """Absolute, normalised, distinct folder paths; raises :class:`LibraryPathInvalid`
    with the reason. ``allowed`` are folders inside the system trees that may be used
    anyway (``scan.allowed_system_paths``). Blocking (it resolves symlinks)."""
    permitted = [os.path.realpath(p) for p in allowed]
    checked: list[tuple[str, str]] = []  # (normalised, real)
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
        real = os.path.realpath(path)
        _refuse_system_tree(raw, real, permitted)
        checked.append((os.path.normpath(path), real))
    if not checked:
        raise LibraryPathInvalid("a library needs at least one folder")
    reals = [real for _, real in checked]
    return [
        path
        for index, (path, real) in enumerate(checked)
        if real not in reals[:index]
        and not any(_inside(real, other) for other in reals if other != real)
    ]


def _refuse_system_tree(raw: str, real: str, permitted: list[str]) -> None:
    if any(real == p or _inside(real, p) for p in permitted):
        return
    if real == "/":
        raise LibraryPathInvalid(
            f"library path {raw!r} is the whole file system; choose the folder with your media"
        )
    for tree in SYSTEM_TREES:
        if real == tree or _inside(real, tree):
            shown = raw if real == raw else f"{raw} (which leads to {real})"
            raise LibraryPathInvalid(
                f"library path {shown!r} is inside {tree}, a system folder; if it really holds"
                " media, add it to scan.allowed_system_paths"
            )


def _inside(path: str, folder: str) -> bool:
    """True when ``path`` lies strictly under ``folder`` (both real, absolute paths)."""
    return path.startswith(folder.rstrip("/") + "/")


async def walk_library(roots: Iterable[str], stop: threading.Event | None = None) -> WalkResult:
    """Find every media file under ``roots`` (in a worker thread); ``stop`` ends the walk
    early (between two folders)."""
    return await asyncio.to_thread(_walk_roots, list(roots), stop or threading.Event())


def _walk_roots(roots: list[str], stop: threading.Event) -> WalkResult:
    walker = _Walker([os.path.realpath(root) for root in roots], stop)
    for root in roots:
        walker.walk(Path(root))
    return walker.result


@dataclass(frozen=True, slots=True)
class _Folder:
    """A folder's listing, and what its media files inherit (show NFO, folder artwork)."""

    root: Path
    names: dict[str, str]
    show_nfo: str | None
    artwork: Artwork


class _Walker:
    """An iterative (no recursion limit) depth-first walk that never visits a folder twice."""

    def __init__(self, real_roots: list[str], stop: threading.Event) -> None:
        self.result = WalkResult()
        self._seen: set[tuple[int, int]] = set()
        self._roots, self._stop = real_roots, stop

    def walk(self, root: Path) -> None:
        stack: list[tuple[Path, str | None]] = [(root, None)]
        while stack and not self._stop.is_set():
            folder, show_nfo = stack.pop()
            entries = self._list(folder)
            if entries is None:
                continue
            names = {entry.name.lower(): entry.path for entry in entries}
            here = _Folder(root, names, names.get("tvshow.nfo", show_nfo), _folder_artwork(names))
            subfolders = [sub for entry in entries if (sub := self._visit(entry, here))]
            stack.extend((sub, here.show_nfo) for sub in reversed(subfolders))

    def _list(self, folder: Path) -> list[os.DirEntry[str]] | None:
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in self._seen:
                self._problem(str(folder), "symlink loop: folder already scanned")
                return None
            self._seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as listing:
                return sorted(listing, key=lambda e: e.name)
        except OSError as err:
            self._problem(str(folder), f"folder cannot be read: {err.strerror}")
            return None

    def _visit(self, entry: os.DirEntry[str], folder: _Folder) -> Path | None:
        """Record a media file; return the path when the entry is a folder to descend."""
        if not self._wanted(entry):
            return None
        try:
            if entry.is_dir():
                return Path(entry.path)
            if Path(entry.name).suffix.lower() not in MEDIA_EXTENSIONS:
                return None
            info = entry.stat()
        except OSError as err:
            self._problem(entry.path, f"cannot be read: {err.strerror}")
            return None
        self._add_file(entry, info, folder)
        return None

    def _wanted(self, entry: os.DirEntry[str]) -> bool:
        if entry.name.startswith("."):
            return False
        if not _storable(entry.name):
            self._problem(_printable(entry.path), "name is not valid UTF-8")
            return False
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not any(target == r or _inside(target, r) for r in self._roots):
                self._problem(entry.path, "symlink leads outside the library's folders; skipped")
                return False
        return True

    def _add_file(self, entry: os.DirEntry[str], info: os.stat_result, folder: _Folder) -> None:
        if not stat.S_ISREG(info.st_mode):
            self._problem(entry.path, "not a regular file")
            return
        sidecars = _sidecars(entry.name, folder.names, folder.show_nfo, folder.artwork)
        stamp = FileStamp(info.st_size, max(info.st_mtime_ns, _mtime_ns(sidecars.nfo)))
        relative = PurePosixPath(Path(entry.path).relative_to(folder.root).as_posix())
        self.result.files.append(FoundFile(entry.path, relative, stamp, sidecars))

    def _problem(self, path: str, reason: str) -> None:
        self.result.problems.append(ScanProblem(path, reason))


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
        return Path(path).stat().st_mtime_ns
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
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_NFO_BYTES + 1)
    except OSError as err:
        raise MetadataParseError(f"{Path(path).name} cannot be read: {err.strerror}") from err
    return parse_nfo(data)


def locate(path: str, roots: Iterable[str]) -> FoundFile | None:
    """The :class:`FoundFile` for one known media file, as a walk of ``roots`` would see it
    (its sidecars, the nearest ``tvshow.nfo`` up to its library root, the folder artwork).

    Blocking (lists one folder and reads stamps). ``None`` when the file is gone, is not a
    regular file, or lies under none of ``roots``.
    """
    file = Path(path)
    root = next((Path(r) for r in roots if file.is_relative_to(r)), None)
    if root is None:
        return None
    try:
        info = file.stat()
        with os.scandir(file.parent) as listing:
            names = {entry.name.lower(): entry.path for entry in listing}
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    show_nfo = names.get("tvshow.nfo")
    folder = file.parent
    while show_nfo is None and folder != root and folder.is_relative_to(root):
        folder = folder.parent
        candidate = folder / "tvshow.nfo"
        show_nfo = str(candidate) if candidate.is_file() else None
    sidecars = _sidecars(file.name, names, show_nfo, _folder_artwork(names))
    stamp = FileStamp(info.st_size, max(info.st_mtime_ns, _mtime_ns(sidecars.nfo)))
    return FoundFile(path, PurePosixPath(file.relative_to(root).as_posix()), stamp, sidecars)

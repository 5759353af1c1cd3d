"""Media sources and libraries.

A *source* is where media comes from (local folders, a Plex, Jellyfin or Emby server); a
*library* is one scannable set of media within a source.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from exstreamtv.errors import InvalidInput


class SourceKind(enum.StrEnum):
    LOCAL = "local"
    PLEX = "plex"
    JELLYFIN = "jellyfin"
    EMBY = "emby"


class LibraryKind(enum.StrEnum):
    """A hint for metadata parsing: what the library mostly holds."""

    MIXED = "mixed"
    MOVIES = "movies"
    SHOWS = "shows"
    MUSIC_VIDEOS = "music_videos"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Library:
    """A stored library. ``paths`` are absolute folder paths for local libraries, and the
    server's own folders for media-server libraries.

    ``managed_by_config`` is true for libraries declared in the config file: they are
    re-created on start-up and cannot be deleted through the API while still declared.
    ``last_scan_at`` is UTC.
    """

    id: int
    name: str
    kind: LibraryKind
    source_kind: SourceKind
    paths: tuple[str, ...]
    managed_by_config: bool = False
    last_scan_at: datetime | None = None
    source_id: int | None = None
    external_id: str | None = None  # the media server's id of this library


class ScanStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ScanCounts:
    """Counters of one scan. ``total`` is the number of files found so far."""

    total: int = 0
    processed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    missing: int = 0


@dataclass(frozen=True, slots=True)
class ScanProblem:
    """A path the scan could not use, and why (corrupt, unreadable, a symlink loop...)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class PathMapping:
    """A media server's folder prefix (``server``) and where it is mounted here (``local``)."""

    server: str
    local: str


@dataclass(frozen=True, slots=True)
class MediaSource:
    """A stored media source. For servers, ``url`` is the base URL (no credentials in it);
    the token is kept apart, encrypted, and never part of this value. ``created_at`` is UTC."""

    id: int
    kind: SourceKind
    name: str
    url: str | None
    path_mappings: tuple[PathMapping, ...]
    created_at: datetime
    server_id: str | None = None


def parse_mapping(text: str) -> PathMapping:
    """``SERVER_PREFIX=LOCAL_PREFIX`` as a mapping; raises InvalidInput."""
    server, sep, local = text.partition("=")
    if not sep or not server or not local:
        raise InvalidInput(f"a path mapping is SERVER_PREFIX=LOCAL_PREFIX, not {text!r}")
    return PathMapping(server, local)


def map_path(path: str, mappings: tuple[PathMapping, ...]) -> str | None:
    """``path`` as seen by the server, rewritten to the local mount of the longest matching
    ``server`` prefix (whole path components only); ``None`` when no mapping applies."""
    best: PathMapping | None = None
    for mapping in mappings:
        prefix = mapping.server.rstrip("/\\")
        if (path == prefix or path.startswith((prefix + "/", prefix + "\\"))) and (
            best is None or len(prefix) > len(best.server.rstrip("/\\"))
        ):
            best = mapping
    if best is None:
        return None
    rest = path[len(best.server.rstrip("/\\")) :].replace("\\", "/")
    return best.local.rstrip("/") + rest

"""Media sources and libraries.

A *source* is where media comes from (local folders, a Plex, Jellyfin or Emby server); a
*library* is one scannable set of media within a source.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


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
    """A stored library. ``paths`` are absolute folder paths for local libraries.

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


class ScanStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


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

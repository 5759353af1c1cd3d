"""Media sources and libraries.

A *source* is where media comes from (local folders, a Plex, Jellyfin or Emby server, or an
online source: HTTP(S) files, YouTube and other sites through yt-dlp, an Internet Archive
collection, an IPTV playlist); a *library* is one scannable set of media within a source.
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
    REMOTE = "remote"  # HTTP(S) media files and HLS VOD playlists
    YOUTUBE = "youtube"  # anything yt-dlp reads: YouTube channels, playlists, videos...
    ARCHIVE_ORG = "archive_org"  # Internet Archive items found by a search
    IPTV = "iptv"  # live channels of an M3U playlist

    @property
    def is_server(self) -> bool:
        """Plex, Jellyfin or Emby: a server with libraries of its own."""
        return self in (SourceKind.PLEX, SourceKind.JELLYFIN, SourceKind.EMBY)

    @property
    def is_online(self) -> bool:
        """A source whose items are read over the internet, one library per source."""
        return self in ONLINE_KINDS


ONLINE_KINDS = frozenset(
    {SourceKind.REMOTE, SourceKind.YOUTUBE, SourceKind.ARCHIVE_ORG, SourceKind.IPTV}
)
# Requests per minute to a site unless a source says otherwise: YouTube throttles and blocks
# busy clients, the Internet Archive asks for restraint; files and playlists are read once.
DEFAULT_RATES = {SourceKind.YOUTUBE: 30, SourceKind.ARCHIVE_ORG: 120}


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
    the token is kept apart, encrypted, and never part of this value. ``created_at`` is UTC.
    ``user_id`` is the Jellyfin/Emby user that playlists are read as. ``online`` holds the
    public settings of an online source."""

    id: int
    kind: SourceKind
    name: str
    url: str | None
    path_mappings: tuple[PathMapping, ...]
    created_at: datetime
    server_id: str | None = None
    user_id: str | None = None
    online: OnlineSettings | None = None


@dataclass(frozen=True, slots=True)
class OnlineSettings:
    """What an online source reads and how, with nothing secret in it.

    ``shown`` are its locations as they may be displayed (no credentials, no query strings:
    the locations themselves are kept sealed with the source's secrets). ``query`` is an
    Internet Archive search. ``keep_local_copy`` downloads each video (yt-dlp sources) to
    the data directory while their total stays under ``local_copy_max_mib``. Live channels
    (IPTV) are scheduled in blocks of ``live_minutes``. ``rate_per_minute`` caps requests
    to the site (0: no cap; ``None``: the kind's default, see ``DEFAULT_RATES``).
    """

    shown: tuple[str, ...] = ()
    query: str | None = None
    keep_local_copy: bool = False
    local_copy_max_mib: int = 2048
    live_minutes: int = 60
    rate_per_minute: int | None = None
    has_guide: bool = False
    has_cookies: bool = False


@dataclass(frozen=True, slots=True)
class OnlineSecrets:
    """The sealed part of an online source: its locations (URLs may carry tokens: an IPTV
    playlist usually holds the account's user name and password), the XMLTV guide of an
    IPTV playlist, cookies (Netscape ``cookies.txt`` text, for yt-dlp) and extra request
    headers."""

    urls: tuple[str, ...] = ()
    guide_url: str | None = None
    cookies: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


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

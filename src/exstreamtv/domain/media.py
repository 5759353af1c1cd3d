"""Media value objects: what a file is (technical) and what it shows (descriptive).

Pure: no I/O, no clock. Durations are integer milliseconds. Datetimes, where present, are
timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MediaKind(enum.StrEnum):
    """What an item is, as a viewer would say it."""

    MOVIE = "movie"
    EPISODE = "episode"
    MUSIC_VIDEO = "music_video"
    OTHER = "other"
    LIVE = "live"  # a live channel relayed from an IPTV playlist: it has no end of its own


class MetadataStatus(enum.StrEnum):
    """How trustworthy an item's descriptive metadata is.

    ``ok``: a real title came from a source. ``placeholder``: only a stand-in title (for
    example the bare file name) could be found. ``failed``: the file or its sidecar could not
    be read; ``MediaMetadata.reason`` says why.
    """

    OK = "ok"
    PLACEHOLDER = "placeholder"
    FAILED = "failed"


class MetadataSource(enum.StrEnum):
    """Where the descriptive metadata came from, best first."""

    NFO = "nfo"
    FOLDER = "folder"
    FILENAME = "filename"
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class Chapter:
    """A chapter marker; times in milliseconds from the start of the file."""

    start_ms: int
    end_ms: int
    title: str | None = None


@dataclass(frozen=True, slots=True)
class TechnicalInfo:
    """What ffprobe (or a media server) says about the streams of a file.

    ``duration_ms`` is the container duration in milliseconds (0 when unknown). ``fps`` is
    the video frame rate as a float (for example 23.976). Fields a file does not have (audio
    only, video only) are ``None``. ``live`` marks a live stream: it is never seeked, its
    ``duration_ms`` is the block it is scheduled in, and its codecs are unknown (``None``),
    so both audio and video are assumed.
    """

    duration_ms: int
    container: str | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pixel_format: str | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    sample_rate: int | None = None
    chapters: tuple[Chapter, ...] = ()
    live: bool = False


@dataclass(frozen=True, slots=True)
class Artwork:
    """Paths or URLs of an item's pictures; ``None`` when there is none."""

    poster: str | None = None
    thumb: str | None = None
    fanart: str | None = None


@dataclass(frozen=True, slots=True)
class MediaMetadata:
    """Descriptive metadata of one item and where it came from.

    ``season``/``episode`` are the on-screen (one-based) numbers. ``external_ids`` maps a
    provider (``imdb``, ``tmdb``, ``tvdb``) to its id.
    """

    kind: MediaKind
    title: str
    status: MetadataStatus = MetadataStatus.OK
    source: MetadataSource = MetadataSource.FILENAME
    reason: str | None = None
    show: str | None = None
    season: int | None = None
    episode: int | None = None
    year: int | None = None
    plot: str | None = None
    genres: tuple[str, ...] = ()
    content_rating: str | None = None
    artwork: Artwork = field(default_factory=Artwork)
    external_ids: tuple[tuple[str, str], ...] = ()

    @property
    def is_episodic(self) -> bool:
        """True when the item belongs to a show."""
        return self.kind is MediaKind.EPISODE


class MediaState(enum.StrEnum):
    """Whether the file behind an item is still there.

    A file that disappears is marked ``missing`` (with the time it was first missed), never
    deleted at once: a playout that is airing may still reference it.
    """

    PRESENT = "present"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What identifies an unchanged file cheaply: its size and modification time (ns)."""

    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class MediaItem:
    """A stored media item: where it is, what it is technically, and what it shows.

    ``path`` is absolute for local files. ``technical`` is ``None`` until a probe succeeded.
    ``missing_since`` is UTC and set only when ``state`` is ``missing``; ``missing_reason``
    then says how it was found missing, when that is known.
    """

    id: int
    library_id: int
    path: str
    stamp: FileStamp
    state: MediaState
    metadata: MediaMetadata
    technical: TechnicalInfo | None = None
    missing_since: datetime | None = None
    missing_reason: str | None = None

    @property
    def duration_ms(self) -> int:
        """Playable duration in ms; 0 when unknown (never scheduled as content)."""
        return self.technical.duration_ms if self.technical else 0


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A file as a scan saw it: its stamp, what it shows, and its probe result if any."""

    path: str
    stamp: FileStamp
    metadata: MediaMetadata
    technical: TechnicalInfo | None

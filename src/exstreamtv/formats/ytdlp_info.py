"""What a video is, from yt-dlp's info dictionary (the JSON ``yt-dlp --dump-json`` prints).

Pure: a mapping in, domain values out. Fields read (names as yt-dlp documents them in its
README, "OUTPUT TEMPLATE"): ``id``, ``title``, ``description``, ``duration`` (seconds),
``upload_date``/``release_date`` (``YYYYMMDD``), ``release_year``, ``thumbnail``,
``chapters`` (``start_time``/``end_time``/``title``, seconds), ``channel``/``uploader``,
``series``/``season_number``/``episode_number``, ``playlist_index``, ``categories``,
``age_limit``, ``live_status``, ``extractor_key``, ``webpage_url``, and the chosen format's
``width``, ``height``, ``fps``, ``vcodec``, ``acodec`` and ``ext``. Values of the wrong type
are ignored, never trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    Artwork,
    Chapter,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    MetadataStatus,
    TechnicalInfo,
)

MAX_TEXT = 8_000
NO_DURATION = "the site gives no duration for it"
_LIVE = frozenset({"is_live", "is_upcoming", "post_live"})
_CODECS = (
    ("avc", "h264"), ("h264", "h264"), ("hev", "hevc"), ("hvc", "hevc"), ("h265", "hevc"),
    ("vp09", "vp9"), ("vp9", "vp9"), ("vp8", "vp8"), ("av01", "av1"), ("mp4a", "aac"),
    ("aac", "aac"), ("opus", "opus"), ("vorbis", "vorbis"), ("mp3", "mp3"), ("ac-3", "ac3"),
    ("ac3", "ac3"), ("ec-3", "eac3"), ("eac3", "eac3"), ("flac", "flac"),
)  # fmt: skip
_KINDS = {
    LibraryKind.MOVIES: MediaKind.MOVIE,
    LibraryKind.SHOWS: MediaKind.EPISODE,
    LibraryKind.MUSIC_VIDEOS: MediaKind.MUSIC_VIDEO,
}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """A video: its metadata, its technical facts (``None`` when it cannot be played as a
    video: a live stream, no duration) and its page (what is resolved at play time)."""

    metadata: MediaMetadata
    technical: TechnicalInfo | None
    page_url: str | None


def describe_video(
    info: Mapping[str, Any], kind_hint: LibraryKind, default_show: str | None = None
) -> VideoInfo:
    """Our view of one video's info dictionary; ``kind_hint`` is the library's kind. In a
    library of shows, the show is the series, else the playlist, the channel, the uploader,
    else ``default_show``."""
    title = _text(info, "title") or _text(info, "id") or "Untitled video"
    kind = _KINDS.get(kind_hint, MediaKind.OTHER)
    show = next(
        (v for k in ("series", "playlist_title", "channel", "uploader") if (v := _text(info, k))),
        default_show,
    )
    year = _year(info)
    episode = _int(info, "episode_number") or _int(info, "playlist_index")
    live = _text(info, "live_status") in _LIVE or info.get("is_live") is True
    duration = _number(info, "duration")
    reason = None
    if live:
        reason = "a live stream, not a video (add it to an IPTV playlist to relay it)"
    elif duration is None or duration <= 0:
        reason = NO_DURATION
    metadata = MediaMetadata(
        kind=kind,
        title=title,
        status=MetadataStatus.FAILED if reason else MetadataStatus.OK,
        source=MetadataSource.SERVER,
        reason=reason,
        show=show if kind is MediaKind.EPISODE else None,
        season=(_int(info, "season_number") or year) if kind is MediaKind.EPISODE else None,
        episode=episode if kind is MediaKind.EPISODE else None,
        year=year,
        plot=(_text(info, "description") or "")[:MAX_TEXT] or None,
        genres=tuple(c for c in _list(info, "categories") if isinstance(c, str))[:10],
        content_rating="18+" if (_int(info, "age_limit") or 0) >= 18 else None,
        artwork=Artwork(poster=_text(info, "thumbnail"), thumb=_text(info, "thumbnail")),
        external_ids=_external(info),
    )
    technical = None
    if reason is None and duration is not None:
        technical = _technical(info, round(duration * 1000))
    return VideoInfo(metadata, technical, _text(info, "webpage_url"))


def codec_name(value: str | None) -> str | None:
    """FFmpeg's name for a yt-dlp codec string (``avc1.64001F`` is ``h264``); ``None`` for
    ``none`` or nothing."""
    if not value or value == "none":
        return None
    lowered = value.lower()
    return next((name for prefix, name in _CODECS if lowered.startswith(prefix)), lowered)


def _technical(info: Mapping[str, Any], duration_ms: int) -> TechnicalInfo:
    chapters = []
    for raw in _list(info, "chapters"):
        if not isinstance(raw, dict):
            continue
        start, end = _number(raw, "start_time"), _number(raw, "end_time")
        if start is not None and end is not None and 0 <= start < end:
            chapters.append(
                Chapter(
                    round(start * 1000), min(round(end * 1000), duration_ms), _text(raw, "title")
                )
            )
    fps = _number(info, "fps")
    return TechnicalInfo(
        duration_ms=duration_ms,
        container=_text(info, "ext"),
        video_codec=codec_name(_text(info, "vcodec")),
        width=_int(info, "width"),
        height=_int(info, "height"),
        fps=fps if fps and fps > 0 else None,
        audio_codec=codec_name(_text(info, "acodec")),
        chapters=tuple(c for c in chapters if c.start_ms < c.end_ms),
    )


def _external(info: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    extractor = (_text(info, "extractor_key") or "").lower()
    video_id = _text(info, "id")
    if extractor.startswith("youtube") and video_id:
        return (("youtube", video_id),)
    return ()


def _year(info: Mapping[str, Any]) -> int | None:
    year = _int(info, "release_year")
    if year is not None and 1800 <= year <= 9999:
        return year
    for key in ("release_date", "upload_date"):
        date = _text(info, key)
        if date and len(date) == 8 and date.isdigit():
            return int(date[:4])
    return None


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


_GONE = (
    ("private video", "the video is private"),
    ("video is private", "the video is private"),
    ("has been removed", "the video was removed"),
    ("video unavailable", "the video is no longer available"),
    ("account associated with this video has been terminated", "the video was removed"),
    ("http error 404", "the video is gone (HTTP 404)"),
    ("http error 410", "the video is gone (HTTP 410)"),
    ("does not exist", "the video does not exist"),
    ("confirm your age", "the video is age-restricted"),
    ("age-restricted", "the video is age-restricted"),
    ("inappropriate for some users", "the video is age-restricted"),
    ("not made this video available in your country", "the video is region-restricted"),
    ("not available in your country", "the video is region-restricted"),
    ("geo restriction", "the video is region-restricted"),
    ("geo-restricted", "the video is region-restricted"),
    ("members-only", "the video is for channel members only"),
)


def unplayable_reason(message: str) -> str | None:
    """Why a video can never be played, from a yt-dlp error message: removed, private,
    age- or region-restricted; ``None`` for a failure worth retrying (network, 429...)."""
    lowered = message.lower()
    return next((reason for text, reason in _GONE if text in lowered), None)

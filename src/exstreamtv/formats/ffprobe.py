"""ffprobe: the argv that asks it about a file, and the reading of its JSON answer.

Pure: building the argv and parsing the output are separate from running the process
(that belongs to ``ffmpeg/probe.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from exstreamtv.domain.media import Chapter, TechnicalInfo
from exstreamtv.errors import ProbeFailed

# First token of ffprobe's format_name -> the container name we store.
_CONTAINERS = {"matroska": "mkv", "mpegts": "mpegts", "mov": "mov"}


def probe_argv(ffprobe: str, path: str) -> list[str]:
    """The argv list that makes ``ffprobe`` print format, streams and chapters as JSON.

    ``path`` must be absolute. It is passed as ``file:<path>`` so that no name is read as an
    option (``-x.mkv``) or a protocol (``http:foo.mkv``); ffprobe has no ``--``. Raises
    ``ValueError`` for a relative path or one containing a NUL byte.
    """
    if not path.startswith("/"):
        raise ValueError(f"ffprobe needs an absolute path, got {path!r}")
    if "\0" in path:
        raise ValueError("a path cannot contain a NUL byte")
    return [
        ffprobe,
        "-v",
        "error",
        "-hide_banner",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-show_chapters",
        "-i",
        f"file:{path}",
    ]


def keyframes_argv(ffprobe: str, location: str, *, from_s: float, span_s: float) -> list[str]:
    """argv that makes ``ffprobe`` print, as JSON, the file's start time and the times of
    the video keyframes in ``[from_s, from_s + span_s]`` of its timeline (absolute seconds;
    ffprobe starts reading at the keyframe before ``from_s``). ``location`` is an absolute
    path or an http(s) URL."""
    if "\0" in location or not location.startswith(("/", "http://", "https://")):
        raise ValueError("a keyframe probe needs an absolute path or an http(s) URL")
    source = location if location.startswith("http") else f"file:{location}"
    return [
        ffprobe, "-v", "error", "-hide_banner", "-print_format", "json",
        "-select_streams", "v:0", "-skip_frame", "nokey",
        "-show_entries", "frame=pts_time:format=start_time",
        "-read_intervals", f"{from_s:.3f}%+{span_s:.3f}", "-i", source,
    ]  # fmt: skip


def parse_keyframes(output: bytes) -> tuple[float, list[float]]:
    """``(start time, keyframe times)`` in seconds of the file's timeline, from the JSON
    that ``keyframes_argv`` makes ffprobe print (keyframes sorted; unreadable ones left
    out). Raises ``ProbeFailed`` when the output is not such a JSON object."""
    try:
        document = json.loads(output)
    except (ValueError, RecursionError):
        raise ProbeFailed("ffprobe output is not JSON") from None
    if not isinstance(document, dict):
        raise ProbeFailed("ffprobe output is not a JSON object")
    fmt = document.get("format")
    start = _number(fmt.get("start_time")) if isinstance(fmt, dict) else None
    times = [
        found
        for frame in _list(document.get("frames"))
        if isinstance(frame, dict) and (found := _number(frame.get("pts_time"))) is not None
    ]
    return (start or 0.0), sorted(times)


# Network protocols an online item may use (an HLS playlist may not point at ``file:``).
NETWORK_PROTOCOLS = "http,https,tcp,tls,crypto"


def probe_url_argv(ffprobe: str, url: str, timeout_sec: float) -> list[str]:
    """Like :func:`probe_argv` for an ``http(s)`` URL (a file or an HLS playlist): only
    network protocols are allowed, and a read that stalls for ``timeout_sec`` fails.
    Raises ``ValueError`` for another scheme or a NUL byte."""
    if not url.startswith(("http://", "https://")) or "\0" in url:
        raise ValueError("ffprobe reads only http(s) URLs here")
    micros = str(max(1, round(timeout_sec * 1_000_000)))
    return [
        ffprobe, "-v", "error", "-hide_banner", "-print_format", "json",
        "-show_format", "-show_streams", "-show_chapters",
        "-protocol_whitelist", NETWORK_PROTOCOLS, "-rw_timeout", micros, "-i", url,
    ]  # fmt: skip


def parse_ffprobe(output: bytes) -> TechnicalInfo:
    """Read the JSON that ``probe_argv`` makes ffprobe print.

    Durations are milliseconds: the container duration, else the longest stream. Cover art
    (an ``attached_pic`` video stream) is not the video. Numbers may be JSON numbers or
    strings; ``"N/A"`` and absent values become ``None``.

    Raises ``ProbeFailed`` when the output is not a JSON object, has no ``format`` section,
    has no audio or video stream, or has no positive finite duration.
    """
    try:
        document = json.loads(output)
    except (ValueError, RecursionError) as err:
        # ValueError covers bad UTF-8 too (UnicodeDecodeError is one).
        raise ProbeFailed(f"ffprobe output is not JSON: {str(err)[:120]}") from None
    if not isinstance(document, dict):
        raise ProbeFailed("ffprobe output is not a JSON object")
    fmt = document.get("format")
    if not isinstance(fmt, dict):
        raise ProbeFailed("ffprobe output has no format section")
    streams = [s for s in _list(document.get("streams")) if isinstance(s, dict)]
    video = next((s for s in streams if _is_video(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise ProbeFailed("no audio or video streams")
    return TechnicalInfo(
        duration_ms=_duration_ms(fmt, streams),
        container=_container(fmt),
        video_codec=_str(video, "codec_name"),
        width=_int(video, "width"),
        height=_int(video, "height"),
        fps=_fps(video),
        pixel_format=_str(video, "pix_fmt"),
        audio_codec=_str(audio, "codec_name"),
        audio_channels=_int(audio, "channels"),
        sample_rate=_int(audio, "sample_rate"),
        chapters=_chapters(_list(document.get("chapters"))),
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _is_video(stream: Mapping[str, object]) -> bool:
    if stream.get("codec_type") != "video":
        return False
    disposition = stream.get("disposition")
    # Cover art in MP4/MKV/MP3 shows up as a one-frame video stream flagged attached_pic.
    return not (isinstance(disposition, dict) and _number(disposition.get("attached_pic")) == 1)


def _number(value: object) -> float | None:
    """A finite float from a JSON number or numeric string; ``None`` otherwise (``"N/A"``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "N/A"; an int beyond float range
        return None
    return number if math.isfinite(number) else None


def _str(stream: Mapping[str, object] | None, key: str) -> str | None:
    value = None if stream is None else stream.get(key)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _int(stream: Mapping[str, object] | None, key: str) -> int | None:
    number = None if stream is None else _number(stream.get(key))
    if number is None or number <= 0 or not number.is_integer():
        return None
    return int(number)


def _seconds_hms(value: object) -> float | None:
    """Matroska stream tags carry ``DURATION`` as ``HH:MM:SS.fraction``."""
    if not isinstance(value, str) or value.count(":") != 2:
        return None
    hours, minutes, seconds = value.split(":")
    parts = [_number(hours), _number(minutes), _number(seconds)]
    if any(part is None or part < 0 for part in parts):
        return None
    h, m, s = (part or 0.0 for part in parts)
    return h * 3600 + m * 60 + s


def _stream_seconds(stream: Mapping[str, object]) -> float | None:
    seconds = _number(stream.get("duration"))
    if seconds is None:
        tags = stream.get("tags")
        if isinstance(tags, dict):
            seconds = _seconds_hms(tags.get("DURATION"))
    return seconds


def _duration_ms(fmt: Mapping[str, object], streams: list[dict[str, object]]) -> int:
    seconds = _number(fmt.get("duration"))
    if seconds is None or seconds <= 0:
        found = [s for s in map(_stream_seconds, streams) if s is not None and s > 0]
        seconds = max(found, default=None)
    milliseconds = round(seconds * 1000) if seconds is not None else 0
    if milliseconds <= 0:
        raise ProbeFailed("duration unknown")
    return milliseconds


def _container(fmt: Mapping[str, object]) -> str | None:
    """``mov,mp4,m4a,...`` is one demuxer for QuickTime and MP4: the brand tells them apart."""
    name = _str(fmt, "format_name")
    if name is None:
        return None
    first = name.split(",")[0].strip()
    if first == "mov":
        tags = fmt.get("tags")
        brand = _str(tags, "major_brand") if isinstance(tags, dict) else None
        return "mp4" if brand is not None and brand != "qt" else "mov"
    return _CONTAINERS.get(first, first) or None


def _fps(stream: Mapping[str, object] | None) -> float | None:
    """Frame rate from ``avg_frame_rate`` (``30000/1001``), else ``r_frame_rate``."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = _str(stream, key)
        if rate is None:
            continue
        numerator, _, denominator = rate.partition("/")
        top, bottom = _number(numerator), _number(denominator or "1")
        if top is not None and bottom and top > 0:  # "0/0" means unknown
            fps = top / bottom
            if math.isfinite(fps) and fps > 0:
                return round(fps, 3)
    return None


def _chapters(raw: list[object]) -> tuple[Chapter, ...]:
    """Chapters with readable times, ordered by start; an end before its start is clamped."""
    chapters: list[Chapter] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        start, end = _number(item.get("start_time")), _number(item.get("end_time"))
        if start is None or end is None or start < 0:
            continue
        tags = item.get("tags")
        title = _str(tags, "title") if isinstance(tags, dict) else None
        start_ms = round(start * 1000)
        chapters.append(Chapter(start_ms, max(start_ms, round(end * 1000)), title))
    return tuple(sorted(chapters, key=lambda chapter: chapter.start_ms))

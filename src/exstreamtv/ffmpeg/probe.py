"""Ask ffprobe what a media file is: run it with the one process runner, parse its JSON."""

from __future__ import annotations

import math
import re
from pathlib import Path

from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.errors import ProbeFailed, ProcessError
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.formats.ffprobe import (
    keyframes_argv,
    parse_ffprobe,
    parse_keyframes,
    probe_argv,
    probe_url_argv,
)

_MAX_REASON_CHARS = 300
_MAX_JSON_BYTES = 8 * 1024 * 1024
# FFmpeg prefixes log lines with "[demuxer @ 0xADDRESS] "; the address is noise.
_LOG_CONTEXT = re.compile(r"^\[[^\]]*@ 0x[0-9a-fA-F]+\]\s*")


async def probe_file(
    path: Path,
    *,
    ffprobe: str = "ffprobe",
    timeout: float = 30.0,  # noqa: ASYNC109 - passed on to run_capture
) -> TechnicalInfo:
    """Probe the media file at ``path`` (made absolute against the working directory).

    ``timeout`` is in seconds. Raises ``ProbeFailed`` with a short reason (at most 300
    characters, naming no path) when ffprobe is missing, times out, exits non-zero, or prints
    output that ``parse_ffprobe`` rejects.
    """
    location = str(path.absolute())  # noqa: ASYNC240 - getcwd only, no disk access
    try:
        argv = probe_argv(ffprobe, location)
        run = await run_capture(argv, timeout=timeout, max_output_bytes=_MAX_JSON_BYTES)
    except (ValueError, ProcessError) as err:  # a NUL in the path; missing, slow or chatty
        raise ProbeFailed(_shorten(str(err))) from err
    if run.returncode != 0:
        raise ProbeFailed(_failure_reason(run.stderr_tail, run.returncode, location))
    return parse_ffprobe(run.stdout)


async def probe_url(
    url: str,
    *,
    ffprobe: str = "ffprobe",
    timeout: float = 30.0,  # noqa: ASYNC109 - passed on to run_capture
) -> TechnicalInfo:
    """Probe an ``http(s)`` media file or HLS playlist. ``timeout`` (s) bounds the whole
    probe, and a read stalled for a third of it fails sooner. Raises ``ProbeFailed`` with a
    short reason naming no URL (URLs of online sources may carry credentials)."""
    try:
        argv = probe_url_argv(ffprobe, url, max(1.0, timeout / 3))
        run = await run_capture(argv, timeout=timeout, max_output_bytes=_MAX_JSON_BYTES)
    except (ValueError, ProcessError) as err:
        raise ProbeFailed(_shorten(str(err).replace(url, "the URL"))) from err
    if run.returncode != 0:
        raise ProbeFailed(_failure_reason(run.stderr_tail, run.returncode, url))
    return parse_ffprobe(run.stdout)


async def next_keyframe(
    location: str,
    at_ms: int,
    *,
    ffprobe: str = "ffprobe",
    within_ms: int = 30_000,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed on to run_capture
) -> int | None:
    """Where (ms from the start of the file, rounded up) the first video keyframe at or
    after ``at_ms`` is, looking ``within_ms`` ahead; ``None`` when there is none that
    close. Raises ``ProbeFailed`` when ffprobe cannot tell (missing, slow, unreadable)."""

    async def keyframes(from_s: float) -> tuple[float, list[float]]:
        argv = keyframes_argv(ffprobe, location, from_s=from_s, span_s=within_ms / 1000)
        try:
            run = await run_capture(argv, timeout=timeout, max_output_bytes=_MAX_JSON_BYTES)
        except (ValueError, ProcessError) as err:
            raise ProbeFailed(_shorten(str(err))) from err
        if run.returncode != 0:
            raise ProbeFailed(_failure_reason(run.stderr_tail, run.returncode, location))
        return parse_keyframes(run.stdout)

    start, times = await keyframes(at_ms / 1000)
    if start:  # the intervals are in the file's own timeline: ask again where it starts
        start, times = await keyframes(start + at_ms / 1000)
    for time in times:
        offset_ms = math.ceil(round((time - start) * 1000, 3))
        if offset_ms >= at_ms:
            return offset_ms if offset_ms - at_ms <= within_ms else None
    return None


def _failure_reason(stderr_tail: str, returncode: int, location: str) -> str:
    """``ffprobe: <last non-empty stderr line>`` with the file's own path and log context cut."""
    lines = [line.strip() for line in stderr_tail.splitlines() if line.strip()]
    if not lines:
        return f"ffprobe exited with status {returncode}"
    message = lines[-1].replace(f"file:{location}", "").replace(location, "")
    message = _LOG_CONTEXT.sub("", message).lstrip(": ").strip()
    return _shorten(f"ffprobe: {message or f'exited with status {returncode}'}")


def _shorten(reason: str) -> str:
    """Cut ``reason`` to the reason limit, marking the cut with an ellipsis."""
    if len(reason) <= _MAX_REASON_CHARS:
        return reason
    return reason[: _MAX_REASON_CHARS - 1] + "…"

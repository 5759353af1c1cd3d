"""Why a channel's FFmpeg process ended badly: the media's fault, or the process's.

The two classes are handled differently (see ``docs/architecture.md``, "Fault classes"):

* a **media** fault is a file that cannot be read or decoded (garbage, truncated, gone,
  refused by its media server). Retrying it would fail the same way, and it says nothing
  about the channel's health, so it never counts toward the circuit breaker: the item is
  marked failed with the reason and the channel plays something else;
* a **process** fault is FFmpeg crashing, being killed, hanging or failing for a reason of
  its own (an encoder, a device, a watermark image, memory). It goes through the
  supervisor's restart path and counts toward the breaker.

Classification reads the exit status and the tail of FFmpeg's stderr. Errors opening an
input count only when FFmpeg names the item's own ``source`` in them (a missing watermark
image or GPU device is not the media's fault); decoder and demuxer complaints count as they
are. A process that exits normally but produced no media for a non-empty request from the
file's start read nothing decodable: a media fault too (else a garbage file that FFmpeg
merely skips would be spawned again and again). From further in, the same end means the
request began at or past the file's real end (its listed length is longer, or the request
is shorter than a frame): no fault; the caller fills the rest of the slot.
"""

from __future__ import annotations

import enum
import re

# libavformat's errors opening or reading an input, printed as "<url>: <message>".
_OPEN_ERRORS = re.compile(
    r"Invalid data found when processing input|No such file or directory|Permission denied"
    r"|Server returned 4\d\d|Input/output error|End of file"
)
# Demuxer and decoder complaints about the content itself.
_CONTENT_ERRORS = re.compile(
    r"moov atom not found|[Cc]ould not find codec parameters|does not contain any stream"
    r"|Stream map '0:[va]:0' matches no streams|Error while decoding stream"
    r"|error while decoding MB|Invalid NAL unit size|Header missing|Failed to read frame size"
    r"|partial file|EBML header parsing failed|Invalid frame dimensions"
)


class Fault(enum.StrEnum):
    MEDIA = "media"
    PROCESS = "process"


def classify_exit(
    status: int,
    stderr: str,
    *,
    source: str | None,
    produced_ms: int,
    requested_ms: int,
    seek_ms: int = 0,
) -> Fault | None:
    """The fault behind a process's end, or ``None`` when it ended well.

    ``status`` is the exit status (negative: killed by that signal); ``stderr`` the tail of
    its standard error; ``source`` the item's path or URL (``None`` for a slate, whose
    failures are always the process's); ``produced_ms`` how much media came out of
    ``requested_ms`` asked from ``seek_ms`` into the source. A caller that stopped the
    process itself does not ask.
    """
    if status < 0:
        return Fault.PROCESS  # a signal: killed or crashed, whatever the input
    if status == 0:
        if produced_ms == 0 and requested_ms > 0:
            if source is None:
                return Fault.PROCESS
            return Fault.MEDIA if seek_ms == 0 else None  # else: past the file's real end
        return None
    if source is not None and media_lines(stderr, source):
        return Fault.MEDIA
    return Fault.PROCESS


def media_lines(stderr: str, source: str) -> list[str]:
    """The lines of ``stderr`` that blame the media at ``source``."""
    base = source.split("?", 1)[0]  # a stream URL's query holds a token FFmpeg may echo
    return [
        line.strip()
        for line in stderr.splitlines()
        if _CONTENT_ERRORS.search(line) or (base in line and _OPEN_ERRORS.search(line))
    ]


def media_reason(stderr: str, source: str) -> str:
    """A short reason for a media fault: FFmpeg's last complaint about the media, without
    the ``[demuxer @ 0x...]`` prefix and the path."""
    lines = media_lines(stderr, source)
    if not lines:
        return "the file produced no media (nothing decodable)"
    last = re.sub(r"^\[[^\]]*\]\s*", "", lines[-1])
    return last.replace(f"file:{source}: ", "").replace(f"{source}: ", "")[:300]

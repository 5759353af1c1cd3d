"""Pure FFmpeg argv builders: each returns a ``list[str]`` and does no I/O.

Text that ends up inside a filtergraph passes three parsers, innermost first:

1. drawtext's text expansion: ``\\`` escapes the next character and ``%`` starts ``%{...}``;
2. the filter's option parser: ``:`` separates options, ``'...'`` quotes, ``\\`` escapes;
3. the filtergraph parser: ``,`` ``;`` ``[`` ``]`` are structure, ``'`` and ``\\`` quote.

``escape_drawtext`` undoes them in reverse order, so any title reaches the screen verbatim.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from exstreamtv.errors import InvalidInput

# Characters that the filtergraph parser (level 3) would consume: escaped with a backslash.
_GRAPH_SPECIALS = frozenset("\\'[],;")
# Characters that drawtext's text expansion (level 1) would consume.
_EXPANSION_SPECIALS = frozenset("\\%")
# A colour name, 0xRRGGBB / #RRGGBB, with an optional @alpha (FFmpeg's colour syntax).
_COLOUR = re.compile(r"[A-Za-z0-9#]{1,32}(@[0-9.]{1,8})?")
_TIMECODE = "%{pts:hms}"
_SAMPLE_RATE = 48000


def argv_text(text: str) -> str:
    """``text`` made passable as a process argument: NUL and lone surrogates become U+FFFD.

    An argv string is a C string (no NUL) encoded to UTF-8 (no surrogates).
    """
    return "".join("\ufffd" if ch == "\0" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def quote_filter_value(value: str) -> str:
    """Quote ``value`` as one filter option value inside a filtergraph (levels 2 and 3).

    The result parses back to exactly ``value``, leading and trailing spaces included.
    """
    quoted = "'" + value.replace("'", "'\\''") + "'"
    return "".join("\\" + ch if ch in _GRAPH_SPECIALS else ch for ch in quoted)


def escape_drawtext(text: str) -> str:
    """``text`` as the value of drawtext's ``text=`` option inside a filtergraph.

    drawtext then renders ``argv_text(text)`` literally: ``%`` never expands, backslashes,
    quotes, colons, commas, brackets and semicolons are shown as typed.
    """
    literal = "".join("\\" + ch if ch in _EXPANSION_SPECIALS else ch for ch in argv_text(text))
    return quote_filter_value(literal)


def demo_clip_argv(
    ffmpeg: str,
    output: Path,
    *,
    title: str,
    colour: str,
    tone_hz: int,
    seconds: float,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    with_text: bool = True,
) -> list[str]:
    """argv for an H.264/AAC MP4 test clip: a ``colour`` card with a tone of ``tone_hz`` Hz.

    ``seconds`` is the clip length; ``width``/``height`` in pixels (even, for yuv420p);
    ``fps`` frames per second, with a keyframe every 2 s. With ``with_text`` the card shows
    ``title`` centred and a running ``HH:MM:SS.mmm`` timecode. drawtext needs a font that
    fontconfig can find; where none is installed FFmpeg exits non-zero, and the caller
    should retry with ``with_text=False``. ``output`` is overwritten.

    Raises ``InvalidInput`` for an unknown colour syntax or a non-positive number.
    """
    _check_clip(colour=colour, tone_hz=tone_hz, seconds=seconds, size=(width, height), fps=fps)
    video = f"color=c={colour}:size={width}x{height}:rate={fps}"
    audio = f"sine=frequency={tone_hz}:sample_rate={_SAMPLE_RATE}"
    text_filter = ["-vf", _card_text(title, height)] if with_text else []
    return [
        ffmpeg,
        *("-nostdin", "-hide_banner", "-loglevel", "error"),
        *("-f", "lavfi", "-i", video),
        *("-f", "lavfi", "-i", audio),
        *("-map", "0:v", "-map", "1:a"),
        *text_filter,
        *("-t", f"{seconds:.3f}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(2 * fps)),
        *("-c:a", "aac", "-b:a", "96k"),
        *("-shortest", "-movflags", "+faststart"),
        *("-metadata", f"title={argv_text(title)}"),
        "-y",
        _output_url(output),
    ]


def _card_text(title: str, height: int) -> str:
    """Two drawtext filters: the title in the middle, the timecode near the bottom."""
    title_size = max(12, height // 10)
    clock_size = max(10, height // 16)
    common = "fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=(w-text_w)/2"
    title_text = f"drawtext=text={escape_drawtext(title)}:fontsize={title_size}:{common}"
    clock_text = f"drawtext=text={quote_filter_value(_TIMECODE)}:fontsize={clock_size}:{common}"
    return f"{title_text}:y=(h-text_h)/2,{clock_text}:y=h-text_h-{clock_size}"


def _check_clip(
    *, colour: str, tone_hz: int, seconds: float, size: tuple[int, int], fps: int
) -> None:
    """Raise ``InvalidInput`` naming the first clip parameter FFmpeg would reject."""
    if not _COLOUR.fullmatch(colour):
        raise InvalidInput(f"colour {colour!r} is not a colour name or 0xRRGGBB")
    if tone_hz <= 0 or fps <= 0:
        raise InvalidInput("tone_hz and fps must be positive")
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidInput("seconds must be a positive number")
    if any(side <= 0 or side % 2 for side in size):
        raise InvalidInput("width and height must be positive even numbers (yuv420p)")


def _output_url(path: Path) -> str:
    """``file:`` keeps a name like ``-x.mp4`` or ``a:b.mp4`` from being an option or protocol."""
    return f"file:{path}"


def logo_argv(
    ffmpeg: str, output: Path, *, text: str, colour: str, with_text: bool = True
) -> list[str]:
    """argv for a 256x256 PNG channel logo: ``text`` (the channel number) on ``colour``.

    Without a usable font drawtext fails; retry with ``with_text=False`` for a plain tile.
    """
    _check_clip(colour=colour, tone_hz=1, seconds=1, size=(256, 256), fps=1)
    video = f"color=c={colour}:size=256x256:rate=1"
    draw = (
        f"drawtext=text={escape_drawtext(text)}:fontcolor=white:fontsize=96:"
        "x=(w-text_w)/2:y=(h-text_h)/2"
    )
    return [
        ffmpeg,
        *("-nostdin", "-hide_banner", "-loglevel", "error"),
        *("-f", "lavfi", "-i", video),
        *(("-vf", draw) if with_text else ()),
        *("-frames:v", "1", "-f", "image2", "-y"),
        _output_url(output),
    ]

"""FFmpeg argv builders: escaping proven against a model of FFmpeg's parsers and real ffmpeg."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exstreamtv.errors import InvalidInput
from exstreamtv.ffmpeg.command import (
    argv_text,
    demo_clip_argv,
    escape_drawtext,
    quote_filter_value,
)
from exstreamtv.ffmpeg.probe import probe_file
from exstreamtv.ffmpeg.process import run_capture

WHITESPACE = " \n\t\r"
NASTY_TITLES = [
    "It's 100% done: yes",
    "back\\slash at the end\\",
    "%{pts} %{eif:1:d} %% %",
    "'''",
    "[in];[out],a=b:c\\:d",
    "  padded  ",
    "ünïcødé ✓ 日本語",
    "two\nlines",
    "\\'\\\\'\\",
    "nul\x00byte",
]


# --- a model of the three parsers a drawtext title passes (FFmpeg 5.1) ----------------------


def get_token(text: str, terminators: str) -> tuple[str, str]:
    """Model of libavutil's av_get_token: (token, unparsed rest starting at a terminator).

    Leading whitespace is skipped, ``\\`` takes the next character literally, ``'...'`` is
    taken literally, and trailing whitespace that was neither quoted nor escaped is dropped.
    """
    position = len(text) - len(text.lstrip(WHITESPACE))
    out: list[str] = []
    protected = 0
    while position < len(text) and text[position] not in terminators:
        char = text[position]
        position += 1
        if char == "\\" and position < len(text):
            out.append(text[position])
            position += 1
            protected = len(out)
        elif char == "'":
            closing = text.find("'", position)
            end = len(text) if closing < 0 else closing
            out.extend(text[position:end])
            position = end if closing < 0 else end + 1
            protected = len(out) if closing >= 0 else protected
        else:
            out.append(char)
    while len(out) > protected and out[-1] in WHITESPACE:
        out.pop()
    return "".join(out), text[position:]


def filter_options(args: str) -> dict[str, str]:
    """Model of a filter's ``key=value:key=value`` option parsing."""
    options: dict[str, str] = {}
    while args:
        key, separator, rest = args.partition("=")
        assert separator, f"option without a value in {args!r}"
        assert re.fullmatch(r"[A-Za-z0-9_./+-]+", key), f"bad option key {key!r}"
        options[key], args = get_token(rest, ":")
        args = args.removeprefix(":")
    return options


def filter_chain(graph: str) -> list[tuple[str, dict[str, str]]]:
    """Model of the filtergraph parser for a plain ``a=...,b=...`` chain."""
    filters: list[tuple[str, dict[str, str]]] = []
    rest = graph
    while True:
        name, rest = get_token(rest, "=,;[")
        options: dict[str, str] = {}
        if rest.startswith("="):
            args, rest = get_token(rest[1:], "[],;")
            options = filter_options(args)
        filters.append((name, options))
        if not rest:
            return filters
        assert rest.startswith(","), f"chain broken at {rest!r}"
        rest = rest[1:]


def expand_literal(text: str) -> str:
    """Model of drawtext's text expansion for text that must not expand anything."""
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        assert char != "%", f"unescaped % would start an expansion in {text!r}"
        if char == "\\" and position + 1 < len(text):
            char = text[position + 1]
            position += 1
        out.append(char)
        position += 1
    return "".join(out)


def video_filters(argv: list[str]) -> str:
    return argv[argv.index("-vf") + 1]


@given(st.text())
def test_any_title_reaches_drawtext_verbatim_and_injects_no_option(title: str) -> None:
    argv = demo_clip_argv(
        "ffmpeg", Path("out.mp4"), title=title, colour="navy", tone_hz=440, seconds=1
    )

    (title_name, title_options), (clock_name, clock_options) = filter_chain(video_filters(argv))

    assert (title_name, clock_name) == ("drawtext", "drawtext")
    assert expand_literal(title_options["text"]) == argv_text(title)
    assert clock_options["text"] == "%{pts:hms}"
    assert set(title_options) == set(clock_options)
    assert set(title_options) == {
        *("text", "fontsize", "fontcolor", "box", "boxcolor", "boxborderw", "x", "y"),
    }


@given(st.text())
def test_quoted_filter_value_parses_back_to_itself(value: str) -> None:
    sendable = argv_text(value)
    graph_level, graph_rest = get_token(quote_filter_value(sendable), "[],;")
    option_level, option_rest = get_token(graph_level, ":")

    assert (option_level, option_rest, graph_rest) == (sendable, "", "")


@given(st.text())
def test_argv_text_is_always_passable_and_changes_only_what_cannot_pass(text: str) -> None:
    sendable = argv_text(text)

    assert "\0" not in sendable
    sendable.encode("utf-8")  # raises for a lone surrogate
    assert len(sendable) == len(text)
    if not re.search("[\0\ud800-\udfff]", text):
        assert sendable == text


# --- real ffmpeg -----------------------------------------------------------------------------

WHITE_CARD = "color=c=white:size=480x64:rate=1"  # drawtext draws black by default
CARD = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", WHITE_CARD]


def frame_md5_argv(video_filter: str | None) -> list[str]:
    filters = ["-vf", video_filter] if video_filter else []
    return [*CARD, "-frames:v", "1", *filters, "-f", "md5", "-"]


async def frame_md5(video_filter: str | None) -> str:
    run = await run_capture(frame_md5_argv(video_filter), timeout=20)
    assert run.returncode == 0, run.stderr_tail
    return run.stdout.decode().strip()


@pytest.fixture(scope="module")
def blank_md5() -> str:
    argv = frame_md5_argv(None)
    return subprocess.run(argv, check=True, capture_output=True, timeout=20).stdout.decode()


@pytest.mark.parametrize("title", NASTY_TITLES)
async def test_drawtext_renders_nasty_titles_exactly_like_the_literal_text(
    title: str, tmp_path: Path, blank_md5: str
) -> None:
    literal = tmp_path / "title.txt"
    literal.write_bytes(argv_text(title).encode())
    reference = f"textfile={quote_filter_value(str(literal))}:expansion=none"

    escaped = await frame_md5(f"drawtext=text={escape_drawtext(title)}:fontsize=12")
    expected = await frame_md5(f"drawtext={reference}:fontsize=12")

    assert escaped == expected
    assert escaped != blank_md5.strip()


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1.5 s demo clip with a nasty title, written to an awkward file name."""
    output = tmp_path_factory.mktemp("demo") / "-demo: ü [1].mp4"
    argv = demo_clip_argv(
        "ffmpeg",
        output,
        title="Ça va? 100% \\ 'quoted': [a,b];c",
        colour="0x203040",
        tone_hz=1000,
        seconds=1.5,
        width=320,
        height=180,
    )
    subprocess.run(argv, check=True, timeout=30)
    return output


async def test_demo_clip_is_h264_aac_of_the_requested_length_and_size(demo_clip: Path) -> None:
    info = await probe_file(demo_clip)

    assert info.duration_ms == pytest.approx(1500, abs=100)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.fps) == (320, 180, 25)
    assert (info.pixel_format, info.sample_rate) == ("yuv420p", 48000)


async def test_demo_clip_carries_its_title_as_metadata(demo_clip: Path) -> None:
    tags = ["-show_entries", "format_tags=title", "-of", "default=nw=1:nk=1"]
    run = await run_capture(["ffprobe", "-v", "error", *tags, f"file:{demo_clip}"], timeout=20)

    assert run.stdout.decode().strip() == "Ça va? 100% \\ 'quoted': [a,b];c"


async def test_demo_clip_timecode_changes_from_frame_to_frame(demo_clip: Path) -> None:
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-i", f"file:{demo_clip}"]
    run = await run_capture([*argv, "-an", "-f", "framemd5", "-"], timeout=20)

    frame_hashes = [line.split(",")[-1] for line in run.stdout.decode().splitlines()[-38:]]
    assert run.returncode == 0
    assert len(set(frame_hashes)) > 1


async def test_demo_clip_without_text_needs_no_font_and_still_plays(tmp_path: Path) -> None:
    output = tmp_path / "plain.mp4"
    argv = demo_clip_argv(
        "ffmpeg", output, title="unused", colour="red", tone_hz=440, seconds=0.5, with_text=False
    )

    run = await run_capture(argv, timeout=30)
    info = await probe_file(output)

    assert run.returncode == 0, run.stderr_tail
    assert "-vf" not in argv
    assert info.duration_ms == pytest.approx(500, abs=100)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red:size=1x1"}, "colour"),
        ({"colour": ""}, "colour"),
        ({"tone_hz": 0}, "tone_hz"),
        ({"fps": -1}, "fps"),
        ({"seconds": 0.0}, "seconds"),
        ({"seconds": float("nan")}, "seconds"),
        ({"width": 321}, "even"),
        ({"height": 0}, "even"),
    ],
)
def test_demo_clip_refuses_parameters_ffmpeg_would_reject(
    change: dict[str, object], message: str
) -> None:
    params: dict[str, object] = {"colour": "red", "tone_hz": 440, "seconds": 1.0, "fps": 25}
    params |= change

    with pytest.raises(InvalidInput, match=message):
        demo_clip_argv("ffmpeg", Path("out.mp4"), title="t", **params)  # type: ignore[arg-type]

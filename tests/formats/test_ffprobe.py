"""Behaviour of the ffprobe argv builder and JSON reader, against payloads and real ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exstreamtv.domain.media import Chapter, TechnicalInfo
from exstreamtv.errors import ProbeFailed
from exstreamtv.formats.ffprobe import parse_ffprobe, probe_argv

FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None or FFPROBE is None, reason="ffmpeg/ffprobe not installed"
)

_LAVFI_INPUTS = [
    *("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25"),
    *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
]
_ENCODE = [
    *("-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
    *("-c:a", "aac", "-shortest"),
]
_CHAPTERS = """;FFMETADATA1
[CHAPTER]
TIMEBASE=1/1000
START=0
END=1000
title=Opening
[CHAPTER]
TIMEBASE=1/1000
START=1000
END=2000
title=Ending
"""


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s MP4 clip and a 2 s MKV with two chapters, made once for this module."""
    assert FFMPEG is not None
    folder = tmp_path_factory.mktemp("media")
    ffmpeg = [FFMPEG, "-v", "error", "-nostdin", "-y"]
    subprocess.run([*ffmpeg, *_LAVFI_INPUTS, *_ENCODE, str(folder / "clip.mp4")], check=True)
    (folder / "chapters.txt").write_text(_CHAPTERS, encoding="utf-8")
    subprocess.run(
        [
            *ffmpeg,
            *_LAVFI_INPUTS,
            *("-i", str(folder / "chapters.txt")),
            *("-map", "0:v", "-map", "1:a", "-map_chapters", "2"),
            *_ENCODE,
            str(folder / "chapters.mkv"),
        ],
        check=True,
    )
    return folder


def _probe(path: Path) -> TechnicalInfo:
    assert FFPROBE is not None
    done = subprocess.run(probe_argv(FFPROBE, str(path)), capture_output=True, check=True)
    return parse_ffprobe(done.stdout)


def _payload(**document: object) -> bytes:
    return json.dumps(document).encode()


def _reason(output: bytes) -> str:
    with pytest.raises(ProbeFailed) as caught:
        parse_ffprobe(output)
    return caught.value.message


VIDEO = {
    "codec_type": "video",
    "codec_name": "h264",
    "width": 1920,
    "height": 1080,
    "avg_frame_rate": "24000/1001",
    "r_frame_rate": "24000/1001",
    "pix_fmt": "yuv420p",
    "disposition": {"default": 1, "attached_pic": 0},
}
AUDIO = {"codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"}
COVER_ART = {
    "codec_type": "video",
    "codec_name": "mjpeg",
    "width": 600,
    "height": 600,
    "avg_frame_rate": "0/0",
    "disposition": {"attached_pic": 1},
}
MP4_FORMAT = {
    "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
    "duration": "5425.120000",
    "tags": {"major_brand": "isom"},
}


# --- argv ------------------------------------------------------------------------------


def test_argv_asks_for_json_format_streams_and_chapters_of_a_file_url() -> None:
    argv = probe_argv("/usr/bin/ffprobe", "/media/Movie: The Sequel.mkv")

    assert argv == [
        "/usr/bin/ffprobe",
        *("-v", "error", "-hide_banner", "-print_format", "json"),
        *("-show_format", "-show_streams", "-show_chapters"),
        *("-i", "file:/media/Movie: The Sequel.mkv"),
    ]


@pytest.mark.parametrize("path", ["movie.mkv", "-i.mkv", "http://host/x.mkv", ""])
def test_argv_refuses_a_relative_path(path: str) -> None:
    with pytest.raises(ValueError, match="absolute path"):
        probe_argv("ffprobe", path)


def test_argv_refuses_a_nul_byte() -> None:
    with pytest.raises(ValueError, match="NUL"):
        probe_argv("ffprobe", "/media/a\0b.mkv")


# --- real ffprobe ----------------------------------------------------------------------


@needs_ffmpeg
def test_real_ffprobe_output_of_an_h264_aac_mp4_is_read(media_dir: Path) -> None:
    info = _probe(media_dir / "clip.mp4")

    assert abs(info.duration_ms - 2000) <= 100
    assert info.container == "mp4"
    assert (info.video_codec, info.width, info.height) == ("h264", 160, 120)
    assert info.fps == 25.0
    assert info.pixel_format == "yuv420p"
    assert (info.audio_codec, info.audio_channels, info.sample_rate) == ("aac", 1, 48000)
    assert info.chapters == ()


@needs_ffmpeg
def test_real_ffprobe_chapters_of_an_mkv_are_read_in_milliseconds(media_dir: Path) -> None:
    info = _probe(media_dir / "chapters.mkv")

    assert info.container == "mkv"
    assert info.chapters == (Chapter(0, 1000, "Opening"), Chapter(1000, 2000, "Ending"))


@needs_ffmpeg
def test_real_ffprobe_reads_names_with_leading_dash_and_colons(
    media_dir: Path, tmp_path: Path
) -> None:
    awkward = tmp_path / "-v quiet: http:x #1?.mp4"
    shutil.copyfile(media_dir / "clip.mp4", awkward)

    assert _probe(awkward).video_codec == "h264"


@needs_ffmpeg
def test_real_ffprobe_on_a_non_media_file_fails_before_parsing(tmp_path: Path) -> None:
    assert FFPROBE is not None
    junk = tmp_path / "notes.mkv"
    junk.write_bytes(b"not a video at all")

    done = subprocess.run(probe_argv(FFPROBE, str(junk)), capture_output=True, check=False)

    assert done.returncode != 0
    assert "Invalid data" in done.stderr.decode()


# --- recorded payloads -----------------------------------------------------------------


def test_full_payload_gives_every_field() -> None:
    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[VIDEO, AUDIO]))

    assert info == TechnicalInfo(
        duration_ms=5_425_120,
        container="mp4",
        video_codec="h264",
        width=1920,
        height=1080,
        fps=23.976,
        pixel_format="yuv420p",
        audio_codec="aac",
        audio_channels=2,
        sample_rate=48000,
    )


def test_cover_art_is_not_taken_as_the_video_stream() -> None:
    fmt = {"format_name": "mp3", "duration": "200.5"}

    info = parse_ffprobe(_payload(format=fmt, streams=[COVER_ART, AUDIO]))

    assert info.video_codec is None
    assert info.width is None
    assert (info.container, info.audio_codec, info.duration_ms) == ("mp3", "aac", 200_500)


def test_real_video_after_cover_art_is_found() -> None:
    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[COVER_ART, VIDEO, AUDIO]))

    assert info.video_codec == "h264"


def test_audio_only_file_has_no_video_fields() -> None:
    info = parse_ffprobe(_payload(format={"format_name": "flac", "duration": 60}, streams=[AUDIO]))

    assert (info.video_codec, info.fps, info.pixel_format) == (None, None, None)
    assert info.duration_ms == 60_000


def test_video_only_file_has_no_audio_fields() -> None:
    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[VIDEO]))

    assert (info.audio_codec, info.audio_channels, info.sample_rate) == (None, None, None)


def test_na_container_duration_falls_back_to_the_longest_stream() -> None:
    streams = [
        {**VIDEO, "duration": "N/A"},
        {**AUDIO, "duration": "12.5"},
        {**VIDEO, "duration": 30},
    ]

    info = parse_ffprobe(
        _payload(format={"format_name": "mpegts", "duration": "N/A"}, streams=streams)
    )

    assert (info.duration_ms, info.container) == (30_000, "mpegts")


def test_matroska_duration_tag_is_the_last_fallback() -> None:
    stream = {**VIDEO, "tags": {"DURATION": "01:02:03.500000000"}}

    info = parse_ffprobe(_payload(format={"format_name": "matroska,webm"}, streams=[stream]))

    assert (info.duration_ms, info.container) == (3_723_500, "mkv")


@pytest.mark.parametrize("duration", ["N/A", "0.000000", "-1.5", "nan", "inf", None, 0, "abc"])
def test_unknown_duration_fails_with_reason(duration: object) -> None:
    fmt = {"format_name": "avi", "duration": duration}

    assert _reason(_payload(format=fmt, streams=[VIDEO, AUDIO])) == "duration unknown"


def test_missing_format_section_fails_with_reason() -> None:
    assert _reason(_payload(streams=[VIDEO])) == "ffprobe output has no format section"


@pytest.mark.parametrize("streams", [[], [COVER_ART], [{"codec_type": "subtitle"}], "x"])
def test_no_audio_or_video_stream_fails_with_reason(streams: object) -> None:
    assert _reason(_payload(format=MP4_FORMAT, streams=streams)) == "no audio or video streams"


@pytest.mark.parametrize("output", [b"", b"Invalid data found", b"{", b"\xff\xfe\x00"])
def test_non_json_output_fails_with_reason(output: bytes) -> None:
    assert _reason(output).startswith("ffprobe output is not JSON")


def test_json_that_is_not_an_object_fails_with_reason() -> None:
    assert _reason(b"[1, 2]") == "ffprobe output is not a JSON object"


def test_numbers_given_as_strings_or_numbers_read_the_same() -> None:
    as_strings = {**VIDEO, "width": "1920", "height": "1080"}
    audio = {**AUDIO, "channels": "6", "sample_rate": 44100}

    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[as_strings, audio]))

    assert (info.width, info.height, info.audio_channels, info.sample_rate) == (
        1920,
        1080,
        6,
        44100,
    )


def test_nonsense_numbers_become_none() -> None:
    video = {**VIDEO, "width": "wide", "height": -5, "avg_frame_rate": "1/0", "r_frame_rate": "x"}

    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[video, {**AUDIO, "channels": 2.5}]))

    assert (info.width, info.height, info.fps, info.audio_channels) == (None, None, None, None)


def test_zero_over_zero_frame_rate_falls_back_to_r_frame_rate() -> None:
    video = {**VIDEO, "avg_frame_rate": "0/0", "r_frame_rate": "30000/1001"}

    assert parse_ffprobe(_payload(format=MP4_FORMAT, streams=[video])).fps == 29.97


@pytest.mark.parametrize(
    ("fmt", "container"),
    [
        ({"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "tags": {"major_brand": "mp42"}}, "mp4"),
        ({"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "tags": {"major_brand": "qt  "}}, "mov"),
        ({"format_name": "mov,mp4,m4a,3gp,3g2,mj2"}, "mov"),
        ({"format_name": "matroska,webm"}, "mkv"),
        ({"format_name": "mpegts"}, "mpegts"),
        ({"format_name": "avi"}, "avi"),
        ({"format_name": 7}, None),
    ],
)
def test_container_name_is_mapped_from_format_name(fmt: dict[str, object], container: str) -> None:
    info = parse_ffprobe(_payload(format={**fmt, "duration": "1"}, streams=[AUDIO]))

    assert info.container == container


def test_chapters_are_sorted_and_unreadable_ones_dropped() -> None:
    chapters = [
        {"start_time": "10.5", "end_time": "20", "tags": {"title": "Second"}},
        {"start_time": 0, "end_time": 10.5},
        {"start_time": "N/A", "end_time": "5"},
        {"start_time": 30, "end_time": 25, "tags": {"title": "Backwards"}},
        "not a chapter",
    ]

    info = parse_ffprobe(_payload(format=MP4_FORMAT, streams=[AUDIO], chapters=chapters))

    assert info.chapters == (
        Chapter(0, 10_500, None),
        Chapter(10_500, 20_000, "Second"),
        Chapter(30_000, 30_000, "Backwards"),
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "format",
                    "streams",
                    "chapters",
                    "duration",
                    "codec_type",
                    "video",
                    "audio",
                    "disposition",
                    "attached_pic",
                    "width",
                    "avg_frame_rate",
                    "tags",
                    "format_name",
                    "start_time",
                    "end_time",
                    "title",
                    "major_brand",
                    "DURATION",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(database=None, deadline=None, max_examples=300)
@given(_JSON)
def test_any_json_document_reads_or_fails_with_probe_failed(document: object) -> None:
    outcome: TechnicalInfo | str
    try:
        outcome = parse_ffprobe(json.dumps(document).encode())
    except ProbeFailed as err:
        outcome = err.message  # any other exception type fails the test

    assert outcome if isinstance(outcome, str) else outcome.duration_ms > 0

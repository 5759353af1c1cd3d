"""Stream profiles and their argv: golden command lines, rules, and real FFmpeg output.

Golden files (``golden/<name>.txt``, one argv element per line) pin the command lines,
including the hardware ones no machine here can run. Set ``EXSTREAMTV_UPDATE_GOLDEN=1`` to
rewrite them after an intended change, then review the diff. The real-FFmpeg tests use tiny
profiles so each run takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict

import pytest

from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.domain.profiles import (
    AUDIO_PID,
    VIDEO_PID,
    Corner,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
    Watermark,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.ffmpeg.profiles import (
    MediaInput,
    can_copy,
    item_argv,
    redact_argv,
    slate_argv,
)

GOLDEN = Path(__file__).parent / "golden"
HD_TECH = TechnicalInfo(
    duration_ms=1_800_000,
    container="mkv",
    video_codec="h264",
    width=1280,
    height=720,
    fps=25.0,
    pixel_format="yuv420p",
    audio_codec="aac",
    audio_channels=2,
    sample_rate=48000,
)
HD = StreamProfile(name="hd")
EPISODE = MediaInput("/media/Show/S01E01 - Pilot.mkv", HD_TECH)


class Times(TypedDict):
    offset_ms: int
    duration_ms: int
    output_ts_offset_ms: int


TIMES = Times(offset_ms=90_000, duration_ms=1_710_000, output_ts_offset_ms=3_600_040)
# What the shared 2 s clip (tests/support.make_clip) is: 160x120 25 fps H.264, mono AAC.
CLIP_TECH = TechnicalInfo(2000, "mp4", "h264", 160, 120, 25.0, "yuv420p", "aac", 1, 48000)
SMALL = StreamProfile(name="small", width=320, height=180, video_bitrate_kbps=300)


def assert_golden(name: str, argv: list[str]) -> None:
    path = GOLDEN / f"{name}.txt"
    text = "\n".join(argv) + "\n"
    if os.environ.get("EXSTREAMTV_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# --- golden command lines -------------------------------------------------------------------


def test_transcode_of_a_local_file_seeks_scales_and_writes_fixed_pid_mpegts() -> None:
    assert_golden("transcode_local", item_argv("ffmpeg", HD, EPISODE, **TIMES))


def test_copy_profile_remuxes_a_matching_mkv_with_annexb_conversion() -> None:
    copy = StreamProfile(name="copy", mode=ProfileMode.COPY)
    assert_golden("copy", item_argv("ffmpeg", copy, EPISODE, **TIMES))


def test_remote_input_reconnects_and_its_logged_argv_hides_the_token() -> None:
    url = "https://plex.example:32400/library/parts/7/file.mkv?download=1&X-Plex-Token=s3cr3t"
    source = MediaInput(url, HD_TECH, remote=True, secrets=("s3cr3t",))

    argv = item_argv("ffmpeg", HD, source, **TIMES)
    logged = redact_argv(argv, source.secrets)

    assert url in argv  # FFmpeg itself needs the token
    assert not any("s3cr3t" in arg for arg in logged)
    assert_golden("remote_redacted", logged)


@pytest.mark.parametrize("encoder", ["h264_nvenc", "h264_qsv", "h264_vaapi"])
def test_hardware_encoder_command_lines_match_golden(encoder: str) -> None:
    profile = StreamProfile(name="hw", video_encoder=VideoEncoder(encoder))
    assert_golden(encoder.removeprefix("h264_"), item_argv("ffmpeg", profile, EPISODE, **TIMES))


def test_slate_is_a_lavfi_card_with_silence_in_the_profile() -> None:
    argv = slate_argv(
        "ffmpeg",
        HD,
        title="Channel 5: News",
        message="Back in a moment (100%)",
        duration_ms=4_000,
        output_ts_offset_ms=3_600_040,
    )
    assert_golden("slate", argv)


def test_watermark_overlays_the_logo_and_loudnorm_joins_the_audio_chain() -> None:
    logo = Watermark("/data/logos/five.png", Corner.TOP_RIGHT, 0.6)
    profile = StreamProfile(name="branded", watermark=logo, loudnorm=True)
    assert_golden("watermark", item_argv("ffmpeg", profile, EPISODE, **TIMES))


def test_a_cut_item_fades_picture_and_sound_out_over_its_last_second() -> None:
    argv = item_argv("ffmpeg", HD, EPISODE, **TIMES, fade_out_ms=1000)
    assert_golden("fade_out", argv)


def test_a_fade_longer_than_the_item_covers_the_whole_item() -> None:
    argv = item_argv(
        "ffmpeg", HD, EPISODE, offset_ms=0, duration_ms=600, output_ts_offset_ms=0,
        fade_out_ms=1000,
    )  # fmt: skip
    assert "fade=t=out:st=0.000:d=0.600" in argv[argv.index("-vf") + 1]
    assert "afade=t=out:st=0.000:d=0.600" in argv[argv.index("-af") + 1]


def test_a_remux_cannot_fade_and_stays_a_remux() -> None:
    copy = StreamProfile(name="copy", mode=ProfileMode.COPY)
    argv = item_argv("ffmpeg", copy, EPISODE, **TIMES, fade_out_ms=1000)
    assert argv == item_argv("ffmpeg", copy, EPISODE, **TIMES)


def test_a_negative_fade_is_refused() -> None:
    with pytest.raises(InvalidInput):
        item_argv("ffmpeg", HD, EPISODE, **TIMES, fade_out_ms=-1)


def test_a_sized_placed_intermittent_watermark_follows_the_channels_running_time() -> None:
    logo = Watermark("/data/logos/five.png", Corner.BOTTOM_LEFT, 0.8, 12.5, 3, 4.5, 5, 10)
    profile = StreamProfile(name="branded", watermark=logo)
    assert_golden("watermark_intermittent", item_argv("ffmpeg", profile, EPISODE, **TIMES))


# --- rules of the builders ------------------------------------------------------------------


def encoding_flags(argv: list[str]) -> list[str]:
    """The encoder section of an argv: from ``-c:v`` through ``-ar`` and its value."""
    return argv[argv.index("-c:v") : argv.index("-ar") + 2]


@pytest.mark.parametrize("encoder", ["libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"])
def test_slates_and_items_share_encoder_settings_and_output_flags(encoder: str) -> None:
    profile = StreamProfile(name="p", video_encoder=VideoEncoder(encoder))
    item = item_argv("ffmpeg", profile, EPISODE, **TIMES)
    offset = TIMES["output_ts_offset_ms"]
    slate = slate_argv(
        "ffmpeg", profile, title="t", message="m", duration_ms=1, output_ts_offset_ms=offset
    )
    assert item[: item.index("-fflags")] == slate[: slate.index("-f")]  # hardware setup
    assert encoding_flags(item) == encoding_flags(slate)
    assert item[item.index("-streamid") :] == slate[slate.index("-streamid") :]


def test_encoder_fallback_gives_the_same_argv_as_a_software_profile() -> None:
    vaapi = StreamProfile(name="hd", video_encoder=VideoEncoder.H264_VAAPI)
    fallback = item_argv("ffmpeg", vaapi, EPISODE, **TIMES, encoder="libx264")
    assert fallback == item_argv("ffmpeg", HD, EPISODE, **TIMES)


def test_copy_profile_transcodes_a_source_that_does_not_match() -> None:
    copy = StreamProfile(name="copy", mode=ProfileMode.COPY)
    argv = item_argv("ffmpeg", copy, MediaInput("/m/a.mp4", CLIP_TECH), **TIMES)
    assert "copy" not in argv
    assert argv[argv.index("-c:v") + 1] == "libx264"


def test_seek_comes_before_the_input_and_is_left_out_at_offset_zero() -> None:
    seeked = item_argv("ffmpeg", HD, EPISODE, **TIMES)
    from_start = item_argv("ffmpeg", HD, EPISODE, **Times({**TIMES, "offset_ms": 0}))
    assert seeked[seeked.index("-ss") + 1] == "90.000"
    assert seeked.index("-ss") < seeked.index("-i")
    assert "-ss" not in from_start


def test_times_are_written_in_seconds_with_millisecond_precision() -> None:
    argv = item_argv("ffmpeg", HD, EPISODE, offset_ms=5, duration_ms=61_001, output_ts_offset_ms=7)
    values = {flag: argv[argv.index(flag) + 1] for flag in ("-ss", "-t", "-output_ts_offset")}
    assert values == {"-ss": "0.005", "-t": "61.001", "-output_ts_offset": "0.007"}


@pytest.mark.parametrize(
    "times",
    [
        {"offset_ms": -1, "duration_ms": 1000, "output_ts_offset_ms": 0},
        {"offset_ms": 0, "duration_ms": 0, "output_ts_offset_ms": 0},
        {"offset_ms": 0, "duration_ms": 1000, "output_ts_offset_ms": -40},
    ],
)
def test_negative_offsets_and_empty_durations_are_refused(times: Times) -> None:
    with pytest.raises(InvalidInput):
        item_argv("ffmpeg", HD, EPISODE, **times)


def test_an_unknown_encoder_is_refused() -> None:
    with pytest.raises(InvalidInput, match="h265_magic"):
        item_argv("ffmpeg", HD, EPISODE, **TIMES, encoder="h265_magic")


@pytest.mark.parametrize(
    ("location", "remote"),
    [("relative/file.mkv", False), ("https://host/x.mkv", False), ("/local.mkv", True)],
)
def test_media_input_location_must_match_its_kind(location: str, remote: bool) -> None:
    with pytest.raises(InvalidInput, match="absolute path"):
        MediaInput(location, remote=remote)


def test_redaction_hides_token_parameters_url_passwords_and_given_secrets() -> None:
    argv = [
        "http://user:hunter2@host/a?api_key=k1&x=1",
        "https://host/b?X-Emby-Token=k2",
        "-headers",
        "Authorization: Bearer k3",
    ]
    assert redact_argv(argv, ["k3", ""]) == [
        "http://user:***@host/a?api_key=***&x=1",
        "https://host/b?X-Emby-Token=***",
        "-headers",
        "Authorization: Bearer ***",
    ]


def test_can_copy_accepts_a_source_that_matches_the_profile() -> None:
    assert can_copy(HD_TECH, HD)[0]
    assert can_copy(TechnicalInfo(**{**_fields(HD_TECH), "fps": 25.004}), HD)[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"video_codec": "hevc"}, "video codec is hevc, the profile needs h264"),
        ({"width": 1920, "height": 1080}, "width is 1920, the profile needs 1280"),
        ({"fps": 29.97}, "frame rate is 29.97, the profile needs 25"),
        ({"fps": None}, "frame rate is unknown, the profile needs 25"),
        ({"pixel_format": "yuv420p10le"}, "pixel format is yuv420p10le"),
        ({"audio_codec": "ac3"}, "audio codec is ac3, the profile needs aac"),
        ({"audio_codec": None}, "audio codec is unknown"),
        ({"sample_rate": 44100}, "sample rate is 44100, the profile needs 48000"),
        ({"audio_channels": 6}, "audio channels is 6, the profile needs 2"),
    ],
)
def test_can_copy_refuses_and_names_the_first_mismatch(change: dict[str, Any], reason: str) -> None:
    ok, why = can_copy(TechnicalInfo(**{**_fields(HD_TECH), **change}), HD)
    assert not ok
    assert why.startswith(reason)


def _fields(tech: TechnicalInfo) -> dict[str, Any]:
    return {name: getattr(tech, name) for name in tech.__dataclass_fields__}


# --- profile validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"width": 1279}, "width 1279 must be an even number"),
        ({"height": 0}, "height 0 must be an even number"),
        ({"fps": 0.5}, "fps 0.5 must be between 1 and 120"),
        ({"fps": 121}, "fps 121 must be between 1 and 120"),
        ({"fps": float("nan")}, "fps nan"),
        ({"sample_rate": 22050}, "sample rate 22050"),
        ({"audio_channels": 6}, "audio channels 6 must be 1 or 2"),
        ({"gop_seconds": 0}, "gop_seconds"),
        ({"preset": "fast; rm"}, "preset"),
        ({"video_encoder": "h265_magic"}, "video encoder 'h265_magic' is not one of"),
        ({"mode": "copy", "loudnorm": True}, "copy mode cannot"),
        ({"name": " "}, "needs a name"),
        ({"audio_codec": "mp3"}, "audio codec 'mp3' is not one of: aac, ac3"),
    ],
)
def test_profile_validation_names_the_bad_value(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        StreamProfile(**{"name": "p", **fields})


def test_profile_accepts_enum_values_as_strings_from_storage() -> None:
    stored: dict[str, Any] = {"mode": "copy", "video_encoder": "h264_qsv", "audio_codec": "ac3"}
    profile = StreamProfile(name="p", **stored)
    assert (profile.mode, profile.video_encoder) == (ProfileMode.COPY, VideoEncoder.H264_QSV)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "logo.png"}, "absolute"),
        ({"path": "/l.png", "opacity": 0}, "opacity"),
        ({"path": "/l.png", "size_percent": 0.5}, "size_percent"),
        ({"path": "/l.png", "margin_y_percent": 60}, "margin_y_percent"),
        ({"path": "/l.png", "every_minutes": 5}, "both"),
        ({"path": "/l.png", "every_minutes": 1, "for_seconds": 60}, "shorter"),
    ],
)
def test_watermark_validation_names_the_bad_value(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Watermark(**fields)


@pytest.mark.parametrize(
    ("fps", "rate", "gop"),
    [(25, "25", 50), (23.976, "24000/1001", 48), (29.97, "30000/1001", 60), (50, "50", 100)],
)
def test_ntsc_rates_are_exact_fractions_and_the_gop_counts_frames(
    fps: float, rate: str, gop: int
) -> None:
    profile = StreamProfile(name="p", fps=fps)
    assert (profile.frame_rate, profile.gop_frames) == (rate, gop)


# --- real FFmpeg ----------------------------------------------------------------------------


async def render(argv: list[str], output: Path) -> dict[str, Any]:
    """Run ``argv`` writing to ``output`` instead of stdout; return ffprobe's view of it."""
    run = await run_capture([*argv[:-1], str(output)], timeout=60)
    assert run.returncode == 0, run.stderr_tail
    entries = (
        "stream=codec_type,codec_name,profile,width,height,pix_fmt,r_frame_rate,sample_rate,"
        "channels,channel_layout,id,start_time,duration:format=start_time,duration"
    )
    probe = ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "json", str(output)]
    report = await run_capture(probe, timeout=30)
    assert report.returncode == 0, report.stderr_tail
    parsed: dict[str, Any] = json.loads(report.stdout)
    return parsed


def stream(report: dict[str, Any], kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in report["streams"] if s["codec_type"] == kind]
    assert len(found) == 1
    return found[0]


SHAPE = ("codec_name", "profile", "width", "height", "pix_fmt", "r_frame_rate")
SOUND = ("codec_name", "profile", "sample_rate", "channels", "channel_layout")


def shape(report: dict[str, Any]) -> tuple[Any, ...]:
    video, audio = stream(report, "video"), stream(report, "audio")
    return (
        *(video.get(key) for key in SHAPE),
        *(audio.get(key) for key in SOUND),
        int(video["id"], 16),
        int(audio["id"], 16),
    )


@pytest.fixture(scope="module")
def clip(clip_cache: dict[float, Path]) -> MediaInput:
    return MediaInput(str(clip_cache[2.0]), CLIP_TECH)


async def test_transcoded_item_has_profile_streams_fixed_pids_and_starts_at_offset(
    clip: MediaInput, tmp_path: Path
) -> None:
    argv = item_argv(
        "ffmpeg", SMALL, clip, offset_ms=0, duration_ms=2000, output_ts_offset_ms=10_000
    )
    report = await render(argv, tmp_path / "item.ts")

    expected = ("h264", "High", 320, 180, "yuv420p", "25/1", "aac", "LC", "48000", 2, "stereo")
    assert shape(report) == (*expected, VIDEO_PID, AUDIO_PID)
    assert float(report["format"]["start_time"]) == pytest.approx(10.0, abs=0.1)
    assert float(stream(report, "video")["duration"]) == pytest.approx(2.0, abs=0.1)


async def test_slate_streams_are_identical_to_item_streams(
    clip: MediaInput, tmp_path: Path
) -> None:
    item = item_argv("ffmpeg", SMALL, clip, offset_ms=0, duration_ms=1000, output_ts_offset_ms=0)
    slate = slate_argv(
        "ffmpeg", SMALL, title="Ch 5: 100%", message="Back soon", duration_ms=1000,
        output_ts_offset_ms=0,
    )  # fmt: skip
    item_report = await render(item, tmp_path / "item.ts")
    slate_report = await render(slate, tmp_path / "slate.ts")

    assert shape(slate_report) == shape(item_report)
    assert float(stream(slate_report, "video")["duration"]) == pytest.approx(1.0, abs=0.1)


async def test_input_seeked_item_plays_only_the_rest_of_the_clip(
    clip: MediaInput, tmp_path: Path
) -> None:
    argv = item_argv("ffmpeg", SMALL, clip, offset_ms=1000, duration_ms=5000, output_ts_offset_ms=0)
    report = await render(argv, tmp_path / "seeked.ts")

    assert float(stream(report, "video")["duration"]) == pytest.approx(1.0, abs=0.1)
    # apad pads audio only up to the video's end (-shortest), never to the full -t.
    assert float(stream(report, "audio")["duration"]) == pytest.approx(1.0, abs=0.15)


async def test_video_only_input_gets_a_silent_audio_track_in_the_profile(
    clip: MediaInput, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.mp4"
    strip = ["ffmpeg", "-nostdin", "-v", "error", "-i", clip.location, "-an", "-c", "copy"]
    assert (await run_capture([*strip, str(silent)], timeout=30)).returncode == 0
    source = MediaInput(str(silent), TechnicalInfo(2000, "mp4", "h264", 160, 120, 25.0))

    argv = item_argv("ffmpeg", SMALL, source, offset_ms=0, duration_ms=2000, output_ts_offset_ms=0)
    report = await render(argv, tmp_path / "item.ts")

    audio = stream(report, "audio")
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)
    assert float(audio["duration"]) == pytest.approx(2.0, abs=0.1)


async def test_watermarked_loudnormed_item_keeps_the_profile_streams(
    clip: MediaInput, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    card = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x16"]
    assert (await run_capture([*card, "-frames:v", "1", str(logo)], timeout=30)).returncode == 0
    branded = StreamProfile(
        name="b", width=320, height=180, video_bitrate_kbps=300, loudnorm=True,
        watermark=Watermark(str(logo), opacity=0.5),
    )  # fmt: skip
    plain = item_argv("ffmpeg", SMALL, clip, offset_ms=0, duration_ms=1000, output_ts_offset_ms=0)
    argv = item_argv("ffmpeg", branded, clip, offset_ms=0, duration_ms=1000, output_ts_offset_ms=0)

    assert shape(await render(argv, tmp_path / "b.ts")) == shape(
        await render(plain, tmp_path / "p.ts")
    )


async def video_frames(path: Path) -> int:
    argv = ["ffprobe", "-v", "error", "-select_streams", "v", "-count_packets",
            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)]  # fmt: skip
    return int((await run_capture(argv, timeout=30)).stdout.split()[0])  # (program, stream)


@pytest.mark.parametrize(("offset_ms", "frames"), [(0, 50), (1920, 2), (1960, 1)])
async def test_a_watermarked_item_keeps_every_frame_to_its_last(
    clip: MediaInput, tmp_path: Path, offset_ms: int, frames: int
) -> None:
    """The 2 s clip holds 50 frames: all of them, from any point, come out under a mark
    too (the overlay used to lose the last, and a process had to follow to show it)."""
    logo = tmp_path / "logo.png"
    card = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x16"]
    assert (await run_capture([*card, "-frames:v", "1", str(logo)], timeout=30)).returncode == 0
    marked = replace(SMALL, watermark=Watermark(str(logo), corner=Corner.TOP_LEFT))
    for profile, name in ((SMALL, "plain"), (marked, "marked")):
        argv = item_argv("ffmpeg", profile, clip, offset_ms=offset_ms,
                         duration_ms=2000 - offset_ms, output_ts_offset_ms=0)  # fmt: skip
        await render(argv, tmp_path / f"{name}.ts")
        assert await video_frames(tmp_path / f"{name}.ts") == frames, name


async def test_copy_item_remuxes_a_matching_clip_without_reencoding(
    clip: MediaInput, tmp_path: Path
) -> None:
    copy = StreamProfile(name="c", mode=ProfileMode.COPY, width=160, height=120, audio_channels=1)
    argv = item_argv("ffmpeg", copy, clip, offset_ms=0, duration_ms=5000, output_ts_offset_ms=3000)
    report = await render(argv, tmp_path / "copy.ts")

    video = stream(report, "video")
    assert video["profile"] == "Constrained Baseline"  # the clip's own ultrafast encode
    assert (int(video["id"], 16), int(stream(report, "audio")["id"], 16)) == (VIDEO_PID, AUDIO_PID)
    assert float(report["format"]["start_time"]) == pytest.approx(3.0, abs=0.1)


async def frame_values(source: str, tag: str) -> list[float]:
    """One value per decoded frame of a lavfi ``source`` graph (``signalstats``/``astats``)."""
    argv = ["ffprobe", "-v", "error", "-f", "lavfi", "-i", source,
            "-show_entries", f"frame_tags={tag}", "-of", "csv=p=0"]  # fmt: skip
    report = await run_capture(argv, timeout=30)
    assert report.returncode == 0, report.stderr_tail
    return [float(line) for line in report.stdout.decode().split() if line not in ("", "-inf")]


async def test_a_faded_item_ends_in_black_and_silence(clip: MediaInput, tmp_path: Path) -> None:
    argv = item_argv(
        "ffmpeg", SMALL, clip, offset_ms=500, duration_ms=1500, output_ts_offset_ms=0,
        fade_out_ms=1000,
    )  # fmt: skip
    output = tmp_path / "faded.ts"
    await render(argv, output)

    brightness = await frame_values(f"movie={output},signalstats", "lavfi.signalstats.YAVG")
    loudness = await frame_values(
        f"amovie={output},astats=metadata=1:reset=1", "lavfi.astats.Overall.RMS_level"
    )
    assert brightness[0] > 30 and brightness[-1] < 18  # blue, then black (limited range)
    assert max(brightness[: len(brightness) // 4]) > brightness[-1] + 10
    # The tone (the first AAC frame is encoder priming), then silence.
    assert max(loudness[: len(loudness) // 4]) > -30
    assert loudness[-1] < -50


async def test_an_intermittent_watermark_shows_only_in_its_window_of_channel_time(
    tmp_path: Path,
) -> None:
    """Every 1 minute for 1 second, on an item starting 59 s into the channel: the mark is
    off for the item's first second, on for its second, off again for its third; it is
    scaled to 25 % of the width and sits at its margins from the bottom-right corner."""
    black = tmp_path / "black.mp4"
    make = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
            "color=c=black:s=320x180:r=25", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono",
            "-t", "3", "-c:v", "libx264",
            "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(black)]  # fmt: skip
    assert (await run_capture(make, timeout=60)).returncode == 0
    logo = tmp_path / "logo.png"
    card = ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=40x20"]
    assert (await run_capture([*card, "-frames:v", "1", str(logo)], timeout=30)).returncode == 0
    mark = Watermark(str(logo), Corner.BOTTOM_RIGHT, 1.0, 25, 5, 10, 1, 1)
    profile = StreamProfile(name="m", width=320, height=180, video_bitrate_kbps=300, watermark=mark)
    source = MediaInput(
        str(black), TechnicalInfo(3000, "mp4", "h264", 320, 180, 25.0, "yuv420p", "aac", 1, 48000)
    )
    argv = item_argv(
        "ffmpeg", profile, source, offset_ms=0, duration_ms=3000, output_ts_offset_ms=59_000
    )
    out = tmp_path / "marked.ts"
    assert (await run_capture([*argv[:-1], str(out)], timeout=60)).returncode == 0

    # 80x40 mark (25 % of 320) at 16 px from the right, 18 px from the bottom.
    box = (320 - 16 - 80, 180 - 18 - 40, 80, 40)
    reds = await _red_per_frame(out, box)
    assert len(reds) >= 72
    assert not any(reds[:24]), reds
    assert all(reds[26:49]), reds
    assert not any(reds[51:]), reds
    outside = await _red_per_frame(out, (320 - 16 - 80 - 8, 180 - 18 - 40, 6, 40))
    assert not any(outside)  # the mark is no wider than 25 %


async def _red_per_frame(video: Path, box: tuple[int, int, int, int]) -> list[bool]:
    """Per decoded frame: is the ``(x, y, w, h)`` region red on average?"""
    x, y, w, h = box
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-vf", f"crop={w}:{h}:{x}:{y}",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    run = await run_capture(argv, timeout=60, max_output_bytes=64 * 1024 * 1024)
    assert run.returncode == 0, run.stderr_tail
    size = w * h * 3
    frames = [run.stdout[at : at + size] for at in range(0, len(run.stdout), size)]

    def red(frame: bytes) -> bool:
        r, g, b = (sum(frame[c::3]) / (w * h) for c in range(3))
        return r > 150 and g < 80 and b < 80

    return [red(frame) for frame in frames]

"""Encoder detection against the real ffmpeg, and the choice of encoder with fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from exstreamtv.domain.profiles import AudioCodec, StreamProfile, VideoEncoder
from exstreamtv.errors import ConfigError, ProcessError
from exstreamtv.ffmpeg.capabilities import (
    NVIDIA_DEVICE,
    Capabilities,
    choose_encoder,
    detect,
    parse_encoders,
)
from exstreamtv.ffmpeg.profiles import VAAPI_DEVICE, MediaInput, item_argv

EVERY_ENCODER = frozenset({"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi", "aac", "ac3"})
ALL_DEVICES = frozenset({VAAPI_DEVICE, NVIDIA_DEVICE})


def profile(encoder: VideoEncoder, audio: AudioCodec = AudioCodec.AAC) -> StreamProfile:
    return StreamProfile(name="p", video_encoder=encoder, audio_codec=audio)


async def test_detect_finds_libx264_and_aac_in_the_real_ffmpeg() -> None:
    caps = await detect("ffmpeg", device_present=lambda _path: False)
    assert {"libx264", "aac", "ac3"} <= caps.encoders
    assert caps.devices == frozenset()


async def test_detect_records_only_the_devices_the_probe_finds() -> None:
    caps = await detect("ffmpeg", device_present=lambda path: path == VAAPI_DEVICE)
    assert caps.devices == {VAAPI_DEVICE}


async def test_hardware_profile_on_a_machine_without_devices_runs_libx264() -> None:
    caps = await detect("ffmpeg", device_present=lambda _path: False)
    vaapi = profile(VideoEncoder.H264_VAAPI)

    encoder, reason = choose_encoder(vaapi, caps)
    argv = item_argv(
        "ffmpeg", vaapi, MediaInput("/m/a.mkv"), offset_ms=0, duration_ms=1000,
        output_ts_offset_ms=0, encoder=encoder,
    )  # fmt: skip

    assert reason == "h264_vaapi needs /dev/dri/renderD128, which is missing: using libx264"
    assert "-vaapi_device" not in argv
    assert argv[argv.index("-c:v") + 1] == "libx264"


async def test_detect_raises_process_error_when_ffmpeg_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="not found"):
        await detect(str(tmp_path / "ffmpeg"))


async def test_detect_raises_process_error_when_ffmpeg_fails(tmp_path: Path) -> None:
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(3)\n")
    script.chmod(0o755)
    with pytest.raises(ProcessError, match="status 3"):
        await detect(str(script))


def test_parse_encoders_reads_names_after_the_rule_and_skips_the_legend() -> None:
    text = (
        "Encoders:\n V..... = Video\n A..... = Audio\n ------\n"
        " V....D libx264              libx264 H.264 / AVC\n"
        " A..... aac                  AAC (Advanced Audio Coding)\n\n"
    )
    assert parse_encoders(text) == {"libx264", "aac"}
    assert parse_encoders("no listing here") == frozenset()


@pytest.mark.parametrize(
    ("encoder", "caps", "chosen", "reason"),
    [
        (VideoEncoder.LIBX264, Capabilities(EVERY_ENCODER, frozenset()), "libx264", None),
        (VideoEncoder.H264_QSV, Capabilities(EVERY_ENCODER, ALL_DEVICES), "h264_qsv", None),
        (VideoEncoder.H264_NVENC, Capabilities(EVERY_ENCODER, ALL_DEVICES), "h264_nvenc", None),
        (
            VideoEncoder.H264_NVENC,
            Capabilities(EVERY_ENCODER, frozenset({VAAPI_DEVICE})),
            "libx264",
            "h264_nvenc needs /dev/nvidia0, which is missing: using libx264",
        ),
        (
            VideoEncoder.H264_QSV,
            Capabilities(EVERY_ENCODER - {"h264_qsv"}, ALL_DEVICES),
            "libx264",
            "h264_qsv is not in this ffmpeg: using libx264",
        ),
    ],
)
def test_choose_encoder_falls_back_to_libx264_with_a_reason(
    encoder: VideoEncoder, caps: Capabilities, chosen: str, reason: str | None
) -> None:
    assert choose_encoder(profile(encoder), caps) == (chosen, reason)


@pytest.mark.parametrize(
    ("missing", "audio"), [("libx264", AudioCodec.AAC), ("ac3", AudioCodec.AC3)]
)
def test_choose_encoder_refuses_a_build_without_libx264_or_the_audio_encoder(
    missing: str, audio: AudioCodec
) -> None:
    caps = Capabilities(EVERY_ENCODER - {missing}, ALL_DEVICES)
    with pytest.raises(ConfigError, match=f"no {missing} encoder"):
        choose_encoder(profile(VideoEncoder.H264_VAAPI, audio), caps)

"""What this machine's FFmpeg can encode, and which H.264 encoder a profile gets.

``detect`` asks the real ``ffmpeg`` (through the one process runner) and checks the device
nodes hardware encoders need. ``choose_encoder`` is pure: it falls back to ``libx264`` with
a reason whenever the profile's hardware encoder cannot work here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exstreamtv.domain.profiles import StreamProfile, VideoEncoder
from exstreamtv.errors import ConfigError, ProcessError
from exstreamtv.ffmpeg.process import run_capture
from exstreamtv.ffmpeg.profiles import VAAPI_DEVICE

NVIDIA_DEVICE = "/dev/nvidia0"
# The device node each hardware encoder opens; an encoder compiled in is useless without it.
DEVICES: dict[VideoEncoder, str] = {
    VideoEncoder.H264_NVENC: NVIDIA_DEVICE,
    VideoEncoder.H264_QSV: VAAPI_DEVICE,  # QSV on Linux goes through the DRM render node
    VideoEncoder.H264_VAAPI: VAAPI_DEVICE,
}
_MAX_ENCODERS_OUTPUT = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Encoder names this FFmpeg build has, and the device nodes present (absolute paths)."""

    encoders: frozenset[str]
    devices: frozenset[str]


def _device_present(path: str) -> bool:
    """Whether the device node ``path`` exists (a stat of /dev: never blocks for long)."""
    return Path(path).exists()


async def detect(
    ffmpeg: str,
    *,
    device_present: Callable[[str], bool] = _device_present,
    timeout: float = 15.0,  # noqa: ASYNC109 - passed on to run_capture
) -> Capabilities:
    """Run ``ffmpeg -hide_banner -encoders`` and check the hardware device nodes.

    ``device_present`` decides whether a device path exists (tests inject one). Raises
    ``ProcessError`` when ffmpeg is missing, times out or exits non-zero.
    """
    run = await run_capture(
        [ffmpeg, "-nostdin", "-hide_banner", "-encoders"],
        timeout=timeout,
        max_output_bytes=_MAX_ENCODERS_OUTPUT,
    )
    if run.returncode != 0:
        raise ProcessError(f"{ffmpeg} -encoders exited with status {run.returncode}")
    devices = frozenset(path for path in set(DEVICES.values()) if device_present(path))
    return Capabilities(parse_encoders(run.stdout.decode("utf-8", "replace")), devices)


def parse_encoders(text: str) -> frozenset[str]:
    """Encoder names from ``ffmpeg -encoders`` output.

    The listing is a legend, a ``------`` rule, then one line per encoder: six capability
    flags (``V....D``) followed by the name.
    """
    _, rule, listing = text.partition("------")
    rows = (line.split() for line in listing.splitlines()) if rule else iter(())
    return frozenset(row[1] for row in rows if len(row) > 1 and len(row[0]) == 6)


def choose_encoder(profile: StreamProfile, caps: Capabilities) -> tuple[str, str | None]:
    """The H.264 encoder to use for ``profile`` here, and why it fell back (``None``: no
    fallback). A hardware encoder missing from the build, or whose device node is absent,
    yields ``libx264``. Raises ``ConfigError`` when libx264 (needed as the fallback) or the
    profile's audio encoder is missing from this FFmpeg build.
    """
    for needed in (VideoEncoder.LIBX264.value, profile.audio_codec.value):
        if needed not in caps.encoders:
            raise ConfigError(f"this ffmpeg has no {needed} encoder: install a full ffmpeg build")
    wanted = profile.video_encoder
    if wanted is VideoEncoder.LIBX264:
        return wanted.value, None
    if wanted.value not in caps.encoders:
        return VideoEncoder.LIBX264.value, f"{wanted} is not in this ffmpeg: using libx264"
    device = DEVICES[wanted]
    if device not in caps.devices:
        return (
            VideoEncoder.LIBX264.value,
            f"{wanted} needs {device}, which is missing: using libx264",
        )
    return wanted.value, None

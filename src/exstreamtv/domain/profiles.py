"""Stream profiles: the one output format every item of a channel is normalised to.

Pure values. A channel is a splice of per-item FFmpeg outputs, so every item (and every
slate) must come out with the same codecs, size, frame rate, pixel format, sample rate,
channel layout and MPEG-TS PIDs. The profile states that format once; the argv builders in
``exstreamtv.ffmpeg.profiles`` obey it.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import TypeVar

from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.errors import InvalidInput

# Fixed MPEG-TS identifiers of every channel output: the splicer checks that they never change.
VIDEO_PID = 0x100
AUDIO_PID = 0x101
PMT_PID = 0x1000

_PRESET = re.compile(r"[a-z0-9]{1,16}")
_SAMPLE_RATES = frozenset({32000, 44100, 48000})  # the rates both AAC and AC-3 accept
_MAX_SIDE = 8192
_E = TypeVar("_E", bound=enum.StrEnum)


class ProfileMode(enum.StrEnum):
    """``transcode`` normalises every item; ``copy`` remuxes items that already match."""

    TRANSCODE = "transcode"
    COPY = "copy"


class VideoEncoder(enum.StrEnum):
    """H.264 encoders: software (``libx264``) or NVIDIA, Intel QuickSync, VA-API hardware."""

    LIBX264 = "libx264"
    H264_NVENC = "h264_nvenc"
    H264_QSV = "h264_qsv"
    H264_VAAPI = "h264_vaapi"


class AudioCodec(enum.StrEnum):
    """Output audio codecs; the value is both FFmpeg's encoder and ffprobe's codec name."""

    AAC = "aac"
    AC3 = "ac3"


class Corner(enum.StrEnum):
    """Where a watermark sits."""

    TOP_LEFT = "top_left"
    TOP_RIGHT = "top_right"
    BOTTOM_LEFT = "bottom_left"
    BOTTOM_RIGHT = "bottom_right"


@dataclass(frozen=True, slots=True)
class WatermarkStyle:
    """How a channel's watermark looks. Raises ``InvalidInput`` for anything out of range.

    ``image``: ``None`` for the channel's logo, else an uploaded image (the value that
    ``POST /api/logos`` returned). ``opacity`` in (0, 1]. ``size_percent``: the image's
    width as a share of the picture's width (1-100; ``None``: the image's own size).
    ``margin_x_percent``/``margin_y_percent``: the distance from the corner as a share of the
    picture's width/height (0-50; ``None``: 1/36 of the height, at least 8 pixels, on both
    sides). ``every_minutes``/``for_seconds``: shown for ``for_seconds`` at the start of
    every ``every_minutes`` of the channel's running time (both or neither; ``None``:
    always shown).
    """

    corner: Corner = Corner.BOTTOM_RIGHT
    opacity: float = 1.0
    image: str | None = None
    size_percent: float | None = None
    margin_x_percent: float | None = None
    margin_y_percent: float | None = None
    every_minutes: int | None = None
    for_seconds: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "corner", _member(Corner, self.corner, "watermark corner"))
        if not (math.isfinite(self.opacity) and 0 < self.opacity <= 1):
            raise InvalidInput(f"watermark opacity {self.opacity} must be in (0, 1]")
        _check_share(self.size_percent, 1, 100, "watermark size_percent")
        _check_share(self.margin_x_percent, 0, 50, "watermark margin_x_percent")
        _check_share(self.margin_y_percent, 0, 50, "watermark margin_y_percent")
        if (self.every_minutes is None) != (self.for_seconds is None):
            raise InvalidInput("an intermittent watermark needs both every_minutes and for_seconds")
        if self.every_minutes is not None and self.for_seconds is not None:
            if not 1 <= self.every_minutes <= 24 * 60:
                raise InvalidInput("watermark every_minutes must be 1-1440")
            if not 1 <= self.for_seconds < self.every_minutes * 60:
                raise InvalidInput(
                    "watermark for_seconds must be at least 1 and shorter than every_minutes"
                )

    @property
    def intermittent(self) -> bool:
        """True when the watermark comes and goes (``every_minutes`` is set)."""
        return self.every_minutes is not None

    def of(self, path: str) -> Watermark:
        """This style applied to the image at ``path`` (absolute)."""
        return Watermark(
            path, self.corner, self.opacity, self.size_percent, self.margin_x_percent,
            self.margin_y_percent, self.every_minutes, self.for_seconds,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Watermark:
    """An image overlaid on the picture: ``path`` is an absolute image path (PNG with
    alpha); the other fields are those of :class:`WatermarkStyle` (and are checked by it).
    Raises ``InvalidInput`` for anything else."""

    path: str
    corner: Corner = Corner.BOTTOM_RIGHT
    opacity: float = 1.0
    size_percent: float | None = None
    margin_x_percent: float | None = None
    margin_y_percent: float | None = None
    every_minutes: int | None = None
    for_seconds: int | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/") or "\0" in self.path:
            raise InvalidInput(f"watermark path {self.path!r} must be an absolute file path")
        style = WatermarkStyle(
            self.corner, self.opacity, None, self.size_percent, self.margin_x_percent,
            self.margin_y_percent, self.every_minutes, self.for_seconds,
        )  # fmt: skip
        object.__setattr__(self, "corner", style.corner)


def _check_share(value: float | None, low: float, high: float, what: str) -> None:
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise InvalidInput(f"{what} {value} must be between {low:g} and {high:g}")


@dataclass(frozen=True, slots=True)
class StreamProfile:
    """How a channel's stream is encoded. Validated on construction (``InvalidInput``).

    ``width``/``height`` in pixels (even, for yuv420p); ``fps`` frames per second (1-120;
    NTSC rates as 23.976, 29.97, 59.94); bitrates in kbit/s; ``gop_seconds`` the keyframe
    interval in whole seconds; ``preset`` the libx264 preset (hardware encoders use their
    own); ``sample_rate`` in Hz. Enum fields also accept their string values.
    """

    name: str
    mode: ProfileMode = ProfileMode.TRANSCODE
    video_encoder: VideoEncoder = VideoEncoder.LIBX264
    width: int = 1280
    height: int = 720
    fps: float = 25
    video_bitrate_kbps: int = 3000
    gop_seconds: int = 2
    preset: str = "veryfast"
    audio_codec: AudioCodec = AudioCodec.AAC
    audio_bitrate_kbps: int = 160
    audio_channels: int = 2
    sample_rate: int = 48000
    loudnorm: bool = False
    watermark: Watermark | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _member(ProfileMode, self.mode, "mode"))
        encoder = _member(VideoEncoder, self.video_encoder, "video encoder")
        object.__setattr__(self, "video_encoder", encoder)
        audio = _member(AudioCodec, self.audio_codec, "audio codec")
        object.__setattr__(self, "audio_codec", audio)
        self._check_picture()
        self._check_sound()
        if not self.name.strip():
            raise InvalidInput("a stream profile needs a name")
        if self.mode is ProfileMode.COPY and (self.watermark or self.loudnorm):
            raise InvalidInput(
                "copy mode cannot overlay a watermark or normalise loudness: "
                "both need transcoding, so use mode 'transcode'"
            )

    @property
    def gop_frames(self) -> int:
        """Frames between keyframes: ``gop_seconds`` at ``fps``, rounded."""
        return max(1, round(self.fps * self.gop_seconds))

    @property
    def frame_rate(self) -> str:
        """``fps`` as FFmpeg rate text: NTSC rates (23.976, 29.97, 59.94) as exact n/1001."""
        ntsc = round(self.fps * 1.001)
        if not float(self.fps).is_integer() and abs(self.fps - ntsc / 1.001) < 0.01:
            return f"{ntsc * 1000}/1001"
        return f"{self.fps:g}"

    @property
    def channel_layout(self) -> str:
        """FFmpeg's name of the output channel layout: ``mono`` or ``stereo``."""
        return "stereo" if self.audio_channels == 2 else "mono"

    def copy_refusal(self, tech: TechnicalInfo) -> str | None:
        """Why a source described by ``tech`` cannot be remuxed into this profile's stream.

        ``None`` only when video is H.264 yuv420p at this size and frame rate (±0.01 fps)
        and audio is this codec, sample rate and channel count; otherwise the first
        mismatch, such as ``"video codec is hevc, the profile needs h264"``.
        """
        if tech.fps is None or abs(tech.fps - self.fps) > 0.01:
            found = "unknown" if tech.fps is None else f"{tech.fps:g}"
            return f"frame rate is {found}, the profile needs {self.fps:g}"
        wanted: tuple[tuple[str, object, object], ...] = (
            ("video codec", tech.video_codec, "h264"),
            ("width", tech.width, self.width),
            ("height", tech.height, self.height),
            ("pixel format", tech.pixel_format, "yuv420p"),
            ("audio codec", tech.audio_codec, self.audio_codec.value),
            ("sample rate", tech.sample_rate, self.sample_rate),
            ("audio channels", tech.audio_channels, self.audio_channels),
        )
        for what, actual, needed in wanted:
            if actual != needed:
                return f"{what} is {actual or 'unknown'}, the profile needs {needed}"
        return None

    def _check_picture(self) -> None:
        for side, value in (("width", self.width), ("height", self.height)):
            if not 16 <= value <= _MAX_SIDE or value % 2:
                raise InvalidInput(
                    f"{side} {value} must be an even number of pixels from 16 to {_MAX_SIDE}"
                )
        if not (math.isfinite(self.fps) and 1 <= self.fps <= 120):
            raise InvalidInput(f"fps {self.fps} must be between 1 and 120")
        if not 100 <= self.video_bitrate_kbps <= 100_000:
            raise InvalidInput("video bitrate must be 100-100000 kbit/s")
        if not 1 <= self.gop_seconds <= 10:
            raise InvalidInput("gop_seconds must be 1-10 whole seconds")
        if not _PRESET.fullmatch(self.preset):
            raise InvalidInput(f"preset {self.preset!r} must be a word such as 'veryfast'")

    def _check_sound(self) -> None:
        if self.audio_channels not in (1, 2):
            raise InvalidInput(f"audio channels {self.audio_channels} must be 1 or 2")
        if self.sample_rate not in _SAMPLE_RATES:
            raise InvalidInput(f"sample rate {self.sample_rate} must be 32000, 44100 or 48000")
        if not 32 <= self.audio_bitrate_kbps <= 640:
            raise InvalidInput("audio bitrate must be 32-640 kbit/s")


def _member(kind: type[_E], value: object, what: str) -> _E:
    """``value`` as a member of ``kind``; ``InvalidInput`` listing the choices otherwise."""
    try:
        return kind(str(value))
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{what} {value!r} is not one of: {choices}") from None


# The profile of a channel that names none: 720p25 H.264 (libx264) with stereo AAC at 48 kHz.
DEFAULT_PROFILE = StreamProfile(name="default")

"""Pure argv builders (no I/O) for a channel's per-item FFmpeg processes and its slates.

All output of one profile is spliced into one MPEG-TS, so items and slates share, to the
last flag, codecs and settings, size, frame rate, pixel format, sample rate, channel layout,
GOP and PIDs. Timestamps start near ``output_ts_offset_ms``: AAC priming puts the first audio
packet one AAC frame (21 ms at 48 kHz) earlier, B-frame reordering the first video PTS a
frame or two later; so the splicer takes the next offset from the observed end of the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exstreamtv.domain.media import TechnicalInfo
from exstreamtv.domain.profiles import (
    AUDIO_PID,
    PMT_PID,
    VIDEO_PID,
    Corner,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
    Watermark,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.ffmpeg.command import escape_drawtext

VAAPI_DEVICE = "/dev/dri/renderD128"
MUX_DELAY_MS = 100  # how far the PCR runs behind the DTS
_GLOBAL = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning")
# genpts/igndts survive missing or broken DTS; discardcorrupt keeps bad packets out of the splice.
_INPUT_FLAGS = ("-fflags", "+genpts+discardcorrupt+igndts")
_RECONNECT = (  # rw_timeout is in µs
    *("-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1"),
    *("-reconnect_delay_max", "5", "-rw_timeout", "15000000"),
)
_HW_SETUP: dict[VideoEncoder, tuple[str, ...]] = {
    VideoEncoder.H264_QSV: ("-init_hw_device", "qsv=hw", "-filter_hw_device", "hw"),
    VideoEncoder.H264_VAAPI: ("-vaapi_device", VAAPI_DEVICE),
}
# The last filters before each encoder: software encoders (and NVENC) take yuv420p frames,
# QSV and VA-API want NV12 uploaded to the device (QSV needs spare frames in its pool).
_UPLOAD: dict[VideoEncoder, str] = {
    VideoEncoder.H264_QSV: "format=nv12,hwupload=extra_hw_frames=64,format=qsv",
    VideoEncoder.H264_VAAPI: "format=nv12,hwupload",
}
# mp4/mov/mkv store H.264 length-prefixed; MPEG-TS needs Annex B start codes.
_ANNEXB_CONTAINERS = frozenset({"mp4", "mov", "mkv"})
_LOUDNORM = "loudnorm=I=-16:TP=-1.5:LRA=11"
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:x-(?:plex|emby)-token|api_?key|access_token|token|password|auth|sig)=)[^&#\s]+"
)
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]+@")


@dataclass(frozen=True, slots=True)
class MediaInput:
    """What one item reads: an absolute local path, or an http(s) URL when ``remote``.

    ``technical`` is the probe result (``None``: unknown, audio and video are assumed).
    ``secrets`` are strings (tokens) that ``redact_argv`` must hide when the argv is logged.
    Raises ``InvalidInput`` when ``location`` does not fit ``remote``.
    """

    location: str
    technical: TechnicalInfo | None = None
    remote: bool = False
    secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        url = self.location.startswith(("http://", "https://"))
        if "\0" in self.location or url != self.remote or not (url or self.location[:1] == "/"):
            raise InvalidInput("a media location is an absolute path, or an http(s) URL if remote")


def can_copy(tech: TechnicalInfo, profile: StreamProfile) -> tuple[bool, str]:
    """``(True, ...)`` when ``tech`` can be remuxed unchanged into ``profile``'s stream;
    otherwise ``(False, reason)`` naming the first mismatch (``StreamProfile.copy_refusal``)."""
    refusal = profile.copy_refusal(tech)
    return (False, refusal) if refusal else (True, "the source matches the profile")


def copies(profile: StreamProfile, tech: TechnicalInfo | None) -> bool:
    """Whether ``profile`` remuxes a source described by ``tech`` (a copy profile, and the
    source matches it)."""
    return profile.mode is ProfileMode.COPY and tech is not None and can_copy(tech, profile)[0]


def item_argv(
    ffmpeg: str,
    profile: StreamProfile,
    source: MediaInput,
    *,
    offset_ms: int,
    duration_ms: int,
    output_ts_offset_ms: int,
    encoder: str | None = None,
    fade_out_ms: int = 0,
    transcode: bool = False,
) -> list[str]:
    """argv that writes ``duration_ms`` of ``source`` from ``offset_ms`` as MPEG-TS to stdout.

    A copy profile remuxes only when ``can_copy`` says yes and ``transcode`` is not asked
    (a copy-mode join bridges to the next keyframe by transcoding); every other item is transcoded
    with ``encoder`` (default: the profile's; pass ``"libx264"`` to fall back). Missing
    audio is replaced by silence and missing video by black, so every output has both.
    ``fade_out_ms`` fades picture and sound to black and silence over the last that many
    ms (at most ``duration_ms``) of a transcoded item, for an entry cut short of its end; a
    remux cannot fade and ignores it. A live source (``technical.live``) is never seeked:
    ``offset_ms`` is ignored, it plays from wherever the broadcast is. Times are
    milliseconds. Raises ``InvalidInput`` for negative times or an unknown encoder.
    """
    codec = _encoder(profile, encoder)
    _check_times(offset_ms, duration_ms, output_ts_offset_ms)
    if fade_out_ms < 0:
        raise InvalidInput("fade_out_ms must not be negative")
    fade = _Fade(duration_ms, fade_out_ms) if fade_out_ms else None
    tech = source.technical
    copy = copies(profile, tech) and not transcode
    decode = ("-hwaccel", "cuda") if codec is VideoEncoder.H264_NVENC and not copy else ()
    live = tech is not None and tech.live
    seek = ("-ss", _seconds(offset_ms)) if offset_ms > 0 and not live else ()  # before -i
    return [
        ffmpeg,
        *_GLOBAL,
        *(() if copy else _HW_SETUP.get(codec, ())),
        *_INPUT_FLAGS,
        *decode,
        *(_RECONNECT if source.remote else ()),
        *seek,
        *("-i", source.location if source.remote else f"file:{source.location}"),
        *(
            _copy_streams(tech)
            if copy and tech
            else _transcode(profile, codec, tech, output_ts_offset_ms, fade)
        ),
        *_output(duration_ms, output_ts_offset_ms),
    ]


@dataclass(frozen=True, slots=True)
class _Fade:
    """A fade to black and silence over the last ``fade_ms`` of ``duration_ms`` of output
    (output timestamps start at 0 after an input seek)."""

    duration_ms: int
    fade_ms: int

    def filter(self, name: str) -> str:
        """``fade`` or ``afade`` ending exactly at the end of the output."""
        length = min(self.fade_ms, self.duration_ms)
        start = self.duration_ms - length
        return f"{name}=t=out:st={_seconds(start)}:d={_seconds(length)}"


def slate_argv(
    ffmpeg: str,
    profile: StreamProfile,
    *,
    title: str,
    message: str,
    duration_ms: int,
    output_ts_offset_ms: int,
    encoder: str | None = None,
    with_text: bool = True,
) -> list[str]:
    """argv for ``duration_ms`` of a card showing ``title`` and ``message``, with silence.

    Encoded exactly like a transcoded item of ``profile`` (same ``encoder`` rules), so the
    splice into and out of it is seamless. drawtext needs a font fontconfig can find; without
    one FFmpeg fails, and the caller retries with ``with_text=False``.
    """
    codec = _encoder(profile, encoder)
    _check_times(0, duration_ms, output_ts_offset_ms)
    text = _slate_text(profile, title, message) if with_text else []
    return [
        ffmpeg,
        *_GLOBAL,
        *_HW_SETUP.get(codec, ()),
        *("-f", "lavfi", "-i", _colour_source(profile, "0x101820")),
        *("-f", "lavfi", "-i", _silence_source(profile)),
        *("-map", "0:v:0", "-vf", ",".join([*text, _frames(profile, codec)])),
        *("-map", "1:a:0"),
        *_encoders(profile, codec),
        *_output(duration_ms, output_ts_offset_ms),
    ]


def redact_argv(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """``argv`` safe to log: token query values, URL passwords and ``secrets`` become ``***``."""
    hidden = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    redacted = []
    for arg in argv:
        text = _URL_PASSWORD.sub(r"\1***@", _SECRET_QUERY.sub(r"\1***", arg))
        for secret in hidden:
            text = text.replace(secret, "***")
        redacted.append(text)
    return redacted


def _transcode(
    profile: StreamProfile,
    codec: VideoEncoder,
    tech: TechnicalInfo | None,
    channel_ms: int,
    fade: _Fade | None,
) -> list[str]:
    """Inputs for missing streams, filters, maps and encoders of a transcoded item that
    starts ``channel_ms`` into the channel's running time."""
    # Unknown (no probe, or a live channel probed only when it plays): assume both.
    has_video = tech is None or tech.live or tech.video_codec is not None
    has_audio = tech is None or tech.live or tech.audio_codec is not None
    black = [] if has_video else ["-f", "lavfi", "-i", _colour_source(profile, "black")]
    silence = [] if has_audio else ["-f", "lavfi", "-i", _silence_source(profile)]
    video_in = "0:v:0" if has_video else "1:v:0"
    audio_in = "0:a:0?" if has_audio else f"{1 + (not has_video)}:a:0"
    next_input = 1 + (not has_video) + (not has_audio)
    # apad keeps audio from ending before the video; -shortest then cuts it at the video's
    # end. Black filler never ends, so then the source's audio must decide the end.
    audio_chain = ["aresample=async=1:first_pts=0", *([_LOUDNORM] if profile.loudnorm else [])]
    audio_chain += [fade.filter("afade")] if fade else []
    audio_chain += ["apad"] if has_video else []
    return [
        *black,
        *silence,
        *_video_filters(profile, codec, video_in, next_input, channel_ms=channel_ms, fade=fade),
        *("-map", audio_in, "-af", ",".join(audio_chain)),
        *_encoders(profile, codec),
        "-shortest",
    ]


def _video_filters(
    profile: StreamProfile,
    codec: VideoEncoder,
    video_in: str,
    mark_input: int,
    *,
    channel_ms: int,
    fade: _Fade | None,
) -> list[str]:
    """Scale to fit, pad to the profile size, set the frame rate, overlay the watermark,
    fade out, then the encoder's pixel format."""
    w, h = profile.width, profile.height
    # force_divisible_by=2: an odd fitted width (4:3 into 16:9) would break yuv420p chroma.
    fit = (
        f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    )
    faded = "" if fade is None else f"{fade.filter('fade')},"
    mark = profile.watermark
    if mark is None:
        return ["-map", video_in, "-vf", f"{fit},{faded}{_rate(profile)},{_pixels(codec)}"]
    size = "" if mark.size_percent is None else f",scale={_share(w, mark.size_percent)}:-1"
    # The frame rate is set before the overlay: after it, fps lost the item's last frame
    # (the overlay's output ends where that frame starts, not where it ends), so a
    # one-frame process had to follow every item to show it.
    graph = (
        f"[{video_in}]{fit},{_rate(profile)}[base];"
        f"[{mark_input}:v]format=rgba,colorchannelmixer=aa={mark.opacity:g}{size}[mark];"
        f"[base][mark]overlay={_placement(mark, w, h)}{_schedule(mark, channel_ms)},"
        f"{faded}{_pixels(codec)}[v]"
    )
    return ["-i", f"file:{mark.path}", "-filter_complex", graph, "-map", "[v]"]


def _placement(mark: Watermark, width: int, height: int) -> str:
    """overlay's ``x:y`` for the mark's corner and margins (default: 1/36 of the picture
    height, at least 8 pixels, on both sides)."""
    default = max(8, height // 36)
    mx = default if mark.margin_x_percent is None else _share(width, mark.margin_x_percent)
    my = default if mark.margin_y_percent is None else _share(height, mark.margin_y_percent)
    x = str(mx) if mark.corner in (Corner.TOP_LEFT, Corner.BOTTOM_LEFT) else f"W-w-{mx}"
    y = str(my) if mark.corner in (Corner.TOP_LEFT, Corner.TOP_RIGHT) else f"H-h-{my}"
    return f"{x}:{y}"


def _schedule(mark: Watermark, channel_ms: int) -> str:
    """overlay's ``enable`` option of an intermittent mark ('' when always shown).

    ``t`` is the item's own time from 0; adding the channel time at which the item starts
    makes the mark come and go on the channel's running time, across item boundaries.
    """
    if mark.every_minutes is None or mark.for_seconds is None:
        return ""
    period = mark.every_minutes * 60
    return f":enable='lt(mod(t+{_seconds(channel_ms)},{period}),{mark.for_seconds})'"


def _share(pixels: int, percent: float) -> int:
    """``percent`` of ``pixels``, rounded to an even number of pixels."""
    return 2 * round(pixels * percent / 200)


def _frames(profile: StreamProfile, codec: VideoEncoder) -> str:
    """The filters a slate's pictures pass last: the profile's frame rate, the encoder's
    format."""
    return f"{_rate(profile)},{_pixels(codec)}"


def _rate(profile: StreamProfile) -> str:
    return f"fps={profile.frame_rate}"


def _pixels(codec: VideoEncoder) -> str:
    """The encoder's input format (and upload to its device)."""
    return _UPLOAD.get(codec, "format=yuv420p")


def _encoders(profile: StreamProfile, codec: VideoEncoder) -> list[str]:
    """Video and audio encoder settings; identical for items and slates of one profile."""
    kbps = profile.video_bitrate_kbps
    gop = str(profile.gop_frames)
    specific = {
        VideoEncoder.LIBX264: ["-preset", profile.preset],
        VideoEncoder.H264_NVENC: ["-preset", "p4", "-rc", "cbr", "-forced-idr", "1"],
    }.get(codec, [])
    return [
        # One H.264 profile for every encoder, so a fallback to libx264 changes no SPS profile.
        *("-c:v", codec.value, *specific, "-profile:v", "high"),
        *("-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k"),
        # A closed, fixed GOP: every segment and every splice point starts on a keyframe.
        *("-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-flags", "+cgop"),
        *("-force_key_frames", f"expr:gte(t,n_forced*{profile.gop_seconds})"),
        *("-c:a", profile.audio_codec.value, "-b:a", f"{profile.audio_bitrate_kbps}k"),
        *("-ac", str(profile.audio_channels), "-ar", str(profile.sample_rate)),
    ]


def _copy_streams(tech: TechnicalInfo) -> list[str]:
    """Maps and codec flags for a remux of a source that ``can_copy`` accepted."""
    annexb = ("-bsf:v", "h264_mp4toannexb") if tech.container in _ANNEXB_CONTAINERS else ()
    return ["-map", "0:v:0", "-map", "0:a:0", "-c", "copy", *annexb]


def _output(duration_ms: int, output_ts_offset_ms: int) -> list[str]:
    """Length, fixed PIDs and timestamp offset of the MPEG-TS written to stdout."""
    return [
        *("-t", _seconds(duration_ms)),
        *("-streamid", f"0:{VIDEO_PID}", "-streamid", f"1:{AUDIO_PID}"),
        *("-mpegts_pmt_start_pid", str(PMT_PID)),
        # No preload: timestamps start at the offset, so consecutive items line up. The PCR
        # runs MUX_DELAY_MS behind the DTS (ISO/IEC 13818-1 T-STD: every packet must arrive
        # before it is decoded; with no delay, audio came 21 ms late and VLC said so).
        # mpegts_copyts: the muxer would otherwise add the delay to every timestamp.
        *("-muxdelay", _seconds(MUX_DELAY_MS), "-muxpreload", "0", "-mpegts_copyts", "1"),
        # ISO/IEC 13818-1 wants a PCR at least every 100 ms and players PAT/PMT as often:
        # FFmpeg's defaults (PCR on every other frame, tables every ~120 ms) miss both. With
        # these, PCRs come with every video frame and tables about every 75 ms (placed
        # before whole frames, so up to a frame later; the splicer fills in).
        *("-pcr_period", "20", "-pat_period", "0.075"),
        # One audio frame per PES: the splicer then knows where the audio ends (PTS + one
        # frame); with FFmpeg's default, a PES holds up to ~150 ms of audio and the next
        # item's first audio overlapped the last one's.
        *("-pes_payload_size", "0"),
        *("-output_ts_offset", _seconds(output_ts_offset_ms)),
        *("-f", "mpegts", "pipe:1"),
    ]


def _slate_text(profile: StreamProfile, title: str, message: str) -> list[str]:
    """Two drawtext filters: ``title`` large above the centre, ``message`` smaller below."""
    h, gap = profile.height, profile.height // 40
    return [
        f"drawtext=text={escape_drawtext(title)}:fontsize={max(12, h // 10)}"
        f":fontcolor=white:x=(w-text_w)/2:y=h/2-text_h-{gap}",
        f"drawtext=text={escape_drawtext(message)}:fontsize={max(10, h // 22)}"
        f":fontcolor=white@0.8:x=(w-text_w)/2:y=h/2+{gap}",
    ]


def _colour_source(profile: StreamProfile, colour: str) -> str:
    """lavfi source of an endless ``colour`` picture in the profile's size and rate."""
    return f"color=c={colour}:s={profile.width}x{profile.height}:r={profile.frame_rate}"


def _silence_source(profile: StreamProfile) -> str:
    """lavfi source of endless silence in the profile's layout and sample rate."""
    return f"anullsrc=channel_layout={profile.channel_layout}:sample_rate={profile.sample_rate}"


def _encoder(profile: StreamProfile, encoder: str | None) -> VideoEncoder:
    try:
        return VideoEncoder(encoder or profile.video_encoder)
    except ValueError:
        raise InvalidInput(f"unknown video encoder {encoder!r}") from None


def _check_times(offset_ms: int, duration_ms: int, output_ts_offset_ms: int) -> None:
    if offset_ms < 0 or output_ts_offset_ms < 0 or duration_ms <= 0:
        raise InvalidInput("offsets must not be negative and duration_ms must be positive")


def _seconds(ms: int) -> str:
    """Milliseconds as FFmpeg seconds with exactly three decimals (no float rounding)."""
    return f"{ms // 1000}.{ms % 1000:03d}"

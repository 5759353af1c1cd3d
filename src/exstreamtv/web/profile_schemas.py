"""Request and response bodies for stream profiles and encoder capabilities.

Each field of a profile is checked on its own by the domain's rules (``StreamProfile``), so
a wrong value is a 422 naming that field (``body.width: width 641 must be an even number of
pixels from 16 to 8192``); rules across fields (copy mode with loudness normalisation) are
checked on the whole body. Omitted fields take the built-in profile's values.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from exstreamtv.domain.profiles import (
    DEFAULT_PROFILE,
    AudioCodec,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
)
from exstreamtv.errors import InvalidInput
from exstreamtv.services.profiles import EncoderSupport
from exstreamtv.store.profiles import StoredProfile
from exstreamtv.web.schemas import Input

# Profile names are shown in the API and logs: printable text only (any script), 1-100.
ProfileName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"
    ),
]
Whole = Annotated[int, Strict()]  # no 1.0 for 1, no true for 1
_D = DEFAULT_PROFILE
_PER_FIELD = (
    "mode", "video_encoder", "width", "height", "fps", "video_bitrate_kbps", "gop_seconds",
    "preset", "audio_codec", "audio_bitrate_kbps", "audio_channels", "sample_rate",
)  # fmt: skip


class StreamProfileIn(Input):
    """A stream profile. ``default: true`` makes it the default (the profile of every
    channel that names none); ``false`` is refused for the current default; omitted leaves
    it as it is. Sizes in pixels, ``fps`` in frames per second, bitrates in kbit/s,
    ``sample_rate`` in Hz, ``gop_seconds`` the keyframe interval in seconds."""

    name: ProfileName
    mode: ProfileMode = _D.mode
    video_encoder: VideoEncoder = _D.video_encoder
    width: Whole = _D.width
    height: Whole = _D.height
    fps: float = _D.fps
    video_bitrate_kbps: Whole = _D.video_bitrate_kbps
    gop_seconds: Whole = _D.gop_seconds
    preset: Annotated[str, Field(max_length=16)] = _D.preset
    audio_codec: AudioCodec = _D.audio_codec
    audio_bitrate_kbps: Whole = _D.audio_bitrate_kbps
    audio_channels: Whole = _D.audio_channels
    sample_rate: Whole = _D.sample_rate
    loudnorm: bool = _D.loudnorm
    default: bool | None = None

    @field_validator(*_PER_FIELD)
    @classmethod
    def _domain_accepts(cls, value: Any, info: ValidationInfo) -> Any:
        """The field alone (the others as in the built-in profile), by the domain's rules."""
        try:
            StreamProfile(name=_D.name, **{str(info.field_name): value})
        except InvalidInput as err:
            raise ValueError(err.message) from None
        return value

    @model_validator(mode="after")
    def _whole_profile(self) -> Self:
        try:
            self.to_domain()
        except InvalidInput as err:
            raise ValueError(err.message) from None
        return self

    def to_domain(self) -> StreamProfile:
        """The profile; raises ``InvalidInput`` (checked already by validation)."""
        return StreamProfile(**self.model_dump(exclude={"default"}))


class StreamProfileOut(BaseModel):
    id: int
    name: str
    default: bool
    mode: ProfileMode
    video_encoder: VideoEncoder
    width: int
    height: int
    fps: float
    video_bitrate_kbps: int
    gop_seconds: int
    preset: str
    audio_codec: AudioCodec
    audio_bitrate_kbps: int
    audio_channels: int
    sample_rate: int
    loudnorm: bool

    @classmethod
    def of(cls, stored: StoredProfile) -> StreamProfileOut:
        fields = {name: getattr(stored.profile, name) for name in _PER_FIELD}
        return cls.model_validate(
            {
                **fields,
                "id": stored.id,
                "name": stored.profile.name,
                "default": stored.is_default,
                "loudnorm": stored.profile.loudnorm,
            }
        )


class EncoderOut(BaseModel):
    """Whether a profile asking for ``encoder`` gets it here; ``reason`` says why not."""

    encoder: VideoEncoder
    usable: bool
    reason: str | None


class CapabilitiesOut(BaseModel):
    """What FFmpeg said at start-up (``detected`` false: it could not be asked)."""

    detected: bool
    encoders: list[EncoderOut]

    @classmethod
    def of(cls, detected: bool, support: list[EncoderSupport]) -> CapabilitiesOut:
        return cls(
            detected=detected,
            encoders=[
                EncoderOut(encoder=s.encoder, usable=s.usable, reason=s.reason) for s in support
            ],
        )

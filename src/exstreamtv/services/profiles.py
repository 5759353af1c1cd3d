"""Stream profile use cases, and the profile a channel actually streams with.

Every channel streams with its own profile, or with the default one when it names none.
:meth:`ProfileService.for_channel` adds the channel's watermark (its logo) and swaps a
hardware encoder this machine cannot use for ``libx264``, as found by
:meth:`ProfileService.detect_encoders` at start-up. A running channel keeps the profile it
started with; an edit applies the next time it starts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.domain.channels import Channel
from exstreamtv.domain.profiles import (
    DEFAULT_PROFILE,
    ProfileMode,
    StreamProfile,
    VideoEncoder,
    WatermarkStyle,
)
from exstreamtv.errors import ConfigError, InvalidInput, NotFound, ProcessError
from exstreamtv.ffmpeg.capabilities import Capabilities, choose_encoder, detect
from exstreamtv.services.logos import LogoService
from exstreamtv.store.database import transaction
from exstreamtv.store.profiles import ProfileRepository, StoredProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EncoderSupport:
    """Whether ``encoder`` can be used here; ``reason`` says why not (``None``: usable)."""

    encoder: VideoEncoder
    usable: bool
    reason: str | None


class ProfileService:
    """Stream profile CRUD (exactly one default, never deleted) and per-channel profiles."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], logos: LogoService) -> None:
        self._sessions = sessions
        self._logos = logos
        self._capabilities: Capabilities | None = None

    # --- encoders ---------------------------------------------------------------------

    async def detect_encoders(self, ffmpeg: str) -> Capabilities | None:
        """Ask ``ffmpeg`` which encoders it has and which device nodes exist, and keep the
        answer for :meth:`for_channel`. When FFmpeg cannot answer, ``None`` is kept (and
        logged): profiles then try their encoder, and a failing hardware encoder still
        falls back to ``libx264`` while streaming."""
        try:
            self._capabilities = await detect(ffmpeg)
        except ProcessError as err:
            log.warning("could not list FFmpeg's encoders: %s", err.message)
            self._capabilities = None
        return self._capabilities

    @property
    def capabilities(self) -> Capabilities | None:
        """What :meth:`detect_encoders` found (``None``: not detected)."""
        return self._capabilities

    def encoder_support(self) -> list[EncoderSupport]:
        """Each H.264 encoder and whether a profile asking for it gets it here (empty
        before detection)."""
        caps = self._capabilities
        if caps is None:
            return []
        found = []
        for encoder in VideoEncoder:
            probe = StreamProfile(name="probe", video_encoder=encoder)
            try:
                chosen, reason = choose_encoder(probe, caps)
            except ConfigError as err:
                chosen, reason = "", err.message
            found.append(EncoderSupport(encoder, chosen == encoder.value, reason))
        return found

    # --- CRUD -------------------------------------------------------------------------

    async def profiles(self) -> list[StoredProfile]:
        """Every profile, by name."""
        async with self._sessions() as session:
            return await ProfileRepository(session).all()

    async def profile(self, profile_id: int) -> StoredProfile:
        """One profile; raises NotFound."""
        async with self._sessions() as session:
            return await ProfileRepository(session).get(profile_id)

    async def create(self, profile: StreamProfile, *, default: bool = False) -> StoredProfile:
        """Store a new profile, the default if ``default``; raises Conflict (name taken)."""
        async with transaction(self._sessions) as session:
            repo = ProfileRepository(session)
            created = await repo.create(profile)
            return await repo.make_default(created.id) if default else created

    async def update(
        self, profile_id: int, profile: StreamProfile, *, default: bool | None = None
    ) -> StoredProfile:
        """Replace a profile. ``default=True`` makes it the default; ``False`` is refused
        (InvalidInput) for the current default, which changes only by choosing another;
        ``None`` leaves it. Raises NotFound, Conflict (name taken), InvalidInput (copy mode
        for channels that overlay a watermark)."""
        async with transaction(self._sessions) as session:
            repo = ProfileRepository(session)
            current = await repo.get(profile_id)
            if default is False and current.is_default:
                raise InvalidInput(
                    "default: there is always one default profile; "
                    "make another profile the default instead"
                )
            updated = await repo.update(profile_id, profile)
            return await repo.make_default(profile_id) if default else updated

    async def delete(self, profile_id: int) -> None:
        """Delete a profile; raises NotFound, or Conflict for the default or one in use."""
        async with transaction(self._sessions) as session:
            await ProfileRepository(session).delete(profile_id)

    async def ensure_default(self) -> StoredProfile:
        """Make sure a default profile exists (see ``ProfileRepository.ensure_default``)."""
        async with transaction(self._sessions) as session:
            return await ProfileRepository(session).ensure_default()

    # --- what a channel streams with ----------------------------------------------------

    async def for_channel(self, channel: Channel) -> StreamProfile:
        """The profile ``channel`` streams with: its own, else the default (a stored
        profile that is no longer valid is logged and replaced by ``DEFAULT_PROFILE``),
        with the channel's logo as watermark when it has one, and ``libx264`` instead of a
        hardware encoder this machine lacks (logged with the reason)."""
        profile = await self._stored_for(channel)
        profile = await self._watermarked(channel, profile)
        return self._encodable(channel, profile)

    async def _stored_for(self, channel: Channel) -> StreamProfile:
        async with self._sessions() as session:
            repo = ProfileRepository(session)
            try:
                found = await self._own(repo, channel) or await repo.default()
            except InvalidInput as err:
                problem = err.message
            else:
                return DEFAULT_PROFILE if found is None else found.profile
        log.error("channel %s: %s; streaming with the built-in profile", channel.number, problem)
        return DEFAULT_PROFILE

    @staticmethod
    async def _own(repo: ProfileRepository, channel: Channel) -> StoredProfile | None:
        if channel.stream_profile_id is None:
            return None
        try:
            return await repo.get(channel.stream_profile_id)
        except NotFound:  # deleted since the channel was read
            return None

    async def _watermarked(self, channel: Channel, profile: StreamProfile) -> StreamProfile:
        style = channel.watermark
        if style is None:
            return profile
        if profile.mode is ProfileMode.COPY:  # the API refuses this; the database may not
            log.warning("channel %s: watermark skipped: stream profile %r is in copy mode",
                        channel.number, profile.name)  # fmt: skip
            return profile
        try:
            image = await self._watermark_image(channel, style)
        except ProcessError as err:
            log.warning("channel %s: watermark skipped: %s", channel.number, err.message)
            return profile
        path = await asyncio.to_thread(image.resolve)
        return replace(profile, watermark=style.of(str(path)))

    async def _watermark_image(self, channel: Channel, style: WatermarkStyle) -> Path:
        """The uploaded image the style names, else the channel's logo (ProcessError when
        the named image is gone or no logo can be made)."""
        if style.image is None:
            return await self._logos.logo(channel)
        found = await asyncio.to_thread(self._logos.uploaded, style.image)
        if found is None:
            raise ProcessError(f"the watermark image {style.image!r} is no longer stored")
        return found

    def _encodable(self, channel: Channel, profile: StreamProfile) -> StreamProfile:
        caps = self._capabilities
        if caps is None or profile.video_encoder is VideoEncoder.LIBX264:
            return profile
        reason: str | None = None
        missing: str | None = None
        try:
            _, reason = choose_encoder(profile, caps)
        except ConfigError as err:  # no libx264 to fall back to: try the profile's own
            missing = err.message
        if missing is not None:
            log.error("channel %s: %s", channel.number, missing)
        if reason is None:
            return profile
        log.warning("channel %s: stream profile %r: %s", channel.number, profile.name, reason)
        return replace(profile, video_encoder=VideoEncoder.LIBX264)

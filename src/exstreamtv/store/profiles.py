"""Stream profiles in the database: one row each, its settings as JSON, one marked default.

``settings`` holds every :class:`StreamProfile` field except ``name`` (its own column) and
``watermark`` (a channel's, see ``channels.watermark_*``). A key missing from the JSON takes
the :class:`StreamProfile` default, so the built-in row (stored as ``{}``) reads as
``DEFAULT_PROFILE``; unknown keys are ignored.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.profiles import DEFAULT_PROFILE, ProfileMode, StreamProfile
from exstreamtv.errors import Conflict, InvalidInput, NotFound
from exstreamtv.store.tables import ChannelRow, StreamProfileRow

_SETTINGS = tuple(
    f.name for f in dataclasses.fields(StreamProfile) if f.name not in {"name", "watermark"}
)
_NAMED_CHANNELS = 10  # a refusal lists at most this many channel numbers


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A stored stream profile: its ``id``, the ``profile`` and whether it is the default."""

    id: int
    profile: StreamProfile
    is_default: bool


def profile_settings(profile: StreamProfile) -> dict[str, Any]:
    """The JSON ``settings`` of ``profile`` (enums as their string values)."""
    values = {name: getattr(profile, name) for name in _SETTINGS}
    return {k: v.value if isinstance(v, enum.Enum) else v for k, v in values.items()}


def profile_of(name: str, settings: dict[str, Any]) -> StreamProfile:
    """The profile named ``name`` with stored ``settings``; raises ``InvalidInput`` when the
    stored values are not a valid profile (the database was edited by hand)."""
    known = {k: v for k, v in settings.items() if k in _SETTINGS}
    try:
        return StreamProfile(name=name, **known)
    except TypeError as err:  # a value of the wrong JSON type
        raise InvalidInput(f"stream profile {name!r} is stored with invalid settings") from err


class ProfileRepository:
    """Stream profile reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[StoredProfile]:
        """Every profile, by name (case-insensitive)."""
        rows = await self._session.scalars(
            select(StreamProfileRow).order_by(
                func.lower(StreamProfileRow.name), StreamProfileRow.id
            )
        )
        return [_to_stored(row) for row in rows]

    async def get(self, profile_id: int) -> StoredProfile:
        """The profile; raises :class:`NotFound`."""
        return _to_stored(await self._row(profile_id))

    async def default(self) -> StoredProfile | None:
        """The default profile (``None`` only before :meth:`ensure_default` ran)."""
        row = await self._session.scalar(
            select(StreamProfileRow)
            .where(StreamProfileRow.is_default.is_(True))
            .order_by(StreamProfileRow.id)
            .limit(1)
        )
        return None if row is None else _to_stored(row)

    async def create(self, profile: StreamProfile) -> StoredProfile:
        """Store a new (not default) profile; raises :class:`Conflict` when the name is taken."""
        row = StreamProfileRow(is_default=False)
        self._session.add(row)
        return await self._apply(row, profile)

    async def update(self, profile_id: int, profile: StreamProfile) -> StoredProfile:
        """Replace a profile's name and settings; raises NotFound, Conflict (name taken) or
        InvalidInput (a copy profile for channels that overlay a watermark)."""
        row = await self._row(profile_id)
        if profile.mode is ProfileMode.COPY:
            await self._refuse_watermarks(profile_id, row.is_default, profile.name)
        return await self._apply(row, profile)

    async def make_default(self, profile_id: int) -> StoredProfile:
        """Make this profile the default (and no other); raises NotFound, or InvalidInput
        when it is a copy profile and channels without a profile overlay a watermark."""
        row = await self._row(profile_id)
        if _to_stored(row).profile.mode is ProfileMode.COPY:
            await self._refuse_watermarks(profile_id, True, row.name)
        # One statement sets every row, so concurrent changes still leave exactly one default.
        await self._session.execute(
            update(StreamProfileRow)
            .values(is_default=StreamProfileRow.id == profile_id)
            .execution_options(synchronize_session=False)
        )
        await self._session.refresh(row)
        return _to_stored(row)

    async def delete(self, profile_id: int) -> None:
        """Delete a profile; raises NotFound, or :class:`Conflict` for the default profile
        and for a profile that channels use (naming them)."""
        row = await self._row(profile_id)
        if row.is_default:
            raise Conflict(
                f"stream profile {row.name!r} is the default and cannot be deleted: "
                "make another profile the default first"
            )
        users = await self.users(profile_id)
        if users:
            raise Conflict(
                f"stream profile {row.name!r} is used by channel(s) {_listing(users)}: "
                "give them another profile first"
            )
        await self._session.delete(row)
        await self._session.flush()

    async def users(self, profile_id: int) -> list[str]:
        """Numbers of the channels that name this profile, in number order."""
        numbers = await self._session.scalars(
            select(ChannelRow.number)
            .where(ChannelRow.stream_profile_id == profile_id)
            .order_by(ChannelRow.number_major, ChannelRow.number_minor)
        )
        return list(numbers)

    async def ensure_default(self) -> StoredProfile:
        """The default profile, made if needed: the row named ``default`` (created with
        ``DEFAULT_PROFILE``'s values if missing) becomes the default when none is marked.
        A default stored as ``{}`` gets its values written out, so they can be read back."""
        found = await self.default()
        if found is None:
            row = await self._session.scalar(
                select(StreamProfileRow).where(StreamProfileRow.name == DEFAULT_PROFILE.name)
            )
            if row is None:
                row = StreamProfileRow(name=DEFAULT_PROFILE.name, settings={})
                self._session.add(row)
                await self._session.flush()
            found = await self.make_default(row.id)
        row = await self._row(found.id)
        if not row.settings:
            row.settings = profile_settings(found.profile)
            await self._session.flush()
        return found

    async def check_watermark(self, profile_id: int | None, channel: str) -> None:
        """Refuse (``InvalidInput``) a watermark on ``channel`` when its profile (the default
        when ``profile_id`` is ``None``) is in copy mode: an overlay needs transcoding."""
        stored = await self.default() if profile_id is None else await self.get(profile_id)
        if stored is not None and stored.profile.mode is ProfileMode.COPY:
            raise InvalidInput(
                f"watermark: channel {channel}'s stream profile {stored.profile.name!r} is in "
                "copy mode, which cannot overlay a logo; use a transcode profile"
            )

    async def _refuse_watermarks(self, profile_id: int, is_default: bool, name: str) -> None:
        """``InvalidInput`` naming the channels that would overlay a watermark with this
        profile (theirs, or the default's when they name none) if it were in copy mode."""
        uses = ChannelRow.stream_profile_id == profile_id
        if is_default:
            uses = uses | ChannelRow.stream_profile_id.is_(None)
        numbers = list(
            await self._session.scalars(
                select(ChannelRow.number)
                .where(uses, ChannelRow.watermark_corner.is_not(None))
                .order_by(ChannelRow.number_major, ChannelRow.number_minor)
            )
        )
        if numbers:
            raise InvalidInput(
                f"mode: stream profile {name!r} cannot be in copy mode while channel(s) "
                f"{_listing(numbers)} overlay a watermark with it; turn their watermark off first"
            )

    async def _row(self, profile_id: int) -> StreamProfileRow:
        row = await self._session.get(StreamProfileRow, profile_id)
        if row is None:
            raise NotFound(f"stream profile {profile_id} does not exist")
        return row

    async def _apply(self, row: StreamProfileRow, profile: StreamProfile) -> StoredProfile:
        row.name, row.settings = profile.name, profile_settings(profile)
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a stream profile named {profile.name!r} already exists") from err
        return _to_stored(row)


def _to_stored(row: StreamProfileRow) -> StoredProfile:
    return StoredProfile(row.id, profile_of(row.name, row.settings or {}), row.is_default)


def _listing(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:_NAMED_CHANNELS])
    more = len(numbers) - _NAMED_CHANNELS
    return f"{shown} and {more} more" if more > 0 else shown

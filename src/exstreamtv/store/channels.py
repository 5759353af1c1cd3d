"""Channels and stream profiles in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.profiles import Corner, WatermarkStyle
from exstreamtv.errors import Conflict, InvalidInput, NotFound
from exstreamtv.store.profiles import ProfileRepository
from exstreamtv.store.tables import ChannelRow, ScheduleRow, StreamProfileRow


@dataclass(frozen=True, slots=True)
class ChannelFields:
    """The editable fields of a channel (``watermark``: ``None`` for no logo overlay)."""

    number: ChannelNumber
    name: str
    group: str | None = None
    logo: str | None = None
    enabled: bool = True
    stream_profile_id: int | None = None
    watermark: WatermarkStyle | None = None


class ChannelRepository:
    """Channel reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Channel]:
        """Every channel in channel-number order."""
        rows = await self._session.scalars(
            select(ChannelRow).order_by(ChannelRow.number_major, ChannelRow.number_minor)
        )
        return [_to_channel(row) for row in rows]

    async def get(self, number: ChannelNumber) -> Channel:
        """The channel with this number; raises :class:`NotFound`."""
        return _to_channel(await self._row(number))

    async def create(self, fields: ChannelFields, now: datetime) -> Channel:
        """Create a channel; raises :class:`Conflict` if the number is taken, InvalidInput
        for an unknown profile or a watermark on a copy profile."""
        await self._check_profile(fields)
        row = ChannelRow(created_at=now, updated_at=now)
        _apply(row, fields)
        self._session.add(row)
        await self._flush(fields.number)
        return _to_channel(row)

    async def update(self, number: ChannelNumber, fields: ChannelFields, now: datetime) -> Channel:
        """Replace a channel's fields (the number may change); raises NotFound/Conflict, and
        InvalidInput for an unknown profile or a watermark on a copy profile."""
        await self._check_profile(fields)
        row = await self._row(number)
        _apply(row, fields)
        row.updated_at = now
        await self._flush(fields.number)
        return _to_channel(row)

    async def by_id(self, channel_id: int) -> Channel:
        """The channel with this id; raises :class:`NotFound`."""
        row = await self._session.get(ChannelRow, channel_id)
        if row is None:
            raise NotFound(f"channel id {channel_id} does not exist")
        return _to_channel(row)

    async def scheduled(self) -> list[Channel]:
        """Enabled channels that have a schedule, in channel-number order."""
        return [c for c in await self.all() if c.enabled and c.schedule_id is not None]

    async def using_schedule(self, schedule_id: int) -> list[Channel]:
        """Channels (enabled or not) whose playout is built from the schedule."""
        return [c for c in await self.all() if c.schedule_id == schedule_id]

    async def set_schedule(
        self, number: ChannelNumber, schedule_id: int | None, now: datetime
    ) -> Channel:
        """Attach a schedule (``None`` detaches); raises NotFound for the channel and
        :class:`InvalidInput` for an unknown schedule."""
        row = await self._row(number)
        if schedule_id is not None and await self._session.get(ScheduleRow, schedule_id) is None:
            raise InvalidInput(f"schedule_id: schedule {schedule_id} does not exist")
        row.schedule_id = schedule_id
        row.updated_at = now
        await self._session.flush()
        return _to_channel(row)

    async def delete(self, number: ChannelNumber) -> None:
        await self._session.delete(await self._row(number))
        await self._session.flush()

    async def _row(self, number: ChannelNumber) -> ChannelRow:
        row = await self._session.scalar(select(ChannelRow).where(ChannelRow.number == str(number)))
        if row is None:
            raise NotFound(f"channel {number} does not exist")
        return row

    async def _flush(self, number: ChannelNumber) -> None:
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"channel number {number} is already in use") from err

    async def _check_profile(self, fields: ChannelFields) -> None:
        profile_id = fields.stream_profile_id
        if profile_id is not None and await self._session.get(StreamProfileRow, profile_id) is None:
            raise InvalidInput(f"stream_profile_id: stream profile {profile_id} does not exist")
        if fields.watermark is not None:
            await ProfileRepository(self._session).check_watermark(profile_id, str(fields.number))


def _apply(row: ChannelRow, fields: ChannelFields) -> None:
    row.number = str(fields.number)
    row.number_major = fields.number.major
    row.number_minor = -1 if fields.number.minor is None else fields.number.minor
    row.name = fields.name
    row.group_name = fields.group
    row.logo = fields.logo
    row.enabled = fields.enabled
    row.stream_profile_id = fields.stream_profile_id
    mark = fields.watermark
    row.watermark_corner = None if mark is None else mark.corner.value
    row.watermark_opacity = None if mark is None else mark.opacity
    row.watermark_image = None if mark is None else mark.image
    row.watermark_size_percent = None if mark is None else mark.size_percent
    row.watermark_margin_x_percent = None if mark is None else mark.margin_x_percent
    row.watermark_margin_y_percent = None if mark is None else mark.margin_y_percent
    row.watermark_every_minutes = None if mark is None else mark.every_minutes
    row.watermark_for_seconds = None if mark is None else mark.for_seconds


def _to_channel(row: ChannelRow) -> Channel:
    return Channel(
        id=row.id,
        number=ChannelNumber.parse(row.number),
        name=row.name,
        group=row.group_name,
        logo=row.logo,
        enabled=row.enabled,
        stream_profile_id=row.stream_profile_id,
        schedule_id=row.schedule_id,
        watermark=_watermark(row),
    )


def _watermark(row: ChannelRow) -> WatermarkStyle | None:
    if row.watermark_corner is None:
        return None
    opacity = 1.0 if row.watermark_opacity is None else row.watermark_opacity
    return WatermarkStyle(
        Corner(row.watermark_corner), opacity, row.watermark_image, row.watermark_size_percent,
        row.watermark_margin_x_percent, row.watermark_margin_y_percent,
        row.watermark_every_minutes, row.watermark_for_seconds,
    )  # fmt: skip

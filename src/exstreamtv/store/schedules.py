"""Schedules and filler presets in the database (bodies as JSON, see ``schedule_json``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.schedules import FillerPreset, Schedule, ScheduleKind
from exstreamtv.errors import Conflict, NotFound
from exstreamtv.store.schedule_json import (
    preset_body,
    preset_from_json,
    schedule_body,
    schedule_from_json,
)
from exstreamtv.store.tables import FillerPresetRow, ScheduleRow


class ScheduleRepository:
    """Schedule reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Schedule]:
        """Every schedule, by name."""
        rows = await self._session.scalars(select(ScheduleRow).order_by(ScheduleRow.name))
        return [_to_schedule(row) for row in rows]

    async def get(self, schedule_id: int) -> Schedule:
        """The schedule; raises :class:`NotFound`."""
        return _to_schedule(await self._row(schedule_id))

    async def create(self, schedule: Schedule, now: datetime) -> Schedule:
        """Store a new schedule (its ``id`` is ignored); raises :class:`Conflict` when the
        name is taken."""
        row = ScheduleRow(created_at=now)
        self._session.add(row)
        return await self._apply(row, schedule, now)

    async def update(self, schedule_id: int, schedule: Schedule, now: datetime) -> Schedule:
        """Replace a schedule's definition; raises NotFound/Conflict."""
        return await self._apply(await self._row(schedule_id), schedule, now)

    async def delete(self, schedule_id: int) -> None:
        await self._session.delete(await self._row(schedule_id))
        await self._session.flush()

    async def _row(self, schedule_id: int) -> ScheduleRow:
        row = await self._session.get(ScheduleRow, schedule_id)
        if row is None:
            raise NotFound(f"schedule {schedule_id} does not exist")
        return row

    async def _apply(self, row: ScheduleRow, schedule: Schedule, now: datetime) -> Schedule:
        row.name, row.kind = schedule.name, schedule.kind.value
        row.timezone, row.seed = schedule.timezone, schedule.seed
        row.body = schedule_body(schedule)
        row.updated_at = now
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a schedule named {schedule.name!r} already exists") from err
        return _to_schedule(row)


class FillerPresetRepository:
    """Filler preset reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[FillerPreset]:
        """Every preset, by name."""
        rows = await self._session.scalars(select(FillerPresetRow).order_by(FillerPresetRow.name))
        return [_to_preset(row) for row in rows]

    async def get(self, preset_id: int) -> FillerPreset:
        """The preset; raises :class:`NotFound`."""
        return _to_preset(await self._row(preset_id))

    async def by_ids(self, ids: Collection[int]) -> dict[int, FillerPreset]:
        """The presets with these ids, by id (unknown ids are left out)."""
        if not ids:
            return {}
        rows = await self._session.scalars(
            select(FillerPresetRow).where(FillerPresetRow.id.in_(list(ids)))
        )
        return {row.id: _to_preset(row) for row in rows}

    async def create(self, preset: FillerPreset) -> FillerPreset:
        """Store a new preset (its ``id`` is ignored); raises :class:`Conflict` when the
        name is taken."""
        row = FillerPresetRow()
        self._session.add(row)
        return await self._apply(row, preset)

    async def update(self, preset_id: int, preset: FillerPreset) -> FillerPreset:
        """Replace a preset's definition; raises NotFound/Conflict."""
        return await self._apply(await self._row(preset_id), preset)

    async def delete(self, preset_id: int) -> None:
        await self._session.delete(await self._row(preset_id))
        await self._session.flush()

    async def _row(self, preset_id: int) -> FillerPresetRow:
        row = await self._session.get(FillerPresetRow, preset_id)
        if row is None:
            raise NotFound(f"filler preset {preset_id} does not exist")
        return row

    async def _apply(self, row: FillerPresetRow, preset: FillerPreset) -> FillerPreset:
        row.name, row.kind = preset.name, preset.kind.value
        row.body = preset_body(preset)
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a filler preset named {preset.name!r} already exists") from err
        return _to_preset(row)


def _to_schedule(row: ScheduleRow) -> Schedule:
    head = {"id": row.id, "name": row.name, "timezone": row.timezone, "seed": row.seed}
    return schedule_from_json({**row.body, **head, "kind": ScheduleKind(row.kind).value})


def _to_preset(row: FillerPresetRow) -> FillerPreset:
    return preset_from_json({**row.body, "id": row.id, "name": row.name, "kind": row.kind})

"""Schedule and filler preset use cases.

Saving checks what only the database knows: every collection and filler preset a schedule
names exists, each preset is of the kind its field asks for (only a fallback preset can be
the fallback, only a tail preset the tail filler, ...), and every collection a preset draws
from exists (an :class:`InvalidInput` naming the field otherwise). Editing a schedule or a
preset refreshes the playouts of the channels that use it, so the change airs from the next
programme on; something in use cannot be deleted (:class:`Conflict` naming the users), nor
can a preset in use change to a kind its place has no room for.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.channels import Channel
from exstreamtv.domain.schedules import FillerKind, FillerPreset, Schedule
from exstreamtv.errors import Conflict, InvalidInput
from exstreamtv.scheduling.localtime import zone
from exstreamtv.services.playout_inputs import (
    Reference,
    collection_refs,
    preset_collection_refs,
    preset_refs,
)
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.store.channels import ChannelRepository
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.database import transaction
from exstreamtv.store.schedules import FillerPresetRepository, ScheduleRepository


class ScheduleService:
    """Schedule and filler preset CRUD, keeping the affected playouts up to date."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, playouts: PlayoutService
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._playouts = playouts

    async def schedules(self) -> list[Schedule]:
        async with self._sessions() as session:
            return await ScheduleRepository(session).all()

    async def schedule(self, schedule_id: int) -> Schedule:
        async with self._sessions() as session:
            return await ScheduleRepository(session).get(schedule_id)

    async def create(self, schedule: Schedule) -> Schedule:
        """Store a new schedule; raises InvalidInput (unknown zone or reference), Conflict
        (name taken)."""
        async with transaction(self._sessions) as session:
            await _check_schedule(session, schedule)
            return await ScheduleRepository(session).create(schedule, self._clock.now())

    async def update(self, schedule_id: int, schedule: Schedule) -> Schedule:
        """Replace a schedule, then ``refresh`` the playouts of the channels using it."""
        async with transaction(self._sessions) as session:
            await _check_schedule(session, schedule)
            saved = await ScheduleRepository(session).update(
                schedule_id, schedule, self._clock.now()
            )
            users = await ChannelRepository(session).using_schedule(schedule_id)
        await self._playouts.build_each(users, BuildMode.REFRESH)
        return saved

    async def delete(self, schedule_id: int) -> None:
        """Delete a schedule; :class:`Conflict` while a channel uses it."""
        async with transaction(self._sessions) as session:
            users = await ChannelRepository(session).using_schedule(schedule_id)
            if users:
                raise Conflict(
                    f"schedule {schedule_id} is used by channel(s) {_numbers(users)}; "
                    "attach another schedule to them first"
                )
            await ScheduleRepository(session).delete(schedule_id)

    async def presets(self) -> list[FillerPreset]:
        async with self._sessions() as session:
            return await FillerPresetRepository(session).all()

    async def preset(self, preset_id: int) -> FillerPreset:
        async with self._sessions() as session:
            return await FillerPresetRepository(session).get(preset_id)

    async def create_preset(self, preset: FillerPreset) -> FillerPreset:
        """Store a new preset; raises InvalidInput (unknown collection), Conflict (name)."""
        async with transaction(self._sessions) as session:
            await _check_refs(session, preset_collection_refs(preset), [])
            return await FillerPresetRepository(session).create(preset)

    async def update_preset(self, preset_id: int, preset: FillerPreset) -> FillerPreset:
        """Replace a preset, then ``refresh`` the channels whose schedules use it."""
        async with transaction(self._sessions) as session:
            await _check_refs(session, preset_collection_refs(preset), [])
            using = await _schedules_using(session, preset_id)
            _check_kind_in_use(preset, preset_id, using)
            saved = await FillerPresetRepository(session).update(preset_id, preset)
            schedule_ids = {s.id for s in using}
            channels = await ChannelRepository(session).all()
        users = [c for c in channels if c.schedule_id in schedule_ids]
        await self._playouts.build_each(users, BuildMode.REFRESH)
        return saved

    async def delete_preset(self, preset_id: int) -> None:
        """Delete a preset; :class:`Conflict` while a schedule names it."""
        async with transaction(self._sessions) as session:
            users = await _schedules_using(session, preset_id)
            if users:
                names = ", ".join(repr(s.name) for s in users)
                raise Conflict(f"filler preset {preset_id} is used by schedule(s) {names}")
            await FillerPresetRepository(session).delete(preset_id)


async def _check_schedule(session: AsyncSession, schedule: Schedule) -> None:
    try:
        zone(schedule.timezone)
    except InvalidInput as err:
        raise InvalidInput(f"timezone: {err.message}") from None
    await _check_refs(session, collection_refs(schedule), preset_refs(schedule))


async def _check_refs(
    session: AsyncSession, collections: Sequence[Reference], presets: Sequence[Reference]
) -> None:
    """Raise :class:`InvalidInput` naming the first field that names a missing thing."""
    known = await CollectionRepository(session).existing_ids(cid for _, cid in collections)
    for where, collection_id in collections:
        if collection_id not in known:
            raise InvalidInput(f"{where}: collection {collection_id} does not exist")
    found = await FillerPresetRepository(session).by_ids({pid for _, pid in presets})
    for where, preset_id in presets:
        if preset_id not in found:
            raise InvalidInput(f"{where}: filler preset {preset_id} does not exist")
        wanted = FillerKind(where.rsplit(".", 1)[-1])  # "fallback", "slots.0.filler.tail"
        preset = found[preset_id]
        if preset.kind is not wanted:
            raise InvalidInput(
                f"{where}: filler preset {preset.name!r} is {preset.kind.value.replace('_', '-')} "
                f"filler; only a {wanted.value.replace('_', '-')} preset can go here"
            )


def _check_kind_in_use(preset: FillerPreset, preset_id: int, using: Sequence[Schedule]) -> None:
    """Refuse (Conflict) a kind that a schedule naming the preset has no place for."""
    for schedule in using:
        for where, pid in preset_refs(schedule):
            wanted = FillerKind(where.rsplit(".", 1)[-1])
            if pid == preset_id and wanted is not preset.kind:
                raise Conflict(
                    f"kind: schedule {schedule.name!r} uses this preset as "
                    f"{wanted.value.replace('_', '-')} filler ({where}); it must stay that kind"
                )


async def _schedules_using(session: AsyncSession, preset_id: int) -> list[Schedule]:
    schedules = await ScheduleRepository(session).all()
    return [s for s in schedules if any(pid == preset_id for _, pid in preset_refs(s))]


def _numbers(channels: Sequence[Channel]) -> str:
    return ", ".join(str(c.number) for c in channels)

"""Importing another program's channels: match media, then create everything at once.

An import reads a :class:`ForeignStation` (see the readers in ``exstreamtv.formats``),
matches every media reference to our catalogue (:mod:`exstreamtv.services.media_matching`)
and creates, in **one transaction**, the collections, filler presets, schedules and
channels it needs. A channel whose number already exists is skipped (so a second import
of the same data creates nothing); collections and presets are found again by name. A dry
run does the same work and rolls it back, so it reports exactly what a real run would
create, and every item that could not be matched, with the reason.

After the commit each new channel's playout is built; a build that fails is reported, and
the import stands.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind
from exstreamtv.domain.libraries import PathMapping
from exstreamtv.domain.schedules import (
    ContentSource,
    FillerKind,
    FillerPreset,
    FillerSet,
    Schedule,
    ScheduleItem,
    ScheduleKind,
    WeightedCollection,
)
from exstreamtv.domain.station_import import (
    ForeignChannel,
    ForeignCollection,
    ForeignCollectionKind,
    ForeignFillerPreset,
    ForeignScheduleItem,
    ForeignStation,
)
from exstreamtv.errors import ExStreamTVError, InvalidInput
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.logos import LogoService
from exstreamtv.services.media_matching import MediaIndex
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import PlayoutService
from exstreamtv.store.channels import ChannelFields, ChannelRepository
from exstreamtv.store.collections import CollectionRepository
from exstreamtv.store.schedules import FillerPresetRepository, ScheduleRepository

log = logging.getLogger(__name__)
NAME_LIMIT = 200
LOGO_LIMIT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A media reference that matched nothing: where it was used, what it is, and why."""

    where: str
    item: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import created (or, for a dry run, would create)."""

    system: str
    dry_run: bool
    channels: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    presets: tuple[str, ...] = ()
    schedules: tuple[str, ...] = ()
    matched: int = 0
    unmatched: tuple[Unmatched, ...] = ()
    notes: tuple[str, ...] = ()
    builds: tuple[str, ...] = ()


@dataclass(slots=True)
class _Made:
    """Things of one kind that an import creates, or finds again by name."""

    label: str
    existing: dict[str, int] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def found(self, key: str, name: str, reused: list[str]) -> int | None:
        """The id for ``key`` if it was made already or ``name`` exists (noted as reused)."""
        if key in self.by_key:
            return self.by_key[key]
        existing = self.existing.get(name)
        if existing is not None:
            reused.append(f"{self.label} {name}")
            self.by_key[key] = existing
        return existing

    def add(self, key: str, name: str, made: int) -> int:
        self.created.append(name)
        self.by_key[key] = self.existing[name] = made
        return made


@dataclass(slots=True)
class _Work:
    """The import's running state inside its transaction."""

    session: AsyncSession
    station: ForeignStation
    index: MediaIndex
    files_root: Path | None
    dry_run: bool
    collections: _Made = field(default_factory=lambda: _Made("collection"))
    presets: _Made = field(default_factory=lambda: _Made("filler preset"))
    schedule_names: set[str] = field(default_factory=set)
    channels: list[str] = field(default_factory=list)
    created_numbers: list[ChannelNumber] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    matched: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class StationImport:
    """Imports a foreign station (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        logos: LogoService,
        playouts: PlayoutService,
        changes: GuideChanges,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._logos = logos
        self._playouts = playouts
        self._changes = changes

    async def run(
        self,
        station: ForeignStation,
        *,
        mappings: Sequence[PathMapping] = (),
        dry_run: bool = False,
        files_root: Path | None = None,
    ) -> ImportReport:
        """Import ``station`` (``files_root``: the other program's folder, for logo files).

        Raises the first error that stops the transaction (nothing is then created)."""
        async with self._sessions() as session:
            transaction = await session.begin()
            try:
                index = await MediaIndex(tuple(mappings)).load(session)
                work = _Work(session, station, index, files_root, dry_run, notes=[*station.notes])
                await self._create(work)
            except BaseException:
                await transaction.rollback()
                raise
            if dry_run:
                await transaction.rollback()
            else:
                await transaction.commit()
        builds = [] if dry_run else await self._build(work.created_numbers)
        if work.created_numbers and not dry_run:
            self._changes.bump()
            log.info(
                "imported %d channel(s) from %s", len(work.created_numbers), station.system.label
            )
        return ImportReport(
            system=station.system.label, dry_run=dry_run, channels=tuple(work.channels),
            skipped=tuple(work.skipped), collections=tuple(work.collections.created),
            reused=tuple(work.reused), presets=tuple(work.presets.created),
            schedules=tuple(work.schedules), matched=work.matched,
            unmatched=tuple(work.unmatched), notes=tuple(work.notes), builds=tuple(builds),
        )  # fmt: skip

    async def _create(self, work: _Work) -> None:
        session = work.session
        channels = ChannelRepository(session)
        taken = {str(c.number) for c in await channels.all()}
        work.collections.existing = {
            c.name: c.id for c in await CollectionRepository(session).all()
        }
        work.presets.existing = {p.name: p.id for p in await FillerPresetRepository(session).all()}
        work.schedule_names = {s.name for s in await ScheduleRepository(session).all()}
        collections = {c.key: c for c in work.station.collections}
        presets = {p.key: p for p in work.station.presets}
        for channel in work.station.channels:
            try:
                number = ChannelNumber.parse(channel.number)
            except InvalidInput as err:
                work.skipped.append(f"channel {channel.number!r}: {err.message}")
                continue
            if str(number) in taken:
                work.skipped.append(
                    f"channel {number} {channel.name}: channel {number} already exists"
                )
                continue
            taken.add(str(number))
            schedule_id = await self._schedule(work, channel, collections, presets)
            await self._channel(work, channel, number, schedule_id)

    async def _schedule(
        self,
        work: _Work,
        channel: ForeignChannel,
        collections: dict[str, ForeignCollection],
        presets: dict[str, ForeignFillerPreset],
    ) -> int | None:
        if not channel.items:
            return None
        items = []
        for item in channel.items:
            ids = [await self._collection(work, collections, key) for key in item.collections]
            filler = {
                kind: await self._preset(work, collections, presets, key)
                for kind, key in item.filler
            }
            items.append(_schedule_item(item, [i for i in ids if i is not None], filler))
        fallback = None
        if channel.fallback is not None:
            fallback = await self._preset(work, collections, presets, channel.fallback)
        name = _unique_name(f"{work.station.system.label} {channel.number}", work.schedule_names)
        schedule = Schedule(
            0, name, ScheduleKind.ITEMS, timezone=channel.timezone, items=tuple(items),
            fallback=fallback, seed=_seed(name),
        )  # fmt: skip
        created = await ScheduleRepository(work.session).create(schedule, self._clock.now())
        work.schedules.append(name)
        return created.id

    async def _collection(
        self, work: _Work, collections: dict[str, ForeignCollection], key: str
    ) -> int | None:
        foreign = collections.get(key)
        if foreign is None:
            work.notes.append(f"collection {key!r} is referred to but was not in the export")
            return None
        name = foreign.name[:NAME_LIMIT]
        found = work.collections.found(key, name, work.reused)
        if found is not None:
            return found
        made = CollectionRepository(work.session)
        created = await made.create(_collection(work, foreign, name), self._clock.now())
        return work.collections.add(key, name, created.id)

    async def _preset(
        self,
        work: _Work,
        collections: dict[str, ForeignCollection],
        presets: dict[str, ForeignFillerPreset],
        key: str,
    ) -> int | None:
        foreign = presets.get(key)
        if foreign is None:
            work.notes.append(f"filler preset {key!r} is referred to but was not in the export")
            return None
        name = foreign.name[:NAME_LIMIT]
        found = work.presets.found(key, name, work.reused)
        if found is not None:
            return found
        weighted = []
        for collection_key, weight in foreign.collections:
            found = await self._collection(work, collections, collection_key)
            if found is not None:
                weighted.append(WeightedCollection(found, max(1, weight)))
        preset = FillerPreset(
            0, name, foreign.kind, tuple(weighted), cooldown_minutes=foreign.cooldown_minutes,
            count=max(1, foreign.count), tail_boundary_minutes=foreign.tail_boundary_minutes,
            tail_fixed_seconds=foreign.tail_fixed_seconds,
        )  # fmt: skip
        created = await FillerPresetRepository(work.session).create(preset)
        return work.presets.add(key, name, created.id)

    async def _channel(
        self, work: _Work, channel: ForeignChannel, number: ChannelNumber, schedule_id: int | None
    ) -> None:
        repo = ChannelRepository(work.session)
        logo = await self._logo(work, channel)
        fields = ChannelFields(
            number, channel.name[:NAME_LIMIT] or f"Channel {number}",
            group=(channel.group or None) and channel.group[:NAME_LIMIT], logo=logo,
            watermark=channel.watermark,
        )  # fmt: skip
        try:
            await repo.create(fields, self._clock.now())
        except InvalidInput as err:
            if fields.watermark is None:
                raise
            # The default stream profile copies the picture: it cannot overlay a logo.
            work.notes.append(f"channel {number}: watermark not imported ({err.message})")
            await repo.create(
                ChannelFields(number, fields.name, fields.group, fields.logo), self._clock.now()
            )
        if schedule_id is not None:
            await repo.set_schedule(number, schedule_id, self._clock.now())
        else:
            work.notes.append(f"channel {number}: nothing to schedule; it airs the offline slate")
        work.channels.append(f"{number} {fields.name}")
        work.created_numbers.append(number)

    async def _logo(  # noqa: PLR0911 - each refusal is its own note
        self, work: _Work, channel: ForeignChannel
    ) -> str | None:
        logo = channel.logo
        if logo is None or logo.startswith(("http://", "https://")):
            return logo
        root = work.files_root
        path = (root / logo).resolve() if root is not None else None
        if root is None or path is None or not path.is_relative_to(root.resolve()):
            work.notes.append(f"channel {channel.number}: logo {logo} is not in the export")
            return None
        try:
            data = await asyncio.to_thread(_head, path, LOGO_LIMIT_BYTES + 1)
        except OSError as err:
            work.notes.append(f"channel {channel.number}: logo {logo} unreadable: {err.strerror}")
            return None
        if len(data) > LOGO_LIMIT_BYTES:
            work.notes.append(f"channel {channel.number}: logo {logo} is larger than 5 MiB")
            return None
        if work.dry_run:
            return None
        try:
            return await self._logos.save_upload(data)
        except ExStreamTVError as err:
            work.notes.append(f"channel {channel.number}: logo {logo} not used: {err.message}")
            return None

    async def _build(self, numbers: Iterable[ChannelNumber]) -> list[str]:
        problems = []
        for number in numbers:
            try:
                await self._playouts.build(number, BuildMode.RESET)
            except ExStreamTVError as err:
                problems.append(f"channel {number}: playout not built: {err.message}")
        return problems


def _collection(work: _Work, foreign: ForeignCollection, name: str) -> Collection:
    if foreign.kind is ForeignCollectionKind.SHOW:
        return Collection(0, name, CollectionKind.SHOW, show=foreign.show)
    if foreign.kind is ForeignCollectionKind.SEASON:
        return Collection(0, name, CollectionKind.SEASON, show=foreign.show, season=foreign.season)
    ids: list[int] = []
    for ref in foreign.media:
        match = work.index.match(ref)
        if match.item_id is None:
            work.unmatched.append(Unmatched(name, ref.label, match.reason))
        elif match.item_id not in ids:
            ids.append(match.item_id)
    work.matched += len(ids)
    return Collection(0, name, CollectionKind.MANUAL, item_ids=tuple(ids))


def _schedule_item(
    item: ForeignScheduleItem, collection_ids: list[int], filler: dict[FillerKind, int | None]
) -> ScheduleItem:
    return ScheduleItem(
        ContentSource(tuple(collection_ids), item.order),
        mode=item.mode,
        count=max(1, item.count),
        duration_minutes=item.duration_minutes,
        tail_mode=item.tail_mode,
        fixed_start=item.fixed_start,
        lateness=item.lateness,
        guide_title=item.guide_title,
        filler=FillerSet(
            pre_roll=filler.get(FillerKind.PRE_ROLL),
            mid_roll=filler.get(FillerKind.MID_ROLL),
            post_roll=filler.get(FillerKind.POST_ROLL),
            tail=filler.get(FillerKind.TAIL),
            fallback=filler.get(FillerKind.FALLBACK),
        ),
    )


def _unique_name(base: str, taken: set[str]) -> str:
    name, n = base[:NAME_LIMIT], 2
    while name in taken:
        name = f"{base[: NAME_LIMIT - 8]} ({n})"
        n += 1
    taken.add(name)
    return name


def _seed(name: str) -> int:
    """A stable seed per schedule name, so a re-import shuffles the same way."""
    return zlib.crc32(name.encode())


def _head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` (a huge file is not read whole). Blocking."""
    with path.open("rb") as handle:
        return handle.read(size)

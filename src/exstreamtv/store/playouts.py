"""Playout entries and build records in the database.

Entries are stored with absolute UTC ``start``/``finish`` (whole milliseconds) and indexed
by ``(channel_id, start)``, unique: a channel's entries never share a start. Only the entry
that closes a guide group carries a ``cursor`` (the engine's build state after it), so a
build can resume after any group end. Every time in and out is aware UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.media import MediaState
from exstreamtv.domain.playout import BuildWarning, EntryKind, PlayoutEntry, from_ms, to_ms
from exstreamtv.formats.guide_folding import GuideEntry
from exstreamtv.scheduling.state import BuildState
from exstreamtv.store.tables import (
    ChannelRow,
    MediaItemRow,
    PlayoutEntryRow,
    PlayoutRow,
    epoch_ms,
)

INSERT_CHUNK = 1000  # rows per INSERT: well under SQLite's and asyncpg's parameter limits

_E = PlayoutEntryRow
_TABLE = cast("Table", PlayoutEntryRow.__table__)
_M = MediaItemRow
_ENTRY_COLUMNS = (
    _E.start, _E.finish, _E.kind, _E.media_item_id, _E.in_point_ms, _E.out_point_ms,
    _E.guide_group, _E.guide_title, _E.source, _E.cut,
)  # fmt: skip
_MEDIA_COLUMNS = (_M.title, _M.show, _M.season, _M.episode)


@dataclass(frozen=True, slots=True)
class MediaSummary:
    """What a viewer is told about the media of an entry."""

    title: str
    show: str | None
    season: int | None
    episode: int | None


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """An entry with its media's summary (``None`` for offline or deleted media)."""

    entry: PlayoutEntry
    media: MediaSummary | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the cursor stored on it (``None`` inside a guide group)."""

    entry: PlayoutEntry
    cursor: BuildState | None


@dataclass(frozen=True, slots=True)
class PlayoutInfo:
    """A channel's latest build (``None`` fields before the first) and what is stored.

    ``schedule_id`` is the schedule the latest build used; ``first_start``/``last_finish``
    bound the stored entries (UTC).
    """

    schedule_id: int | None
    last_build_at: datetime | None
    last_mode: str | None
    warnings: tuple[BuildWarning, ...]
    entry_count: int
    first_start: datetime | None
    last_finish: datetime | None


class PlayoutRepository:
    """Playout reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def last_entry(self, channel_id: int) -> StoredEntry | None:
        """The channel's last entry (it always closes a group) with its cursor, if any."""
        stmt = _stored(channel_id).order_by(_E.start.desc()).limit(1)
        return _to_stored((await self._session.execute(stmt)).first())

    async def last_cursor(self, channel_id: int) -> BuildState | None:
        """The cursor after the channel's last entry, or ``None`` for an empty playout."""
        last = await self.last_entry(channel_id)
        return None if last is None else last.cursor

    async def entry_at(self, channel_id: int, moment: datetime) -> ListedEntry | None:
        """The entry with ``start <= moment < finish``, or ``None``.

        One indexed lookup: the latest entry starting at or before ``moment``; its finish
        is checked here rather than in SQL, so an expired playout is not scanned backwards.
        """
        stmt = _listed(channel_id).where(_E.start <= moment).order_by(_E.start.desc()).limit(1)
        found = _to_listed((await self._session.execute(stmt)).first())
        if found is None or found.entry.finish_ms <= to_ms(moment):
            return None
        return found

    async def group_end(self, channel_id: int, guide_group: int) -> StoredEntry | None:
        """The entry closing guide group ``guide_group`` (its last), with its cursor."""
        stmt = (
            _stored(channel_id)
            .where(_E.guide_group == guide_group)
            .order_by(_E.start.desc())
            .limit(1)
        )
        return _to_stored((await self._session.execute(stmt)).first())

    async def entry_before(self, channel_id: int, moment: datetime) -> StoredEntry | None:
        """The last entry starting before ``moment``, with its cursor (``None``: none)."""
        stmt = _stored(channel_id).where(_E.start < moment).order_by(_E.start.desc()).limit(1)
        return _to_stored((await self._session.execute(stmt)).first())

    async def group_start(self, channel_id: int, guide_group: int) -> datetime | None:
        """When guide group ``guide_group`` starts (its first entry's start)."""
        stmt = select(func.min(_E.start)).where(
            _E.channel_id == channel_id, _E.guide_group == guide_group
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def first_unavailable(self, channel_id: int, after: datetime) -> PlayoutEntry | None:
        """The first entry starting at or after ``after`` whose media is missing or was
        deleted (an offline entry has no media and never counts)."""
        stmt = (
            select(*_ENTRY_COLUMNS)
            .outerjoin(_M, _M.id == _E.media_item_id)
            .where(_E.channel_id == channel_id, _E.start >= after, _unavailable())
            .order_by(_E.start)
            .limit(1)
        )
        row = (await self._session.execute(stmt)).first()
        return None if row is None else _entry(row)

    async def channels_with_unavailable(self, after: datetime) -> list[int]:
        """Ids of the channels with an entry starting at or after ``after`` whose media is
        missing or was deleted, in id order."""
        stmt = (
            select(_E.channel_id)
            .distinct()
            .outerjoin(_M, _M.id == _E.media_item_id)
            .where(_E.start >= after, _unavailable())
            .order_by(_E.channel_id)
        )
        return list(await self._session.scalars(stmt))

    async def entries(self, channel_id: int, start: datetime, end: datetime) -> list[ListedEntry]:
        """Entries overlapping ``[start, end)``, ordered by start.

        Entries never overlap, so the only one starting before ``start`` that can reach
        into the window is the one airing at ``start``: the scan begins at its start.
        """
        airing = await self.entry_at(channel_id, start)
        first = airing.entry.start if airing is not None else start
        stmt = _listed(channel_id).where(_E.start >= first, _E.start < end).order_by(_E.start)
        return [_listed_entry(row) for row in await self._session.execute(stmt)]

    async def replace_from(
        self,
        channel_id: int,
        boundary: datetime,
        entries: Sequence[PlayoutEntry],
        cursors: Sequence[BuildState | None],
    ) -> int:
        """Delete the entries starting at or after ``boundary`` and insert ``entries``
        (with ``cursors[i]`` stored on ``entries[i]``); returns how many were deleted."""
        removed = await self._delete(channel_id, _E.start >= boundary)
        # A 48 h horizon of short items is tens of thousands of rows, each with a cursor to
        # serialise: hundreds of ms of CPU, so it is done off the event loop.
        rows = await asyncio.to_thread(_rows, channel_id, entries, cursors)
        for first in range(0, len(rows), INSERT_CHUNK):
            await self._session.execute(insert(_TABLE), rows[first : first + INSERT_CHUNK])
        return removed

    async def trim_before(self, channel_id: int, moment: datetime) -> int:
        """Delete entries that finished before ``moment``; returns how many."""
        # ``start < moment`` is implied and lets the (channel_id, start) index bound the scan.
        return await self._delete(channel_id, _E.start < moment, _E.finish < moment)

    async def record_build(
        self,
        channel_id: int,
        schedule_id: int | None,
        mode: str,
        at: datetime,
        warnings: Sequence[BuildWarning],
    ) -> None:
        """Remember the channel's latest build and its warnings (replacing the previous)."""
        row = await self._session.get(PlayoutRow, channel_id)
        if row is None:
            row = PlayoutRow(channel_id=channel_id)
            self._session.add(row)
        row.schedule_id, row.last_build_at, row.last_mode = schedule_id, at, mode
        row.warnings = [{"code": w.code, "message": w.message} for w in warnings]
        await self._session.flush()

    async def playout_info(self, channel_id: int) -> PlayoutInfo:
        """The latest build record and the extent of the stored entries."""
        row = await self._session.get(PlayoutRow, channel_id)
        stats = await self._session.execute(
            select(func.count(), func.min(_E.start), func.max(_E.finish)).where(
                _E.channel_id == channel_id
            )
        )
        count, first, last = stats.one()
        warnings = tuple(
            BuildWarning(w["code"], w["message"]) for w in (row.warnings if row else ())
        )
        return PlayoutInfo(
            schedule_id=row.schedule_id if row else None,
            last_build_at=row.last_build_at if row else None,
            last_mode=row.last_mode if row else None,
            warnings=warnings,
            entry_count=int(count),
            first_start=first,
            last_finish=last,
        )

    async def all_entries(self, start: datetime, end: datetime) -> dict[int, list[PlayoutEntry]]:
        """Every channel's entries overlapping ``[start, end)``, by channel id, in order.

        Times come back from the database as epoch milliseconds and rows map
        positionally (no per-row datetimes); rows become entries in a worker thread.
        """
        stmt = (
            select(
                _E.channel_id, epoch_ms(_E.start), epoch_ms(_E.finish), _E.kind,
                _E.media_item_id, _E.in_point_ms, _E.out_point_ms, _E.guide_group,
                _E.guide_title, _E.source, _E.cut,
            )
            .where(_E.finish > start, _E.start < end)
            .order_by(_E.channel_id, _E.start)
        )  # fmt: skip
        return await asyncio.to_thread(_entries_by_channel, await self._rows(stmt))

    async def guide_entries(
        self, start: datetime, end: datetime, channel_ids: Sequence[int] | None = None
    ) -> dict[int, list[GuideEntry]]:
        """What the guide folds of the entries overlapping ``[start, end)`` (of every
        channel, or of ``channel_ids``), by channel id, each channel's in order.

        The guide reads every row of its window, hundreds of thousands: only the columns
        it folds, times as epoch milliseconds, and plain tuples made in a worker thread.
        """
        stmt = (
            select(
                _E.channel_id, epoch_ms(_E.start), epoch_ms(_E.finish), _E.kind,
                _E.media_item_id, _E.guide_group, _E.guide_title,
            )
            .where(_E.finish > start, _E.start < end)
            .order_by(_E.channel_id, _E.start)
        )  # fmt: skip
        if channel_ids is not None:
            stmt = stmt.where(_E.channel_id.in_(channel_ids))
        return await asyncio.to_thread(_guide_entries, await self._rows(stmt))

    async def channels_playing(
        self, media_ids: Iterable[int], after: datetime
    ) -> dict[int, set[int]]:
        """The channels with an entry of these media finishing after ``after``, each with
        the ones it plays, by channel id."""
        wanted = sorted(set(media_ids))
        found: dict[int, set[int]] = {}
        for at in range(0, len(wanted), INSERT_CHUNK):  # bounded query parameters
            stmt = (
                select(_E.channel_id, _E.media_item_id)
                .distinct()
                .where(_E.media_item_id.in_(wanted[at : at + INSERT_CHUNK]), _E.finish > after)
            )
            for channel_id, media_id in await self._session.execute(stmt):
                if media_id is not None:  # the column is nullable; these rows name one
                    found.setdefault(channel_id, set()).add(media_id)
        return found

    async def channels_with_entries(
        self, start: datetime, end: datetime, among: Sequence[int] | None = None
    ) -> set[int]:
        """The ids of channels (``among`` these, when given) that have an entry
        overlapping ``[start, end)``."""
        overlapping = select(_E.id).where(
            _E.channel_id == ChannelRow.id, _E.start < end, _E.finish > start
        )
        stmt = select(ChannelRow.id).where(overlapping.exists())
        if among is None:
            return set((await self._session.scalars(stmt)).all())
        found: set[int] = set()
        for at in range(0, len(among), INSERT_CHUNK):
            chunk = list(among[at : at + INSERT_CHUNK])
            found.update(await self._session.scalars(stmt.where(ChannelRow.id.in_(chunk))))
        return found

    async def _rows(self, stmt: Select[*tuple[Any, ...]]) -> Iterable[Any]:
        """The rows of ``stmt``, fetched but not yet made into Row objects.

        A Core result over the connection: its rows become Row objects only when read,
        so callers read it in a worker thread (an ORM result would build them all on the
        event loop)."""
        connection = await self._session.connection()
        return await connection.execute(stmt)

    async def window_entries(
        self, channel_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, list[PlayoutEntry]]:
        """The entries of ``channel_ids`` overlapping ``[start, end)``, by channel id in
        order, with the guide groups cut by either edge completed, and the group on each
        side of them too (a programme's listing may end with the next group's pre-roll), in
        two indexed queries; so a programme that starts before ``start`` or ends after
        ``end`` keeps its true times."""
        if not channel_ids:
            return {}
        found = await self._entry_rows(
            _E.channel_id.in_(list(channel_ids)), _E.finish > start, _E.start < end
        )
        edges = {
            (channel, group)
            for channel, entries in found.items()
            for group in (entries[0].guide_group - 1, entries[0].guide_group,
                          entries[-1].guide_group, entries[-1].guide_group + 1)
        }  # fmt: skip
        if edges:
            whole = await self._entry_rows(tuple_(_E.channel_id, _E.guide_group).in_(edges))
            for channel, entries in whole.items():
                merged = {e.start_ms: e for e in (*found[channel], *entries)}
                found[channel] = [merged[key] for key in sorted(merged)]
        return found

    async def _entry_rows(self, *where: Any) -> dict[int, list[PlayoutEntry]]:
        rows = await self._session.execute(
            select(
                _E.channel_id, epoch_ms(_E.start), epoch_ms(_E.finish), _E.kind,
                _E.media_item_id, _E.in_point_ms, _E.out_point_ms, _E.guide_group,
                _E.guide_title, _E.source,
            )
            .where(*where)
            .order_by(_E.channel_id, _E.start)
        )  # fmt: skip
        found: dict[int, list[PlayoutEntry]] = {}
        for channel, start_ms, finish_ms, kind, *rest in rows:
            found.setdefault(channel, []).append(
                PlayoutEntry(start_ms, finish_ms, _KINDS[kind], *rest)
            )
        return found

    async def _delete(self, channel_id: int, *where: Any) -> int:
        stmt = delete(_E).where(_E.channel_id == channel_id, *where)
        result = await self._session.execute(stmt.execution_options(synchronize_session=False))
        return int(cast("CursorResult[Any]", result).rowcount)


def _listed(channel_id: int) -> Select[*tuple[Any, ...]]:
    return (
        select(*_ENTRY_COLUMNS, *_MEDIA_COLUMNS)
        .outerjoin(_M, _M.id == _E.media_item_id)
        .where(_E.channel_id == channel_id)
    )


def _stored(channel_id: int) -> Select[*tuple[Any, ...]]:
    return select(*_ENTRY_COLUMNS, _E.cursor).where(_E.channel_id == channel_id)


_KINDS = {kind.value: kind for kind in EntryKind}  # a dict lookup beats Enum() per row


def _guide_entries(rows: Iterable[Any]) -> dict[int, list[GuideEntry]]:
    found: dict[int, list[GuideEntry]] = {}
    kinds = _KINDS
    entries: list[GuideEntry] = []
    current = None
    for channel, start_ms, finish_ms, kind, media_id, group, title in rows:
        if channel != current:
            entries = found[channel] = []
            current = channel
        entries.append((start_ms, finish_ms, kinds[kind], media_id, group, title))
    return found


def _entries_by_channel(rows: Iterable[Any]) -> dict[int, list[PlayoutEntry]]:
    found: dict[int, list[PlayoutEntry]] = {}
    kinds = _KINDS
    for channel, start_ms, finish_ms, kind, *rest in rows:
        entries = found.get(channel)
        if entries is None:
            entries = found[channel] = []
        entries.append(PlayoutEntry(start_ms, finish_ms, kinds[kind], *rest))
    return found


def _entry(row: Any) -> PlayoutEntry:
    return PlayoutEntry(
        start_ms=to_ms(row.start),
        finish_ms=to_ms(row.finish),
        kind=_KINDS[row.kind],
        media_id=row.media_item_id,
        in_point_ms=row.in_point_ms,
        out_point_ms=row.out_point_ms,
        guide_group=row.guide_group,
        guide_title=row.guide_title,
        source=row.source,
        cut=row.cut,
    )


def _unavailable() -> ColumnElement[bool]:
    """Rows (of entries outer-joined to their media) whose media is missing or deleted."""
    deleted = and_(_E.media_item_id.is_(None), _E.kind != EntryKind.OFFLINE.value)
    return or_(_M.state == MediaState.MISSING.value, deleted)


def _listed_entry(row: Any) -> ListedEntry:
    media = None
    if row.title is not None:
        media = MediaSummary(row.title, row.show, row.season, row.episode)
    return ListedEntry(_entry(row), media)


def _to_listed(row: Any) -> ListedEntry | None:
    return None if row is None else _listed_entry(row)


def _to_stored(row: Any) -> StoredEntry | None:
    if row is None:
        return None
    cursor = None if row.cursor is None else BuildState.from_json(row.cursor)
    return StoredEntry(_entry(row), cursor)


def _rows(
    channel_id: int, entries: Sequence[PlayoutEntry], cursors: Sequence[BuildState | None]
) -> list[dict[str, Any]]:
    return [_row_values(channel_id, e, c) for e, c in zip(entries, cursors, strict=True)]


def _row_values(channel_id: int, entry: PlayoutEntry, cursor: BuildState | None) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "start": from_ms(entry.start_ms),
        "finish": from_ms(entry.finish_ms),
        "kind": entry.kind.value,
        "media_item_id": entry.media_id,
        "in_point_ms": entry.in_point_ms,
        "out_point_ms": entry.out_point_ms,
        "guide_group": entry.guide_group,
        "guide_title": entry.guide_title,
        "source": entry.source,
        "cut": entry.cut,
        "cursor": None if cursor is None else cursor.to_json(),
    }

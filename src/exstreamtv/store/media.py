"""Media items in the database: cheap change detection, batched upserts, and search.

Rows map to :class:`~exstreamtv.domain.media.MediaItem` values; nothing outside ``store``
sees a row object.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.collections import CollectionSummary, SmartQuery
from exstreamtv.domain.guide import GuideMedia
from exstreamtv.domain.media import (
    Artwork,
    Chapter,
    FileStamp,
    MediaItem,
    MediaKind,
    MediaMetadata,
    MediaState,
    MetadataSource,
    MetadataStatus,
    ScannedFile,
    TechnicalInfo,
)
from exstreamtv.domain.metadata_health import MetadataSample
from exstreamtv.store.media_search import Field, days_ago, text_match
from exstreamtv.store.tables import MediaItemRow

_LIKE_ESCAPE = "\\"
GUIDE_MEDIA_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class KnownFile:
    """What the database knows about a path, for deciding whether to re-probe it."""

    id: int
    stamp: FileStamp
    state: MediaState


@dataclass(frozen=True, slots=True)
class MediaFilter:
    """Filters of the media listing. ``None`` fields do not filter."""

    library_id: int | None = None
    kind: MediaKind | None = None
    show: str | None = None
    status: MetadataStatus | None = None
    state: MediaState | None = None
    text: str | None = None


class MediaRepository:
    """Media item reads and writes within one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def known_files(self, library_id: int) -> dict[str, KnownFile]:
        """Every stored path of the library with its stamp and state (one query)."""
        rows = await self._session.execute(
            select(
                MediaItemRow.path,
                MediaItemRow.id,
                MediaItemRow.size,
                MediaItemRow.mtime_ns,
                MediaItemRow.state,
            ).where(MediaItemRow.library_id == library_id)
        )
        return {
            path: KnownFile(id_, FileStamp(size, mtime), MediaState(state))
            for path, id_, size, mtime, state in rows
        }

    async def save_scanned(
        self,
        library_id: int,
        files: Sequence[ScannedFile],
        known: Mapping[str, KnownFile],
        now: datetime,
        extra: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert new files and overwrite changed ones (by path), marking them present.

        ``extra`` adds column values per path (a media server's item id and stream key)."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for scanned in files:
            values = _row_values(scanned, now)
            if extra is not None:
                values.update(extra.get(scanned.path, {}))
            previous = known.get(scanned.path)
            if previous is None:
                inserts.append({**values, "library_id": library_id, "created_at": now})
            else:
                updates.append({**values, "id": previous.id})
        if inserts:
            self._session.add_all(MediaItemRow(**values) for values in inserts)
            await self._session.flush()
        if updates:
            await self._session.execute(update(MediaItemRow), updates)

    async def mark_missing(
        self, ids: Iterable[int], now: datetime, reason: str | None = None
    ) -> None:
        """Mark items whose files vanished as missing (kept: a playout may reference them),
        saying how they were found missing (``reason``, for people)."""
        await self._set_state(ids, MediaState.MISSING, missing_since=now, now=now, reason=reason)

    async def mark_present(self, ids: Iterable[int], now: datetime) -> None:
        """Mark items whose unchanged files reappeared as present again."""
        await self._set_state(ids, MediaState.PRESENT, missing_since=None, now=now)

    async def _set_state(
        self,
        ids: Iterable[int],
        state: MediaState,
        *,
        missing_since: datetime | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        id_list = list(ids)
        for start in range(0, len(id_list), 500):
            await self._session.execute(
                update(MediaItemRow)
                .where(MediaItemRow.id.in_(id_list[start : start + 500]))
                .values(
                    state=state.value,
                    missing_since=missing_since,
                    missing_reason=reason,
                    updated_at=now,
                )
            )

    async def get(self, item_id: int) -> MediaItem | None:
        row = await self._session.get(MediaItemRow, item_id)
        return to_media_item(row) if row else None

    async def search(
        self, where: MediaFilter, offset: int, limit: int
    ) -> tuple[list[MediaItem], int]:
        """A page of items matching ``where`` (ordered by show, season, episode, title, id)
        and the total number of matches."""
        return await self._page(select(MediaItemRow).where(*_filter_clauses(where)), offset, limit)

    async def smart(
        self,
        query: SmartQuery,
        offset: int = 0,
        limit: int | None = None,
        state: MediaState | None = None,
    ) -> tuple[list[MediaItem], int]:
        """Items matching a smart-collection query (in ``state`` when given; see
        :func:`smart_clauses`), in episode/title order, and how many match."""
        stmt = select(MediaItemRow).where(*smart_clauses(query, state))
        return await self._page(stmt, offset, limit)

    async def summary(self, query: SmartQuery) -> CollectionSummary:
        """How many items match a smart query and their total duration (one query)."""
        stmt = select(func.count(), func.coalesce(func.sum(MediaItemRow.duration_ms), 0)).where(
            *smart_clauses(query)
        )
        count, duration = (await self._session.execute(stmt)).one()
        return CollectionSummary(int(count), int(duration))

    async def by_ids(self, ids: Sequence[int], state: MediaState | None = None) -> list[MediaItem]:
        """Items with these ids (in ``state`` when given), in the order given (unknown
        ids are skipped)."""
        stmt = select(MediaItemRow).where(MediaItemRow.id.in_(ids))
        if state is not None:
            stmt = stmt.where(MediaItemRow.state == state.value)
        rows = await self._session.scalars(stmt)
        by_id = {row.id: row for row in rows}
        return [to_media_item(by_id[i]) for i in ids if i in by_id]

    async def health_samples(
        self, ids: Sequence[int] | None = None, *, after_id: int = 0, limit: int | None = None
    ) -> dict[int, MetadataSample]:
        """Metadata-health samples by item id: of ``ids`` (unknown ids skipped), or of the
        present items with an id above ``after_id`` (at most ``limit``, in id order) when
        ``ids`` is ``None``. Reads only the columns health needs."""
        stmt = select(
            MediaItemRow.id, MediaItemRow.kind, MediaItemRow.title, MediaItemRow.metadata_status,
            MediaItemRow.metadata_source, MediaItemRow.metadata_reason, MediaItemRow.probed,
            MediaItemRow.episode, MediaItemRow.year,
        )  # fmt: skip
        if ids is None:
            stmt = stmt.where(
                MediaItemRow.state == MediaState.PRESENT.value, MediaItemRow.id > after_id
            ).order_by(MediaItemRow.id)
            if limit is not None:
                stmt = stmt.limit(limit)
        else:
            stmt = stmt.where(MediaItemRow.id.in_(ids))
        rows = await self._session.execute(stmt)
        return {
            id_: MetadataSample(
                MediaKind(kind),
                title,
                MetadataStatus(status),
                MetadataSource(source),
                reason,
                probed,
                episode,
                year,
            )
            for id_, kind, title, status, source, reason, probed, episode, year in rows
        }

    async def guide_media(self, ids: Sequence[int]) -> dict[int, GuideMedia]:
        """What the guide shows of the items with these ids (unknown ids skipped). Reads
        only those columns, ``GUIDE_MEDIA_CHUNK`` ids a query (bounded parameters), and
        makes the values in a worker thread."""
        m = MediaItemRow
        found: dict[int, GuideMedia] = {}
        connection = await self._session.connection()
        for at in range(0, len(ids), GUIDE_MEDIA_CHUNK):
            stmt = select(
                m.id, m.title, m.kind, m.show, m.season, m.episode, m.year, m.plot, m.genres,
                m.content_rating,
            ).where(m.id.in_(ids[at : at + GUIDE_MEDIA_CHUNK]))  # fmt: skip
            result = await connection.execute(stmt)
            found.update(await asyncio.to_thread(_guide_media, result))
        return found

    async def stamp(self) -> tuple[int, datetime | None]:
        """How many items there are and when the latest changed: any insert, edit or
        delete of an item changes it."""
        stmt = select(func.count(), func.max(MediaItemRow.updated_at))
        count, latest = (await self._session.execute(stmt)).one()
        return int(count), latest

    async def _page(
        self, stmt: Select[MediaItemRow], offset: int, limit: int | None
    ) -> tuple[list[MediaItem], int]:
        total = await self._session.scalar(select(func.count()).select_from(stmt.subquery()))
        ordered = stmt.order_by(
            MediaItemRow.show.asc().nulls_first(),
            MediaItemRow.season,
            MediaItemRow.episode,
            MediaItemRow.title,
            MediaItemRow.id,
        ).offset(offset)
        if limit is not None:
            ordered = ordered.limit(limit)
        rows = await self._session.scalars(ordered)
        return [to_media_item(row) for row in rows], int(total or 0)


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return func.lower(column).like(f"%{escaped}%", escape=_LIKE_ESCAPE)


def _text_clause(text: str) -> ColumnElement[bool]:
    return or_(
        _contains(MediaItemRow.title, text),
        _contains(MediaItemRow.show, text),
        _contains(MediaItemRow.plot, text),
    )


def _filter_clauses(where: MediaFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.library_id is not None:
        clauses.append(MediaItemRow.library_id == where.library_id)
    if where.kind is not None:
        clauses.append(MediaItemRow.kind == where.kind.value)
    if where.show is not None:
        clauses.append(func.lower(MediaItemRow.show) == where.show.lower())
    if where.status is not None:
        clauses.append(MediaItemRow.metadata_status == where.status.value)
    if where.state is not None:
        clauses.append(MediaItemRow.state == where.state.value)
    if where.text:
        clauses.append(_text_clause(where.text))
    return clauses


def smart_clauses(query: SmartQuery, state: MediaState | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions for a smart query (see :class:`SmartQuery`); every filter runs in the
    database. Only items in ``state`` match when it is given; otherwise only present items,
    unless ``query.states`` says which."""
    states = (state,) if state is not None else query.states or (MediaState.PRESENT,)
    clauses: list[ColumnElement[bool]] = [MediaItemRow.state.in_([s.value for s in states])]
    if query.kinds:
        clauses.append(MediaItemRow.kind.in_([k.value for k in query.kinds]))
    if query.text:
        clauses.append(text_match(query.text))
    if query.title:
        clauses.append(text_match(query.title, Field.TITLE))
    if query.show:
        clauses.append(func.lower(MediaItemRow.show) == query.show.lower())
    if query.season is not None:
        clauses.append(MediaItemRow.season == query.season)
    if query.genres:
        clauses.append(or_(*(_contains(MediaItemRow.genre_index, f"|{g}|") for g in query.genres)))
    clauses.extend(_range(MediaItemRow.year, query.year_min, query.year_max))
    clauses.extend(
        _range(
            MediaItemRow.duration_ms,
            None if query.duration_min_sec is None else query.duration_min_sec * 1000,
            None if query.duration_max_sec is None else query.duration_max_sec * 1000 + 999,
        )
    )
    clauses.extend(_added(query))
    if query.content_ratings:
        clauses.append(MediaItemRow.content_rating.in_(query.content_ratings))
    if query.library_ids:
        clauses.append(MediaItemRow.library_id.in_(query.library_ids))
    if query.statuses:
        clauses.append(MediaItemRow.metadata_status.in_([s.value for s in query.statuses]))
    return [and_(*clauses)]


def _range(column: Any, low: int | None, high: int | None) -> list[ColumnElement[bool]]:
    """Inclusive bounds on ``column`` (``None``: unbounded on that side)."""
    found: list[ColumnElement[bool]] = []
    if low is not None:
        found.append(column >= low)
    if high is not None:
        found.append(column <= high)
    return found


def _added(query: SmartQuery) -> list[ColumnElement[bool]]:
    """ "Added" filters on ``created_at``: whole UTC days, and the last N days."""
    found: list[ColumnElement[bool]] = []
    if query.added_after is not None:
        found.append(MediaItemRow.created_at >= _midnight(query.added_after))
    if query.added_before is not None:
        found.append(MediaItemRow.created_at < _midnight(query.added_before + timedelta(days=1)))
    if query.added_within_days is not None:
        found.append(MediaItemRow.created_at >= days_ago(query.added_within_days))
    return found


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _guide_media(rows: Iterable[Any]) -> dict[int, GuideMedia]:
    return {
        id_: GuideMedia(title, kind, show, season, episode, year, plot, tuple(genres or ()), rating)
        for id_, title, kind, show, season, episode, year, plot, genres, rating in rows
    }


def _row_values(scanned: ScannedFile, now: datetime) -> dict[str, Any]:
    meta, tech = scanned.metadata, scanned.technical
    values: dict[str, Any] = {
        "path": scanned.path,
        "size": scanned.stamp.size,
        "mtime_ns": scanned.stamp.mtime_ns,
        "state": MediaState.PRESENT.value,
        "missing_since": None,
        "kind": meta.kind.value,
        "title": meta.title,
        "show": meta.show,
        "season": meta.season,
        "episode": meta.episode,
        "year": meta.year,
        "plot": meta.plot,
        "genres": list(meta.genres),
        "genre_index": "".join(f"|{g.lower()}" for g in meta.genres) + "|" if meta.genres else "",
        "content_rating": meta.content_rating,
        "poster": meta.artwork.poster,
        "thumb": meta.artwork.thumb,
        "fanart": meta.artwork.fanart,
        "external_ids": dict(meta.external_ids),
        "metadata_status": meta.status.value,
        "metadata_source": meta.source.value,
        "metadata_reason": meta.reason,
        "updated_at": now,
        "probed": tech is not None,
    }
    values.update(_technical_values(tech))
    return values


def _technical_values(tech: TechnicalInfo | None) -> dict[str, Any]:
    if tech is None:
        tech = TechnicalInfo(duration_ms=0)
    return {
        "duration_ms": tech.duration_ms,
        "container": tech.container,
        "video_codec": tech.video_codec,
        "width": tech.width,
        "height": tech.height,
        "fps": tech.fps,
        "pixel_format": tech.pixel_format,
        "audio_codec": tech.audio_codec,
        "audio_channels": tech.audio_channels,
        "sample_rate": tech.sample_rate,
        "chapters": [[c.start_ms, c.end_ms, c.title] for c in tech.chapters],
    }


def to_media_item(row: MediaItemRow) -> MediaItem:
    """Map a row to its domain value."""
    technical = None
    if row.probed:
        technical = TechnicalInfo(
            duration_ms=row.duration_ms,
            container=row.container,
            video_codec=row.video_codec,
            width=row.width,
            height=row.height,
            fps=row.fps,
            pixel_format=row.pixel_format,
            audio_codec=row.audio_codec,
            audio_channels=row.audio_channels,
            sample_rate=row.sample_rate,
            chapters=tuple(Chapter(int(a), int(b), t) for a, b, t in row.chapters or ()),
            live=row.kind == MediaKind.LIVE.value,
        )
    metadata = MediaMetadata(
        kind=MediaKind(row.kind),
        title=row.title,
        status=MetadataStatus(row.metadata_status),
        source=MetadataSource(row.metadata_source),
        reason=row.metadata_reason,
        show=row.show,
        season=row.season,
        episode=row.episode,
        year=row.year,
        plot=row.plot,
        genres=tuple(row.genres or ()),
        content_rating=row.content_rating,
        artwork=Artwork(poster=row.poster, thumb=row.thumb, fanart=row.fanart),
        external_ids=tuple(sorted((row.external_ids or {}).items())),
    )
    return MediaItem(
        id=row.id,
        library_id=row.library_id,
        path=row.path,
        stamp=FileStamp(row.size, row.mtime_ns),
        state=MediaState(row.state),
        metadata=metadata,
        technical=technical,
        missing_since=row.missing_since,
        missing_reason=row.missing_reason,
    )

"""Media items by metadata status: what the metadata tools work on and count.

A *scope* is a channel row id (the present items its playout references) or ``None``
(every present item). Only present items count: a missing file cannot be re-read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.media import MediaItem, MediaState, MetadataStatus
from exstreamtv.store.media import to_media_item
from exstreamtv.store.tables import MediaItemRow, PlayoutEntryRow

NEEDS_WORK = (MetadataStatus.PLACEHOLDER.value, MetadataStatus.FAILED.value)


def _in_scope(channel_id: int | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [MediaItemRow.state == MediaState.PRESENT.value]
    if channel_id is not None:
        used = select(PlayoutEntryRow.media_item_id).where(
            PlayoutEntryRow.channel_id == channel_id, PlayoutEntryRow.media_item_id.is_not(None)
        )
        clauses.append(MediaItemRow.id.in_(used))
    return clauses


class MediaStatusRepository:
    """Reads within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def needing_work(
        self, channel_id: int | None, limit: int, *, unprobed: bool = False
    ) -> list[MediaItem]:
        """Items whose metadata is a placeholder or failed (``unprobed``: items with no
        probe result instead), oldest update first, at most ``limit``."""
        wanted = (
            MediaItemRow.probed.is_(False)
            if unprobed
            else MediaItemRow.metadata_status.in_(NEEDS_WORK)
        )
        stmt: Select[MediaItemRow] = (
            select(MediaItemRow)
            .where(and_(*_in_scope(channel_id), wanted))
            .order_by(MediaItemRow.updated_at, MediaItemRow.id)
            .limit(limit)
        )
        return [to_media_item(row) for row in await self._session.scalars(stmt)]

    async def counts(self, channel_id: int | None) -> dict[str, int]:
        """Present items by metadata status, plus ``unprobed`` (never probed)."""
        rows = await self._session.execute(
            select(MediaItemRow.metadata_status, func.count())
            .where(*_in_scope(channel_id))
            .group_by(MediaItemRow.metadata_status)
        )
        found = {status.value: 0 for status in MetadataStatus}
        found.update({status: int(count) for status, count in rows})
        unprobed = await self._session.scalar(
            select(func.count()).where(*_in_scope(channel_id), MediaItemRow.probed.is_(False))
        )
        found["unprobed"] = int(unprobed or 0)
        return found

    async def reasons(self, channel_id: int | None, limit: int) -> Sequence[tuple[str, int]]:
        """The commonest reasons recorded for placeholder or failed items, with counts."""
        reason = func.coalesce(MediaItemRow.metadata_reason, MediaItemRow.metadata_status)
        rows = await self._session.execute(
            select(reason, func.count())
            .where(
                *_in_scope(channel_id),
                or_(MediaItemRow.metadata_status.in_(NEEDS_WORK), MediaItemRow.probed.is_(False)),
            )
            .group_by(reason)
            .order_by(func.count().desc(), reason)
            .limit(limit)
        )
        return [(str(text), int(count)) for text, count in rows]

"""Listings of live items (their source guide's programmes) in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.guide import GuideMedia
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.media import MediaKind
from exstreamtv.domain.playout import from_ms
from exstreamtv.store.tables import LiveListingRow, MediaItemRow, epoch_ms

_CHUNK = 500


class ListingRepository:
    """Reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(
        self, library_id: int, listings: Mapping[int, Sequence[Listing]]
    ) -> dict[int, list[Listing]]:
        """Make ``listings`` (by item id) the listings of the library's items: every other
        listing of the library is removed. Returns the listings replaced, by item, by start
        (what changed is for the caller to judge: see ``domain.listings.first_change``)."""
        items = select(MediaItemRow.id).where(MediaItemRow.library_id == library_id)
        before = await self._read(LiveListingRow.media_item_id.in_(items))
        await self._session.execute(
            delete(LiveListingRow).where(LiveListingRow.media_item_id.in_(items))
        )
        self._session.add_all(
            LiveListingRow(
                media_item_id=item_id,
                start=from_ms(listing.start_ms),
                stop=from_ms(listing.stop_ms),
                title=listing.title,
                sub_title=listing.sub_title,
                description=listing.description,
                categories=list(listing.categories),
            )
            for item_id, found in listings.items()
            for listing in found
        )
        await self._session.flush()
        return before

    async def live(
        self, media: Mapping[int, GuideMedia], start: datetime, end: datetime
    ) -> dict[int, list[Listing]]:
        """The listings overlapping ``[start, end)`` of the live items among ``media`` (a
        relayed channel's own guide, shown in place of the relay's programme)."""
        wanted = [item_id for item_id, m in media.items() if m.kind == MediaKind.LIVE.value]
        return await self.between(wanted, start, end)

    async def between(
        self, item_ids: Iterable[int], start: datetime, end: datetime
    ) -> dict[int, list[Listing]]:
        """Listings of these items overlapping ``[start, end)``, by item, by start."""
        wanted = sorted(set(item_ids))
        found: dict[int, list[Listing]] = {}
        for at in range(0, len(wanted), _CHUNK):
            chunk = await self._read(
                LiveListingRow.media_item_id.in_(wanted[at : at + _CHUNK]),
                LiveListingRow.stop > start,
                LiveListingRow.start < end,
            )
            found.update(chunk)
        return found

    async def _read(self, *where: ColumnElement[bool]) -> dict[int, list[Listing]]:
        """The listings ``where`` selects, by item, by start."""
        rows = await self._session.execute(
            select(
                LiveListingRow.media_item_id, epoch_ms(LiveListingRow.start),
                epoch_ms(LiveListingRow.stop), LiveListingRow.title, LiveListingRow.sub_title,
                LiveListingRow.description, LiveListingRow.categories,
            )
            .where(*where)
            .order_by(LiveListingRow.media_item_id, LiveListingRow.start)
        )  # fmt: skip
        found: dict[int, list[Listing]] = {}
        for item_id, start_ms, stop_ms, title, sub, desc, categories in rows:
            found.setdefault(item_id, []).append(
                Listing(start_ms, stop_ms, title, sub, desc, tuple(categories or ()))
            )
        return found

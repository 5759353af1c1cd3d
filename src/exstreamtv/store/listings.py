"""Listings of live items (their source guide's programmes) in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.listings import Listing
from exstreamtv.domain.playout import from_ms
from exstreamtv.store.tables import LiveListingRow, MediaItemRow, epoch_ms

_CHUNK = 500


class ListingRepository:
    """Reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(self, library_id: int, listings: Mapping[int, Sequence[Listing]]) -> None:
        """Make ``listings`` (by item id) the listings of the library's items: every other
        listing of the library is removed."""
        items = select(MediaItemRow.id).where(MediaItemRow.library_id == library_id)
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

    async def between(
        self, item_ids: Iterable[int], start: datetime, end: datetime
    ) -> dict[int, list[Listing]]:
        """Listings of these items overlapping ``[start, end)``, by item, by start."""
        wanted = sorted(set(item_ids))
        found: dict[int, list[Listing]] = {}
        for at in range(0, len(wanted), _CHUNK):
            rows = await self._session.execute(
                select(
                    LiveListingRow.media_item_id, epoch_ms(LiveListingRow.start),
                    epoch_ms(LiveListingRow.stop), LiveListingRow.title,
                    LiveListingRow.sub_title, LiveListingRow.description,
                    LiveListingRow.categories,
                )
                .where(
                    LiveListingRow.media_item_id.in_(wanted[at : at + _CHUNK]),
                    LiveListingRow.stop > start,
                    LiveListingRow.start < end,
                )
                .order_by(LiveListingRow.media_item_id, LiveListingRow.start)
            )  # fmt: skip
            for item_id, start_ms, stop_ms, title, sub, desc, categories in rows:
                found.setdefault(item_id, []).append(
                    Listing(start_ms, stop_ms, title, sub, desc, tuple(categories or ()))
                )
        return found

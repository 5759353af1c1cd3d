"""What the library holds, by the names a sentence may use: present items per kind, per
show and per genre (the channel-from-a-sentence planner's vocabulary).

Three grouped queries; genre names come from one representative item per distinct genre
combination, so the work grows with the number of combinations, not of items.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.channel_plans import LibraryFacets
from exstreamtv.domain.media import MediaKind, MediaState
from exstreamtv.store.tables import MediaItemRow

MAX_SHOWS = 5000  # the most common shows, when a library has more
MAX_GENRE_SETS = 5000

_PRESENT = MediaItemRow.state == MediaState.PRESENT.value


class MediaFacetRepository:
    """Reads within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def facets(self) -> LibraryFacets:
        kinds = await self._session.execute(
            select(MediaItemRow.kind, func.count()).where(_PRESENT).group_by(MediaItemRow.kind)
        )
        count = func.count().label("n")
        shows = await self._session.execute(
            select(MediaItemRow.show, count)
            .where(_PRESENT, MediaItemRow.show.is_not(None), MediaItemRow.show != "")
            .group_by(MediaItemRow.show)
            .order_by(count.desc(), MediaItemRow.show)
            .limit(MAX_SHOWS)
        )
        return LibraryFacets(
            genres=await self._genres(),
            shows={str(show): int(n) for show, n in shows},
            kinds={MediaKind(kind): int(n) for kind, n in kinds if kind in _KINDS},
        )

    async def _genres(self) -> dict[str, int]:
        sets = await self._session.execute(
            select(func.min(MediaItemRow.id), func.count())
            .where(_PRESENT, MediaItemRow.genre_index != "")
            .group_by(MediaItemRow.genre_index)
            .limit(MAX_GENRE_SETS)
        )
        counts = {int(item): int(n) for item, n in sets}
        if not counts:
            return {}
        rows = await self._session.execute(
            select(MediaItemRow.id, MediaItemRow.genres).where(MediaItemRow.id.in_(counts))
        )
        found: Counter[str] = Counter()
        for item, genres in rows:
            for genre in genres or ():
                found[str(genre)] += counts[int(item)]
        return dict(found)


_KINDS = frozenset(kind.value for kind in MediaKind)

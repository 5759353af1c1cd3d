"""``/api/media``: browsing and searching scanned media items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from exstreamtv.domain.media import MediaKind, MediaState, MetadataStatus
from exstreamtv.store.media import MediaFilter
from exstreamtv.web.deps import ContainerDep, IdPath, PageDep, require_admin
from exstreamtv.web.schemas import MAX_ID, MediaItemOut, Page, media_page

router = APIRouter(prefix="/api/media", tags=["media"], dependencies=[Depends(require_admin)])


def media_filter(
    *,
    library_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: MediaKind | None = None,
    show: Annotated[str | None, Query(max_length=200)] = None,
    status: MetadataStatus | None = None,
    state: MediaState | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Matched literally in title, show, plot.")
    ] = None,
) -> MediaFilter:
    """The listing's filters; unset ones do not filter."""
    return MediaFilter(
        library_id=library_id, kind=kind, show=show, status=status, state=state, text=q
    )


@router.get("")
async def list_media(
    where: Annotated[MediaFilter, Depends(media_filter)], page: PageDep, app: ContainerDep
) -> Page[MediaItemOut]:
    """A page of items ordered by show, season, episode, title; ``total`` counts all matches."""
    items, total = await app.catalog.search(where, page.offset, page.limit)
    return media_page(items, total, page.offset, page.limit)


@router.get("/{item_id}")
async def get_media(item_id: IdPath, app: ContainerDep) -> MediaItemOut:
    return MediaItemOut.of(await app.catalog.item(item_id))

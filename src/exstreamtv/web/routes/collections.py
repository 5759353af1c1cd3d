"""``/api/collections``: manual, show, season, library, smart and multi collections."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from exstreamtv.web.deps import ContainerDep, IdPath, PageDep, require_admin
from exstreamtv.web.schemas import (
    CollectionIn,
    CollectionOut,
    CollectionSummaryOut,
    MediaItemOut,
    Page,
    PreviewOut,
    SmartQueryIn,
    media_page,
)

router = APIRouter(
    prefix="/api/collections", tags=["collections"], dependencies=[Depends(require_admin)]
)


@router.get("")
async def list_collections(app: ContainerDep) -> list[CollectionOut]:
    """Every collection, by name (automatic ones included, marked ``automatic``)."""
    return [CollectionOut.of(c) for c in await app.catalog.collections()]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_collection(body: CollectionIn, app: ContainerDep) -> CollectionOut:
    """Create a collection; 409 when the name is taken, 422 for unknown item or member
    ids (or a multi-collection among the members)."""
    return CollectionOut.of(await app.catalog.create_collection(body.to_domain()))


@router.post("/preview")
async def preview(body: SmartQueryIn, page: PageDep, app: ContainerDep) -> PreviewOut:
    """What a smart query would hold right now, without saving it: a page of the items,
    how many match in all (``total``) and their total duration."""
    items, summary = await app.catalog.preview(body.to_domain(), page.offset, page.limit)
    listed = media_page(items, summary.count, page.offset, page.limit)
    return PreviewOut(**dict(listed), duration_ms=summary.duration_ms)


@router.get("/{collection_id}")
async def get_collection(collection_id: IdPath, app: ContainerDep) -> CollectionOut:
    return CollectionOut.of(await app.catalog.collection(collection_id))


@router.put("/{collection_id}")
async def update_collection(
    collection_id: IdPath, body: CollectionIn, app: ContainerDep
) -> CollectionOut:
    """Replace a collection's definition (409 for an automatic one)."""
    return CollectionOut.of(await app.catalog.update_collection(collection_id, body.to_domain()))


@router.delete("/{collection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_collection(collection_id: IdPath, app: ContainerDep) -> Response:
    """Delete a collection (409 for an automatic one: scans keep it)."""
    await app.catalog.delete_collection(collection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{collection_id}/items")
async def collection_items(
    collection_id: IdPath, page: PageDep, app: ContainerDep
) -> Page[MediaItemOut]:
    """A page of the collection's present items in its natural order (episodes by season
    and episode; manual collections in their listed order)."""
    items = await app.catalog.collection_items(collection_id)
    window = items[page.offset : page.offset + page.limit]
    return media_page(window, len(items), page.offset, page.limit)


@router.get("/{collection_id}/summary")
async def collection_summary(collection_id: IdPath, app: ContainerDep) -> CollectionSummaryOut:
    """How many present items the collection holds and their total duration."""
    return CollectionSummaryOut.model_validate(await app.catalog.collection_summary(collection_id))

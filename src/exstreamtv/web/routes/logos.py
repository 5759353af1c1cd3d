"""``/api/logos``: upload a channel logo or watermark image (PNG); the answer goes in a
channel's ``logo`` or its watermark's ``image``, and shows the image again for a preview."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from exstreamtv.errors import NotFound
from exstreamtv.services.logo_images import MAX_UPLOAD_BYTES
from exstreamtv.web.deps import ContainerDep, require_admin

router = APIRouter(prefix="/api/logos", tags=["channels"], dependencies=[Depends(require_admin)])


class LogoOut(BaseModel):
    """The value to put in a channel's ``logo`` field."""

    logo: str


@router.post("", status_code=status.HTTP_201_CREATED)
async def upload_logo(file: UploadFile, app: ContainerDep) -> LogoOut:
    """Store a PNG, JPEG, WebP or GIF image of at most 2 MiB, decoded and re-encoded as
    PNG (422 with the reason otherwise); a larger request is refused with 413."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    return LogoOut(logo=await app.logos.save_upload(data))


@router.get("", response_class=FileResponse)
async def uploaded_image(
    app: ContainerDep, value: Annotated[str, Query(max_length=200, description="From POST.")]
) -> FileResponse:
    """An uploaded image, by the value ``POST`` returned (for previews); 404 when there is
    no such image (nothing outside the logos folder is ever served)."""
    found = await asyncio.to_thread(app.logos.uploaded, value)
    if found is None:
        raise NotFound("there is no uploaded image by that name")
    return FileResponse(found, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

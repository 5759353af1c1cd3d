"""``/api/logos``: upload a channel logo (PNG); the answer goes in a channel's ``logo``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, UploadFile, status
from pydantic import BaseModel

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

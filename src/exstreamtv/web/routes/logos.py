"""``/api/logos``: upload a channel logo (PNG); the answer goes in a channel's ``logo``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, UploadFile, status
from pydantic import BaseModel

from exstreamtv.services.logos import MAX_UPLOAD_BYTES
from exstreamtv.web.deps import ContainerDep, require_admin

router = APIRouter(prefix="/api/logos", tags=["channels"], dependencies=[Depends(require_admin)])


class LogoOut(BaseModel):
    """The value to put in a channel's ``logo`` field."""

    logo: str


@router.post("", status_code=status.HTTP_201_CREATED)
async def upload_logo(file: UploadFile, app: ContainerDep) -> LogoOut:
    """Store a PNG of at most 1 MiB (422 otherwise); only that much is ever read."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    return LogoOut(logo=await app.logos.save_upload(data))

"""``/api/guide``: the programme grid as JSON, from the same rows and folding as XMLTV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from exstreamtv.domain.guide import GuideChannel, Programme, ProgrammeKind
from exstreamtv.web.deps import ContainerDep, require_admin
from exstreamtv.web.routes.iptv import links

router = APIRouter(prefix="/api/guide", tags=["guide"], dependencies=[Depends(require_admin)])
Hours = Annotated[int, Query(ge=1, le=48, description="How many hours from now (1-48).")]


class GuideChannelOut(BaseModel):
    """``id`` is the XMLTV channel id (``ch<row id>.exstreamtv``)."""

    id: str
    number: str
    name: str
    group: str | None

    @classmethod
    def of(cls, channel: GuideChannel) -> GuideChannelOut:
        return cls(id=channel.id, number=channel.number, name=channel.name, group=channel.group)


class ProgrammeOut(BaseModel):
    """A guide programme (UTC times), as the XMLTV ``<programme>`` with the same data."""

    channel_id: str
    start: datetime
    stop: datetime
    title: str
    kind: ProgrammeKind
    sub_title: str | None
    description: str | None
    categories: list[str]
    year: int | None
    season: int | None
    episode: int | None
    rating: str | None

    @classmethod
    def of(cls, p: Programme) -> ProgrammeOut:
        return cls(
            channel_id=p.channel_id, start=_time(p.start_ms), stop=_time(p.stop_ms),
            title=p.title, kind=p.kind, sub_title=p.sub_title, description=p.description,
            categories=list(p.categories), year=p.year, season=p.season, episode=p.episode,
            rating=p.rating,
        )  # fmt: skip


class GuideOut(BaseModel):
    channels: list[GuideChannelOut]
    programmes: list[ProgrammeOut]


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@router.get("")
async def guide(request: Request, app: ContainerDep, hours: Hours = 6) -> GuideOut:
    """Enabled channels and their programmes overlapping the next ``hours``."""
    lineup, programmes = await app.guide.listing(links(request, app), hours)
    return GuideOut(
        channels=[GuideChannelOut.of(c) for c in lineup],
        programmes=[ProgrammeOut.of(p) for p in programmes],
    )

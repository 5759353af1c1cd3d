"""``/api/guide``: the programme grid as JSON, from the same rows and folding as XMLTV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from exstreamtv.domain.guide import GuideChannel, Programme, ProgrammeKind
from exstreamtv.errors import InvalidInput
from exstreamtv.services.guide_grid import GridCell
from exstreamtv.web.deps import ContainerDep, require_admin
from exstreamtv.web.routes.iptv import links

router = APIRouter(prefix="/api/guide", tags=["guide"], dependencies=[Depends(require_admin)])


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


class CellOut(ProgrammeOut):
    """A programme, or a run of ``count`` (> 1) short programmes merged into one cell (its
    fields then describe the first of them; ``start``/``stop`` span the whole run)."""

    count: int


class GuideOut(BaseModel):
    """``channels``: every enabled channel (``total`` of them), for the row headers;
    ``rows``: the XMLTV ids of the channels whose ``programmes`` were read."""

    start: datetime
    end: datetime
    total: int
    channels: list[GuideChannelOut]
    rows: list[str]
    programmes: list[CellOut]


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _cell(cell: GridCell) -> CellOut:
    programme = ProgrammeOut.of(cell.programme)
    start, stop = _time(cell.start_ms), _time(cell.stop_ms)
    return CellOut(**{**dict(programme), "start": start, "stop": stop, "count": cell.count})


class WindowQuery(BaseModel):
    """The window of ``GET /api/guide``."""

    model_config = ConfigDict(extra="forbid")

    hours: int = Field(6, ge=1, le=48, description="Window length when there is no end.")
    start: datetime | None = Field(None, description="Window start (default: now).")
    end: datetime | None = Field(None, description="Window end (default: start + hours).")
    offset: int = Field(0, ge=0, le=100_000, description="First row (channel) to read.")
    limit: int = Field(1000, ge=1, le=1000, description="How many rows to read.")
    channel: str | None = Field(None, max_length=64, description="One row, by XMLTV id.")
    short_under_sec: int = Field(
        0, ge=0, le=6 * 3600, description="Merge runs of programmes shorter than this."
    )


@router.get("")
async def guide(
    request: Request, app: ContainerDep, query: Annotated[WindowQuery, Query()]
) -> GuideOut:
    """Programmes overlapping a window (at most 48 h, from at most 7 days ago) for some
    channel rows, folded as in XMLTV; runs of programmes shorter than ``short_under_sec``
    become one cell with their ``count``."""
    begin = _aware(query.start, "start") if query.start else app.clock.now()
    finish = _aware(query.end, "end") if query.end else begin + timedelta(hours=query.hours)
    window = await app.guide_grid.window(
        links(request, app), begin, finish, offset=query.offset, limit=query.limit,
        channel=query.channel, short_under_ms=query.short_under_sec * 1000,
    )  # fmt: skip
    return GuideOut(
        start=begin, end=finish, total=len(window.lineup),
        channels=[GuideChannelOut.of(c) for c in window.lineup],
        rows=[c.id for c in window.rows], programmes=[_cell(c) for c in window.cells],
    )  # fmt: skip


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{name}: give a time zone (such as Z)")
    return value.astimezone(UTC)

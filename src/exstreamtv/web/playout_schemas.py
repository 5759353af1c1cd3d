"""Response bodies (and the attach request) for playouts: entries, now, builds, previews.

Times are ISO-8601 UTC with ``Z``; in/out points and offsets are milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from exstreamtv.domain.playout import BuildWarning, EntryKind, from_ms
from exstreamtv.services.playout_plan import BuildMode
from exstreamtv.services.playouts import Attachment, BuildSummary, OnAir, Preview
from exstreamtv.store.playouts import ListedEntry, PlayoutInfo
from exstreamtv.web.schemas import ChannelOut, Id, Input

NOTHING_SCHEDULED = "nothing is scheduled at this time: the channel shows the offline slate"


class ScheduleAttachIn(Input):
    """The schedule to build the channel from; ``null`` detaches it."""

    schedule_id: Id | None


class WarningOut(BaseModel):
    """Something a build could not do as asked; ``code`` is stable, ``message`` is prose."""

    code: str
    message: str

    @classmethod
    def all(cls, warnings: Sequence[BuildWarning]) -> list[WarningOut]:
        return [cls(code=w.code, message=w.message) for w in warnings]


class EntryOut(BaseModel):
    """A playout entry. The media plays from ``in_point_ms`` to ``out_point_ms``; entries
    with the same ``guide_group`` are one guide programme. ``cut``: the media stops before
    its natural end to meet a boundary, so the stream fades it out. ``title``/``show``/
    ``season``/``episode`` describe the media when it is known."""

    start: datetime
    finish: datetime
    kind: EntryKind
    media_id: int | None
    in_point_ms: int
    out_point_ms: int
    guide_group: int
    guide_title: str | None
    source: str
    cut: bool = False
    title: str | None = None
    show: str | None = None
    season: int | None = None
    episode: int | None = None

    @classmethod
    def of(cls, listed: ListedEntry) -> EntryOut:
        e, media = listed.entry, listed.media
        return cls(
            start=e.start, finish=e.finish, kind=e.kind, media_id=e.media_id,
            in_point_ms=e.in_point_ms, out_point_ms=e.out_point_ms, guide_group=e.guide_group,
            guide_title=e.guide_title, source=e.source, cut=e.cut,
            title=media.title if media else None, show=media.show if media else None,
            season=media.season if media else None, episode=media.episode if media else None,
        )  # fmt: skip


class NowOut(BaseModel):
    """What is on at ``at``: the entry, how far into it (``offset_ms``) and where in the
    media to join (``seek_ms``); or ``entry: null`` with the ``reason``."""

    at: datetime
    entry: EntryOut | None
    offset_ms: int | None = None
    seek_ms: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, at: datetime, on_air: OnAir | None) -> NowOut:
        if on_air is None:
            return cls(at=at, entry=None, reason=NOTHING_SCHEDULED)
        playing = on_air.playing
        return cls(
            at=at,
            entry=EntryOut.of(ListedEntry(playing.entry, on_air.media)),
            offset_ms=playing.offset_ms,
            seek_ms=playing.seek_ms,
        )


class BuildSummaryOut(BaseModel):
    """What a build did: ``removed`` replaced entries, ``trimmed`` old ones, ``added`` new
    ones spanning ``first``..``last``."""

    channel: str
    mode: BuildMode
    removed: int
    trimmed: int
    added: int
    first: datetime | None
    last: datetime | None
    warnings: list[WarningOut]

    @classmethod
    def of(cls, summary: BuildSummary) -> BuildSummaryOut:
        return cls(
            channel=summary.channel, mode=summary.mode, removed=summary.removed,
            trimmed=summary.trimmed, added=summary.added, first=summary.first,
            last=summary.last, warnings=WarningOut.all(summary.warnings),
        )  # fmt: skip


class AttachmentOut(BaseModel):
    """The channel, and the reset build that attaching ran (``null`` when detaching)."""

    channel: ChannelOut
    build: BuildSummaryOut | None

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentOut:
        build = BuildSummaryOut.of(attachment.build) if attachment.build else None
        return cls(channel=ChannelOut.of(attachment.channel), build=build)


class PlayoutInfoOut(BaseModel):
    """The latest build (``null``s before the first) and the stored entries' extent."""

    schedule_id: int | None
    last_build_at: datetime | None
    last_mode: str | None
    warnings: list[WarningOut]
    entry_count: int
    first_start: datetime | None
    last_finish: datetime | None

    @classmethod
    def of(cls, info: PlayoutInfo) -> PlayoutInfoOut:
        return cls(
            schedule_id=info.schedule_id, last_build_at=info.last_build_at,
            last_mode=info.last_mode, warnings=WarningOut.all(info.warnings),
            entry_count=info.entry_count, first_start=info.first_start,
            last_finish=info.last_finish,
        )  # fmt: skip


PREVIEW_LIMIT = 10_000
"""Entries a preview lists unless asked for fewer or more (``total`` counts them all)."""


class OverviewRunOut(BaseModel):
    """``entries`` consecutive entries drawn as one box of ``kind`` on a timeline bar;
    ``entry`` is the entry itself when the run is one entry."""

    start: datetime
    finish: datetime
    kind: EntryKind
    entries: int
    entry: EntryOut | None

    @classmethod
    def all(cls, preview: Preview) -> list[OverviewRunOut]:
        listed = preview.entries
        return [
            cls(
                start=from_ms(r.start_ms),
                finish=from_ms(r.finish_ms),
                kind=r.kind,
                entries=r.count,
                entry=EntryOut.of(listed[r.first]) if r.count == 1 else None,
            )
            for r in preview.overview
        ]


class PreviewOut(BaseModel):
    """What a schedule would air (nothing is saved), and the build's warnings.

    ``entries`` lists the first ``limit`` of the ``total`` entries; ``overview`` folds all
    of them into at most about a thousand runs for a timeline bar."""

    entries: list[EntryOut]
    total: int
    overview: list[OverviewRunOut]
    warnings: list[WarningOut]

    @classmethod
    def of(cls, preview: Preview, limit: int = PREVIEW_LIMIT) -> PreviewOut:
        return cls(
            entries=[EntryOut.of(e) for e in preview.entries[:limit]],
            total=len(preview.entries),
            overview=OverviewRunOut.all(preview),
            warnings=WarningOut.all(preview.warnings),
        )

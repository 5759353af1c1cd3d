"""Request and response bodies of the JSON API (pydantic v2).

Input models forbid unknown fields, so a misspelt field is a 422 that names it. Each
model converts to or from one domain value; routes never build domain values by hand.
Datetimes are aware UTC and serialise as ISO-8601 with ``Z``. Ids are bounded to what
the database can hold, so hostile numbers are a 422 rather than a database error.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.collections import Collection, CollectionKind, SmartQuery
from exstreamtv.domain.libraries import Library, LibraryKind, ScanStatus, SourceKind
from exstreamtv.domain.media import MediaItem, MediaKind, MediaState, MetadataSource, MetadataStatus
from exstreamtv.domain.profiles import Corner, WatermarkStyle
from exstreamtv.errors import InvalidInput
from exstreamtv.services.library import ScanProgress
from exstreamtv.store.channels import ChannelFields

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Names are shown in guides and DVRs: surrounding blanks are dropped, and a blank name
# (which would make the whole guide invalid) is refused here, naming the field.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, Field(max_length=200)]
Year = Annotated[int, Field(ge=0, le=9999)]
Number = Annotated[int, Field(ge=0, le=99_999)]
Seconds = Annotated[int, Field(ge=0, le=10**7)]


def _inside(value: str) -> str:
    if ".." in value:
        raise ValueError("an uploaded image's value has no '..'")
    return value


# What POST /api/logos returns: a relative path inside the logos folder.
UploadValue = Annotated[
    str, Field(max_length=200, pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_./-]*$"), AfterValidator(_inside)
]
T = TypeVar("T")


class Input(BaseModel):
    """Base of request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``items`` from ``offset`` (at most ``limit``) of ``total``."""

    items: list[T]
    total: int
    offset: int
    limit: int


class LibraryIn(Input):
    name: Name
    kind: LibraryKind = LibraryKind.MIXED
    paths: list[Annotated[str, Field(max_length=4096)]] = Field(max_length=100)


class ScanCountsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    total: int
    processed: int
    added: int
    updated: int
    unchanged: int
    failed: int
    missing: int


class ScanProgressOut(BaseModel):
    """A scan's live state. ``percent`` is processed/total (0-100; 100 once finished)."""

    status: ScanStatus
    started_at: datetime
    finished_at: datetime | None
    counts: ScanCountsOut
    percent: float
    error: str | None

    @classmethod
    def of(cls, progress: ScanProgress) -> ScanProgressOut:
        counts = progress.counts
        if counts.total:
            percent = min(100.0, 100.0 * counts.processed / counts.total)
        else:
            percent = 0.0 if progress.status is ScanStatus.RUNNING else 100.0
        fields = {name: getattr(progress, name) for name in cls.model_fields if name != "percent"}
        return cls.model_validate({**fields, "percent": round(percent, 1)})


class LibraryOut(BaseModel):
    id: int
    name: str
    kind: LibraryKind
    source_kind: SourceKind
    paths: list[str]
    managed_by_config: bool
    last_scan_at: datetime | None
    scan: ScanProgressOut | None = None

    @classmethod
    def of(cls, library: Library, progress: ScanProgress | None) -> LibraryOut:
        scan = ScanProgressOut.of(progress) if progress else None
        return cls.model_validate(library, from_attributes=True).model_copy(update={"scan": scan})


class ScanProblemOut(BaseModel):
    """A path the latest scan could not use, and why."""

    model_config = ConfigDict(from_attributes=True)

    path: str
    reason: str


class ChapterOut(BaseModel):
    start_ms: int
    end_ms: int
    title: str | None


class ArtworkOut(BaseModel):
    poster: str | None
    thumb: str | None
    fanart: str | None


class MetadataOut(BaseModel):
    status: MetadataStatus
    source: MetadataSource
    reason: str | None


class MediaItemOut(BaseModel):
    """A media item. Technical fields are ``null`` until a probe succeeded."""

    id: int
    library_id: int
    path: str
    state: MediaState
    missing_since: datetime | None
    duration_ms: int
    container: str | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pixel_format: str | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    sample_rate: int | None = None
    chapters: list[ChapterOut] = []
    live: bool = False  # a live channel: no end of its own, never seeked
    kind: MediaKind
    title: str
    show: str | None
    season: int | None
    episode: int | None
    year: int | None
    plot: str | None
    genres: list[str]
    content_rating: str | None
    artwork: ArtworkOut
    external_ids: dict[str, str]
    metadata: MetadataOut

    @classmethod
    def of(cls, item: MediaItem) -> MediaItemOut:
        meta = item.metadata
        technical = asdict(item.technical) if item.technical else {"duration_ms": 0}
        return cls.model_validate(
            {
                **asdict(meta),
                **technical,
                "external_ids": dict(meta.external_ids),
                "metadata": {"status": meta.status, "source": meta.source, "reason": meta.reason},
                "id": item.id,
                "library_id": item.library_id,
                "path": item.path,
                "state": item.state,
                "missing_since": item.missing_since,
            }
        )


def media_page(items: list[MediaItem], total: int, offset: int, limit: int) -> Page[MediaItemOut]:
    """A page of media items as a response body."""
    return Page[MediaItemOut](
        items=[MediaItemOut.of(i) for i in items], total=total, offset=offset, limit=limit
    )


class SmartQueryIn(Input):
    """A smart-collection query: empty fields do not filter, all filters AND together.

    ``text`` searches title, show, plot and genres, ``title`` the title only: every word
    must begin a word of the item (full-text, case-insensitive). ``show`` is an exact show
    name (case-insensitive). Years and durations (seconds) are inclusive ranges; ``added_*``
    are dates (UTC) when items were first scanned, ``added_within_days`` counts back from
    now. ``states`` defaults to present items only (``missing`` finds vanished files)."""

    kinds: list[MediaKind] = Field(default=[], max_length=10)
    text: ShortText | None = None
    title: ShortText | None = None
    show: ShortText | None = None
    season: Number | None = None
    genres: list[ShortText] = Field(default=[], max_length=50)
    year_min: Year | None = None
    year_max: Year | None = None
    duration_min_sec: Seconds | None = None
    duration_max_sec: Seconds | None = None
    added_after: date | None = None
    added_before: date | None = None
    added_within_days: Annotated[int, Field(ge=1, le=36_500)] | None = None
    content_ratings: list[ShortText] = Field(default=[], max_length=50)
    library_ids: list[Id] = Field(default=[], max_length=100)
    statuses: list[MetadataStatus] = Field(default=[], max_length=10)
    states: list[MediaState] = Field(default=[], max_length=10)

    def to_domain(self) -> SmartQuery:
        fields = self.model_dump().items()
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields}
        return SmartQuery(**values)


class PreviewOut(Page[MediaItemOut]):
    """A page of what a smart query matches; ``total`` items last ``duration_ms`` in all."""

    duration_ms: int


class CollectionIn(Input):
    """A collection. ``show`` needs ``show``; ``season`` needs ``show`` and ``season``;
    ``library`` needs ``library_id``; ``smart`` needs ``query``; ``manual`` lists
    ``item_ids`` in order; ``multi`` lists ``member_ids`` (collections that are not multi
    ones) in order. Automatic collections are made by scans, never through this body."""

    name: Name
    kind: CollectionKind
    show: ShortText | None = None
    season: Number | None = None
    library_id: Id | None = None
    query: SmartQueryIn | None = None
    item_ids: list[Id] = Field(default=[], max_length=10_000)
    member_ids: list[Id] = Field(default=[], max_length=100)

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        kind = self.kind
        if kind in {CollectionKind.SHOW, CollectionKind.SEASON} and not self.show:
            raise ValueError(f"a {kind} collection needs 'show'")
        if kind is CollectionKind.SEASON and self.season is None:
            raise ValueError("a season collection needs 'season'")
        if kind is CollectionKind.LIBRARY and self.library_id is None:
            raise ValueError("a library collection needs 'library_id'")
        if kind is CollectionKind.SMART and self.query is None:
            raise ValueError("a smart collection needs 'query'")
        if kind is CollectionKind.MULTI and not self.member_ids:
            raise ValueError("a multi collection needs 'member_ids'")
        if kind is not CollectionKind.MANUAL and self.item_ids:
            raise ValueError("only a manual collection lists 'item_ids'")
        if kind is not CollectionKind.SMART and self.query is not None:
            raise ValueError("only a smart collection has a 'query'")
        if kind is not CollectionKind.MULTI and self.member_ids:
            raise ValueError("only a multi collection lists 'member_ids'")
        return self

    def to_domain(self) -> Collection:
        """The collection to store (``id`` 0: assigned by the store)."""
        kind = self.kind
        return Collection(
            id=0,
            name=self.name,
            kind=kind,
            show=self.show if kind in {CollectionKind.SHOW, CollectionKind.SEASON} else None,
            season=self.season if kind is CollectionKind.SEASON else None,
            query=self.query.to_domain() if self.query else None,
            item_ids=tuple(self.item_ids),
            library_id=self.library_id if kind is CollectionKind.LIBRARY else None,
            member_ids=tuple(self.member_ids),
        )


class CollectionOut(BaseModel):
    """A collection; ``automatic`` ones are kept in sync by scans (read-only)."""

    id: int
    name: str
    kind: CollectionKind
    show: str | None
    season: int | None
    library_id: int | None
    query: SmartQueryIn | None
    item_ids: list[int]
    member_ids: list[int]
    automatic: bool

    @classmethod
    def of(cls, collection: Collection) -> CollectionOut:
        return cls.model_validate(collection, from_attributes=True)


class CollectionSummaryOut(BaseModel):
    """How many present items a collection holds and how long they last in all."""

    model_config = ConfigDict(from_attributes=True)

    count: int
    duration_ms: int


class WatermarkMode(enum.StrEnum):
    ALWAYS = "always"
    INTERMITTENT = "intermittent"


class WatermarkIn(Input):
    """The channel's watermark. ``image``: ``null`` for the channel's logo, or the value an
    upload to ``/api/logos`` returned. ``opacity`` in (0, 1]; ``size_percent`` the image's
    width as a share of the picture's (``null``: its own size); margins as shares of the
    picture's width and height (``null``: a small default). ``mode`` ``intermittent`` shows
    it for ``for_seconds`` at the start of every ``every_minutes``."""

    corner: Corner = Corner.BOTTOM_RIGHT
    opacity: float = 1.0
    image: UploadValue | None = None
    size_percent: float | None = None
    margin_x_percent: float | None = None
    margin_y_percent: float | None = None
    mode: WatermarkMode = WatermarkMode.ALWAYS
    every_minutes: int | None = None
    for_seconds: int | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        intermittent = self.mode is WatermarkMode.INTERMITTENT
        if intermittent and (self.every_minutes is None or self.for_seconds is None):
            raise ValueError("an intermittent watermark needs every_minutes and for_seconds")
        self.to_domain()  # the domain's rules; its InvalidInput becomes a ValueError below
        return self

    def to_domain(self) -> WatermarkStyle:
        intermittent = self.mode is WatermarkMode.INTERMITTENT
        try:
            return WatermarkStyle(
                self.corner, self.opacity, self.image, self.size_percent,
                self.margin_x_percent, self.margin_y_percent,
                self.every_minutes if intermittent else None,
                self.for_seconds if intermittent else None,
            )  # fmt: skip
        except InvalidInput as err:
            raise ValueError(err.message) from None


class WatermarkOut(BaseModel):
    corner: Corner
    opacity: float
    image: str | None
    size_percent: float | None
    margin_x_percent: float | None
    margin_y_percent: float | None
    mode: WatermarkMode
    every_minutes: int | None
    for_seconds: int | None

    @classmethod
    def of(cls, style: WatermarkStyle) -> WatermarkOut:
        mode = WatermarkMode.INTERMITTENT if style.intermittent else WatermarkMode.ALWAYS
        return cls(
            corner=style.corner, opacity=style.opacity, image=style.image,
            size_percent=style.size_percent, margin_x_percent=style.margin_x_percent,
            margin_y_percent=style.margin_y_percent, mode=mode,
            every_minutes=style.every_minutes, for_seconds=style.for_seconds,
        )  # fmt: skip


class ChannelIn(Input):
    """A channel. ``number`` is a string such as ``"5"`` or ``"5.1"``. ``stream_profile_id``
    names its stream profile (``null``: the default profile); ``watermark`` overlays its logo
    (``null``: none; refused with a copy-mode profile)."""

    number: Annotated[str, Field(max_length=20, examples=["5", "5.1"])]
    name: Name
    group: ShortText | None = None
    logo: Annotated[str, Field(max_length=2048)] | None = None
    enabled: bool = True
    stream_profile_id: Id | None = None
    watermark: WatermarkIn | None = None

    @field_validator("number")
    @classmethod
    def _valid_number(cls, value: str) -> str:
        try:
            return str(ChannelNumber.parse(value))
        except InvalidInput as err:
            raise ValueError(err.message) from None

    def to_fields(self) -> ChannelFields:
        mark = self.watermark.to_domain() if self.watermark else None
        values = {
            **self.model_dump(),
            "number": ChannelNumber.parse(self.number),
            "watermark": mark,
        }
        return ChannelFields(**values)


class ChannelOut(BaseModel):
    id: int
    number: Annotated[str, BeforeValidator(str)]
    name: str
    group: str | None
    logo: str | None
    enabled: bool
    stream_profile_id: int | None
    schedule_id: int | None
    watermark: WatermarkOut | None = None

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        mark = None if channel.watermark is None else WatermarkOut.of(channel.watermark)
        out = cls.model_validate({**_public(channel), "watermark": None})
        return out.model_copy(update={"watermark": mark})


def _public(channel: Channel) -> dict[str, Any]:
    return {name: getattr(channel, name) for name in ChannelOut.model_fields}


class ChannelPatch(Input):
    """Changes to a channel: only the fields sent change (``null`` clears a field that may
    be empty: group, logo, stream profile, watermark). Same rules as :class:`ChannelIn`."""

    number: Annotated[str, Field(max_length=20, examples=["5", "5.1"])] | None = None
    name: Name | None = None
    group: ShortText | None = None
    logo: Annotated[str, Field(max_length=2048)] | None = None
    enabled: bool | None = None
    stream_profile_id: Id | None = None
    watermark: WatermarkIn | None = None

    @field_validator("number")
    @classmethod
    def _valid_number(cls, value: str | None) -> str | None:
        return None if value is None else ChannelIn._valid_number(value)

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in ("number", "name", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"'{name}' cannot be null")
        return self

    def apply(self, channel: Channel) -> ChannelFields:
        """The channel's fields with this patch's changes."""
        sent = self.model_fields_set
        current = ChannelFields(
            number=channel.number, name=channel.name, group=channel.group, logo=channel.logo,
            enabled=channel.enabled, stream_profile_id=channel.stream_profile_id,
            watermark=channel.watermark,
        )  # fmt: skip
        changes: dict[str, Any] = {
            name: getattr(self, name) for name in sent if name not in {"number", "watermark"}
        }
        if "number" in sent and self.number is not None:
            changes["number"] = ChannelNumber.parse(self.number)
        if "watermark" in sent:
            changes["watermark"] = self.watermark.to_domain() if self.watermark else None
        return replace(current, **changes)

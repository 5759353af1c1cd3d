"""SQLAlchemy table definitions (the schema that the Alembic migrations create).

Every timestamp column is :class:`UTCDateTime`: aware UTC in, aware UTC out, on SQLite as on
PostgreSQL. Naive datetimes are refused at bind time rather than silently misread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC that always comes back timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: pass an aware UTC datetime")
        utc = value.astimezone(UTC)
        # SQLite has no time zone type; store naive UTC there and re-attach on the way out.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite hands back SQLAlchemy's own text form ('YYYY-MM-DD HH:MM:SS.ffffff');
        # fromisoformat parses it several times faster than the generic processor, which
        # matters when the guide reads every playout row.
        def parse(value: Any) -> datetime | None:
            if value is None:
                return None
            return datetime.fromisoformat(value).replace(tzinfo=UTC)

        return parse

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class AppStateRow(Base):
    """Small install-wide values: the admin key hash, the HDHomeRun DeviceID..."""

    __tablename__ = "app_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AdminSessionRow(Base):
    """A signed-in web UI session. ``digest`` is an HMAC of the cookie's secret under the
    key in the data directory: the database alone can neither read nor forge a session."""

    __tablename__ = "admin_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class MediaSourceRow(Base):
    __tablename__ = "media_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    # Media servers only: base URL, Fernet-encrypted token (never plain text), server id,
    # and ``[{"server": prefix, "local": prefix}]`` path mappings.
    url: Mapped[str | None] = mapped_column(Text)
    credential: Mapped[str | None] = mapped_column(Text)
    server_id: Mapped[str | None] = mapped_column(String(100))
    path_mappings: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    # Jellyfin/Emby: the user whose playlists are read. Online sources: their public
    # settings (``OnlineSettings``); their secrets are sealed in ``credential``.
    user_id: Mapped[str | None] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class LibraryRow(Base):
    __tablename__ = "libraries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("media_sources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    paths: Mapped[list[str]] = mapped_column(JSON)
    managed_by_config: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_scan_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(100))  # the server's library id


class MediaItemRow(Base):
    __tablename__ = "media_items"
    __table_args__ = (
        UniqueConstraint("library_id", "path", name="uq_media_items_library_path"),
        Index("ix_media_items_library_state", "library_id", "state"),
        Index("ix_media_items_show", "show", "season", "episode"),
        Index("ix_media_items_status", "metadata_status"),
        Index("ix_media_items_library_remote", "library_id", "remote_id"),
        Index("ix_media_items_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default="present")
    missing_since: Mapped[datetime | None]
    missing_reason: Mapped[str | None] = mapped_column(Text)
    # technical
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    container: Mapped[str | None] = mapped_column(String(32))
    video_codec: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    pixel_format: Mapped[str | None] = mapped_column(String(32))
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    chapters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    probed: Mapped[bool] = mapped_column(Boolean, default=False)
    # descriptive
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    show: Mapped[str | None] = mapped_column(Text)
    season: Mapped[int | None] = mapped_column(Integer)
    episode: Mapped[int | None] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)
    plot: Mapped[str | None] = mapped_column(Text)
    genres: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Lower-cased "|genre|genre|" so genre filters are one portable LIKE on SQLite and PostgreSQL.
    genre_index: Mapped[str] = mapped_column(Text, default="")
    content_rating: Mapped[str | None] = mapped_column(String(32))
    poster: Mapped[str | None] = mapped_column(Text)
    thumb: Mapped[str | None] = mapped_column(Text)
    fanart: Mapped[str | None] = mapped_column(Text)
    external_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metadata_status: Mapped[str] = mapped_column(String(16))
    metadata_source: Mapped[str] = mapped_column(String(16))
    metadata_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Media-server items: the server's id, its change stamp (Plex updatedAt, Jellyfin/Emby
    # Etag) and what the file is streamed by (Plex Part.key, Jellyfin/Emby media source id).
    remote_id: Mapped[str | None] = mapped_column(String(100))
    remote_stamp: Mapped[str | None] = mapped_column(String(100))
    stream_key: Mapped[str | None] = mapped_column(Text)


class LiveListingRow(Base):
    """A programme of a live item's source guide (IPTV XMLTV), replaced at each scan."""

    __tablename__ = "live_listings"
    __table_args__ = (Index("ix_live_listings_item_start", "media_item_id", "start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    stop: Mapped[datetime]
    title: Mapped[str] = mapped_column(Text)
    sub_title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)


class ScanRunRow(Base):
    __tablename__ = "scan_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ScanProblemRow(Base):
    """Paths of the latest scan of a library that could not be used, with the reason."""

    __tablename__ = "scan_problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(
        ForeignKey("libraries.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class CollectionRow(Base):
    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    show: Mapped[str | None] = mapped_column(Text)
    season: Mapped[int | None] = mapped_column(Integer)
    query: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # Kept in sync by scans (show, season and library collections); not edited by hand.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    library_id: Mapped[int | None] = mapped_column(
        ForeignKey("libraries.id", ondelete="CASCADE", name="fk_collections_library_id_libraries")
    )


class CollectionMemberRow(Base):
    """A collection that a multi-collection includes, at ``position``."""

    __tablename__ = "collection_members"
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class CollectionItemRow(Base):
    __tablename__ = "collection_items"
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    media_item_id: Mapped[int] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class StreamProfileRow(Base):
    __tablename__ = "stream_profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Exactly one row is the default: the profile of every channel that names none.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChannelRow(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    number_major: Mapped[int] = mapped_column(Integer)
    number_minor: Mapped[int] = mapped_column(Integer, default=-1)
    name: Mapped[str] = mapped_column(String(200))
    group_name: Mapped[str | None] = mapped_column(String(200))
    logo: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    stream_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("stream_profiles.id", ondelete="SET NULL")
    )
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL", name="fk_channels_schedule_id_schedules")
    )
    # The logo overlaid on the picture: both NULL when the channel has no watermark.
    watermark_corner: Mapped[str | None] = mapped_column(String(16))
    watermark_opacity: Mapped[float | None] = mapped_column(Float)
    # NULL image: the channel's logo; NULL size/margins: defaults; NULL every/for: always.
    watermark_image: Mapped[str | None] = mapped_column(Text)
    watermark_size_percent: Mapped[float | None] = mapped_column(Float)
    watermark_margin_x_percent: Mapped[float | None] = mapped_column(Float)
    watermark_margin_y_percent: Mapped[float | None] = mapped_column(Float)
    watermark_every_minutes: Mapped[int | None] = mapped_column(Integer)
    watermark_for_seconds: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FillerPresetRow(Base):
    """A filler preset; ``body`` holds its collections and parameters (see schedule_json)."""

    __tablename__ = "filler_presets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class ScheduleRow(Base):
    """A schedule; ``body`` holds items, slots, blocks, templates and fallback as JSON."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PlayoutEntryRow(Base):
    """One playout entry: absolute UTC ``start``/``finish``. ``cursor`` (the build state
    after the entry) is set only on the entry that closes a guide group."""

    __tablename__ = "playout_entries"
    __table_args__ = (
        Index("ix_playout_entries_channel_start", "channel_id", "start", unique=True),
        Index("ix_playout_entries_channel_group", "channel_id", "guide_group"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    finish: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    media_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_items.id", ondelete="SET NULL")
    )
    in_point_ms: Mapped[int] = mapped_column(BigInteger)
    out_point_ms: Mapped[int] = mapped_column(BigInteger)
    guide_group: Mapped[int] = mapped_column(BigInteger)
    guide_title: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    cut: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SQL NULL (not JSON null) inside a group, so "has a cursor" is a plain IS NOT NULL.
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class PlayoutRow(Base):
    """A channel's latest build: when, in which mode, from which schedule, and its warnings
    (a list of ``{"code", "message"}``)."""

    __tablename__ = "playouts"
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True
    )
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    last_build_at: Mapped[datetime]
    last_mode: Mapped[str] = mapped_column(String(16))
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class epoch_ms(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """``epoch_ms(column)``: a UTC timestamp column as whole milliseconds since the epoch,
    computed by the database (bulk reads skip parsing a datetime per row)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored text is UTC; julianday keeps millisecond precision; round to whole ms.
    (column,) = element.clauses
    days = f"julianday({compiler.process(column, **kw)}) - 2440587.5"
    return f"CAST(ROUND(({days}) * 86400000.0) AS INTEGER)"


@compiles(epoch_ms, "postgresql")
def _epoch_ms_postgresql(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"CAST(ROUND(EXTRACT(EPOCH FROM {compiler.process(column, **kw)}) * 1000) AS BIGINT)"

"""Request and response bodies of ``/api/online-sources``.

URLs, cookies, request headers and the guide's URL go in and never come out: an IPTV
playlist's URL usually holds the account's credentials, and sites' URLs may carry tokens.
Responses show the locations without credentials or query strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from exstreamtv.domain.libraries import (
    Library,
    LibraryKind,
    MediaSource,
    OnlineSecrets,
    OnlineSettings,
    SourceKind,
)
from exstreamtv.web.schemas import Input, Name

Url = Annotated[str, Field(min_length=1, max_length=2048)]
HeaderName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$")]


class OnlineOptionsIn(Input):
    """How the source is read (every field optional, with the defaults shown)."""

    query: Annotated[str, Field(max_length=2000)] | None = None
    keep_local_copy: bool = False
    local_copy_max_mib: int = Field(default=2048, ge=1, le=10_000_000)
    live_minutes: int = Field(default=60, ge=1, le=24 * 60)
    rate_per_minute: int | None = Field(
        default=None, ge=0, le=6000, description="null: 30 for youtube, 120 for archive_org"
    )

    def settings(self) -> OnlineSettings:
        return OnlineSettings(
            query=self.query,
            keep_local_copy=self.keep_local_copy,
            local_copy_max_mib=self.local_copy_max_mib,
            live_minutes=self.live_minutes,
            rate_per_minute=self.rate_per_minute,
        )


class OnlineSecretsIn(Input):
    """What the source reads: ``urls`` (files and HLS playlists; channels, playlists,
    feeds or videos for ``youtube``; the one playlist for ``iptv``), and for IPTV its
    XMLTV ``guide_url``; ``cookies`` (``cookies.txt`` text, for yt-dlp) and ``headers``
    sent with every request."""

    urls: list[Url] = Field(default_factory=list, max_length=500)
    guide_url: Url | None = None
    cookies: Annotated[SecretStr, Field(max_length=1_000_000)] | None = None
    headers: dict[HeaderName, Annotated[SecretStr, Field(max_length=4096)]] = Field(
        default_factory=dict, max_length=20
    )

    def secrets(self) -> OnlineSecrets:
        return OnlineSecrets(
            urls=tuple(self.urls),
            guide_url=self.guide_url,
            cookies=self.cookies.get_secret_value() if self.cookies else None,
            headers=tuple((k, v.get_secret_value()) for k, v in self.headers.items()),
        )


class OnlineSourceIn(OnlineSecretsIn, OnlineOptionsIn):
    """A new online source; its library is named ``name`` and holds ``library_kind``."""

    kind: Literal["remote", "youtube", "archive_org", "iptv"]
    name: Name
    library_kind: LibraryKind = LibraryKind.OTHER


class OnlineSourceUpdate(OnlineOptionsIn):
    """A new name and options; ``source`` replaces what it reads (and its secrets) as a
    whole when given."""

    name: Name
    source: OnlineSecretsIn | None = None


class OnlineSourceOut(BaseModel):
    id: int
    kind: SourceKind
    name: str
    library_id: int
    library_kind: LibraryKind
    locations: list[str]
    query: str | None
    keep_local_copy: bool
    local_copy_max_mib: int
    live_minutes: int
    rate_per_minute: int | None
    has_guide: bool
    has_cookies: bool
    created_at: datetime

    @classmethod
    def of(cls, source: MediaSource, library: Library) -> OnlineSourceOut:
        settings = source.online or OnlineSettings()
        return cls(
            id=source.id,
            kind=source.kind,
            name=source.name,
            library_id=library.id,
            library_kind=library.kind,
            locations=list(settings.shown),
            query=settings.query,
            keep_local_copy=settings.keep_local_copy,
            local_copy_max_mib=settings.local_copy_max_mib,
            live_minutes=settings.live_minutes,
            rate_per_minute=settings.rate_per_minute,
            has_guide=settings.has_guide,
            has_cookies=settings.has_cookies,
            created_at=source.created_at,
        )

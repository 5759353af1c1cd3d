"""Request and response bodies of ``/api/media-sources`` (Plex, Jellyfin and Emby).

A token goes in (``SecretStr``: masked in reprs and validation errors) and never comes out:
responses only say whether one is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from exstreamtv.domain.libraries import LibraryKind, MediaSource, PathMapping, SourceKind
from exstreamtv.sources.base import RemoteLibrary, ServerInfo
from exstreamtv.web.schemas import Input, Name

Url = Annotated[str, Field(min_length=1, max_length=2000)]
Token = Annotated[SecretStr, Field(min_length=1, max_length=4096)]
Prefix = Annotated[str, Field(min_length=1, max_length=4096)]


class PathMappingIn(Input):
    """``server``: a folder prefix as the server sees it; ``local``: where it is mounted here."""

    server: Prefix
    local: Prefix

    def to_domain(self) -> PathMapping:
        return PathMapping(self.server, self.local)


class MediaSourceIn(Input):
    kind: Literal["plex", "jellyfin", "emby"]
    name: Name
    url: Url
    token: Token
    path_mappings: list[PathMappingIn] = Field(default_factory=list, max_length=100)


class MediaSourceUpdate(Input):
    """A replacement of name, URL and mappings; the token only changes when given."""

    name: Name
    url: Url
    token: Token | None = None
    path_mappings: list[PathMappingIn] = Field(default_factory=list, max_length=100)


class PathMappingOut(BaseModel):
    server: str
    local: str


class MediaSourceOut(BaseModel):
    id: int
    kind: SourceKind
    name: str
    url: str | None
    server_id: str | None
    path_mappings: list[PathMappingOut]
    has_token: bool
    created_at: datetime

    @classmethod
    def of(cls, source: MediaSource) -> MediaSourceOut:
        return cls(
            id=source.id,
            kind=source.kind,
            name=source.name,
            url=source.url,
            server_id=source.server_id,
            path_mappings=[
                PathMappingOut(server=m.server, local=m.local) for m in source.path_mappings
            ],
            has_token=True,
            created_at=source.created_at,
        )


class RemoteLibraryOut(BaseModel):
    """A server library; ``kind`` is ``null`` for content that cannot be imported."""

    id: str
    title: str
    kind: LibraryKind | None
    paths: list[str]

    @classmethod
    def of(cls, library: RemoteLibrary) -> RemoteLibraryOut:
        return cls(
            id=library.external_id,
            title=library.title,
            kind=library.kind,
            paths=list(library.paths),
        )


class ServerInfoOut(BaseModel):
    name: str
    version: str
    server_id: str
    libraries: list[RemoteLibraryOut]

    @classmethod
    def of(cls, info: ServerInfo) -> ServerInfoOut:
        return cls(
            name=info.name,
            version=info.version,
            server_id=info.server_id,
            libraries=[RemoteLibraryOut.of(lib) for lib in info.libraries],
        )


class LibrarySelectionIn(Input):
    """Server library ids (from the connection test) to create our libraries for."""

    libraries: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100
    )

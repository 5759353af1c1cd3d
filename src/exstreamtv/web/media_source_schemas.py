"""Request and response bodies of ``/api/media-sources`` (Plex, Jellyfin and Emby).

A token or a password goes in (``SecretStr``: masked in reprs and validation errors) and
never comes out: responses only say whether a token is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from exstreamtv.domain.libraries import LibraryKind, MediaSource, PathMapping, SourceKind
from exstreamtv.sources.base import RemoteLibrary, ServerInfo, ServerUser
from exstreamtv.sources.plex_tv import LINK_URL, Pin, PlexServer
from exstreamtv.web.schemas import Input, Name

Url = Annotated[str, Field(min_length=1, max_length=2000)]
Token = Annotated[SecretStr, Field(min_length=1, max_length=4096)]
Prefix = Annotated[str, Field(min_length=1, max_length=4096)]
Password = Annotated[SecretStr, Field(min_length=1, max_length=1024)]
RemoteId = Annotated[str, Field(min_length=1, max_length=100)]


class PathMappingIn(Input):
    """``server``: a folder prefix as the server sees it; ``local``: where it is mounted here."""

    server: Prefix
    local: Prefix

    def to_domain(self) -> PathMapping:
        return PathMapping(self.server, self.local)


class MediaSourceIn(Input):
    """A server and exactly one way in: a ``token`` (API key), a Jellyfin/Emby ``username``
    and ``password`` (only the resulting token is stored), or a linked Plex PIN
    (``plex_link`` and ``plex_server`` from ``/api/media-sources/plex-link``; ``url`` then
    defaults to the server's first local address)."""

    kind: Literal["plex", "jellyfin", "emby"]
    name: Name
    url: Url | None = None
    token: Token | None = None
    username: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    password: Password | None = None
    plex_link: int | None = None
    plex_server: RemoteId | None = None
    path_mappings: list[PathMappingIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _one_way_in(self) -> MediaSourceIn:
        ways = [
            self.token is not None,
            self.username is not None or self.password is not None,
            self.plex_link is not None or self.plex_server is not None,
        ]
        if sum(ways) != 1:
            raise ValueError(
                "give exactly one of: token; username and password; plex_link and plex_server"
            )
        if ways[1] and (self.username is None or self.password is None):
            raise ValueError("username and password go together")
        if ways[2] and (self.plex_link is None or self.plex_server is None or self.kind != "plex"):
            raise ValueError("plex_link and plex_server go together, for a plex source")
        if ways[1] and self.kind == "plex":
            raise ValueError("Plex signs in with a PIN link (plex_link), not a password")
        if self.url is None and not ways[2]:
            raise ValueError("url is required")
        return self


class UserChoiceIn(Input):
    """The Jellyfin/Emby user whose playlists are mirrored (``null``: none)."""

    user_id: RemoteId | None


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
    user_id: str | None
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
            user_id=source.user_id,
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


class ServerUserOut(BaseModel):
    id: str
    name: str

    @classmethod
    def of(cls, user: ServerUser) -> ServerUserOut:
        return cls(id=user.user_id, name=user.name)


class ServerInfoOut(BaseModel):
    """A connection test. ``users`` (Jellyfin/Emby, administrator tokens) are who the
    source's playlists can be read as."""

    name: str
    version: str
    server_id: str
    libraries: list[RemoteLibraryOut]
    users: list[ServerUserOut]

    @classmethod
    def of(cls, info: ServerInfo) -> ServerInfoOut:
        return cls(
            name=info.name,
            version=info.version,
            server_id=info.server_id,
            libraries=[RemoteLibraryOut.of(lib) for lib in info.libraries],
            users=[ServerUserOut.of(user) for user in info.users],
        )


class PlexLinkOut(BaseModel):
    """Type ``code`` at ``link_url`` within ``expires_in`` seconds, then poll ``id``."""

    id: int
    code: str
    link_url: str
    expires_in: int

    @classmethod
    def of(cls, pin: Pin) -> PlexLinkOut:
        return cls(id=pin.pin_id, code=pin.code, link_url=LINK_URL, expires_in=pin.expires_in)


class PlexServerOut(BaseModel):
    id: str
    name: str
    owned: bool
    urls: list[str]


class PlexLinkStateOut(BaseModel):
    """``linked`` once the code was typed; then the account's servers (no tokens)."""

    linked: bool
    servers: list[PlexServerOut]

    @classmethod
    def of(cls, servers: list[PlexServer] | None) -> PlexLinkStateOut:
        return cls(
            linked=servers is not None,
            servers=[
                PlexServerOut(id=s.machine_id, name=s.name, owned=s.owned, urls=list(s.urls))
                for s in servers or ()
            ],
        )


class LibrarySelectionIn(Input):
    """Server library ids (from the connection test) to create our libraries for."""

    libraries: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=100
    )

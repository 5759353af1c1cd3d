"""What every media-server client gives the sync: server info, libraries, item change stamps,
full items, collections, and the URL a file is streamed from.

Durations are milliseconds; ids are the server's own strings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import httpx

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import MediaMetadata, TechnicalInfo


@dataclass(frozen=True, slots=True)
class RemoteLibrary:
    """A library as the server lists it: its id, title, what it holds and its folders (as
    the server sees them). ``kind`` is ``None`` for content we do not import (music, photos)."""

    external_id: str
    title: str
    kind: LibraryKind | None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Answer of a connection test."""

    name: str
    version: str
    server_id: str
    libraries: tuple[RemoteLibrary, ...]


@dataclass(frozen=True, slots=True)
class RemoteStamp:
    """One item of a cheap enumeration: its id and change stamp (Plex ``updatedAt``,
    Jellyfin/Emby ``Etag``)."""

    remote_id: str
    stamp: str


@dataclass(frozen=True, slots=True)
class RemoteItem:
    """A playable server item mapped to our media model.

    ``path`` is the file path as the server sees it (``""`` when the server does not say);
    ``stream_key`` is what its stream URL is built from (Plex ``Part.key``, Jellyfin/Emby
    media source id).
    """

    remote_id: str
    stamp: str
    path: str
    stream_key: str
    size: int
    metadata: MediaMetadata
    technical: TechnicalInfo


@dataclass(frozen=True, slots=True)
class RemoteCollection:
    """A server collection or playlist: its title and its members' server ids, in order."""

    external_id: str
    title: str
    member_ids: tuple[str, ...]


class MediaServerClient(Protocol):
    """A thin async client of one server. Every method raises ``SourceUnavailable`` when the
    server cannot be reached or refuses the token, and ``SourceResponseInvalid`` for an
    answer that is malformed, hostile or too large."""

    async def info(self) -> ServerInfo: ...

    def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        """Every item of ``library``, page by page."""
        ...

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        """The items with these ids (ids the server no longer has are left out)."""
        ...

    async def collections(self, library: RemoteLibrary) -> list[RemoteCollection]: ...

    def open_stream(
        self, remote_id: str, stream_key: str | None, headers: Mapping[str, str]
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """``GET`` the item's direct stream with ``headers`` (``Range``...) added; the token
        travels in a header, never in a URL. Raises ``SourceUnavailable``."""
        ...

    async def reachable(self, remote_id: str, stream_key: str | None) -> None:
        """Raise ``SourceUnavailable`` unless a ``HEAD`` of the item's stream answers 2xx
        quickly (the token goes in a header, so no URL with a token is ever logged)."""
        ...

    async def aclose(self) -> None: ...

"""What every source client gives the sync: item change stamps, full items and collections
(:class:`Catalogue`); media servers also give server info, libraries and the URL a file is
streamed from (:class:`MediaServerClient`).

Durations are milliseconds; ids are the source's own strings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import httpx

from exstreamtv.domain.libraries import LibraryKind, ScanProblem
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.media import MediaMetadata, TechnicalInfo

T = TypeVar("T")


async def every_detail(
    ids: Sequence[str],
    batch: int,
    fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, T | None]]],
) -> list[T]:
    """Details of ``ids`` (in their order; ``None`` answers, items with nothing to play,
    left out), asked ``batch`` ids at a time. A server may answer fewer than asked for, so
    the ids an answer left out are asked for again, until an answer brings nothing new:
    each round must make progress, so this ends."""
    found: dict[str, T] = {}
    seen: set[str] = set()
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), batch):
        wanted = unique[start : start + batch]
        while wanted:
            got = await fetch(wanted)
            new = {key for key in got if key not in seen and key in wanted}
            if not new:
                break
            seen |= new
            found.update((key, item) for key, item in got.items() if item is not None)
            wanted = [key for key in wanted if key not in seen]
    return [found[key] for key in unique if key in found]


@dataclass(frozen=True, slots=True)
class RemoteLibrary:
    """A library as the server lists it: its id, title, what it holds and its folders (as
    the server sees them). ``kind`` is ``None`` for content we do not import (music, photos)."""

    external_id: str
    title: str
    kind: LibraryKind | None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServerUser:
    """A user of a Jellyfin or Emby server (playlists are read as one of them)."""

    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Answer of a connection test. ``users`` is empty for Plex (and for a token that may
    not list users)."""

    name: str
    version: str
    server_id: str
    libraries: tuple[RemoteLibrary, ...]
    users: tuple[ServerUser, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoteStamp:
    """One item of a cheap enumeration: its id and change stamp (Plex ``updatedAt``,
    Jellyfin/Emby ``Etag``)."""

    remote_id: str
    stamp: str


@dataclass(frozen=True, slots=True)
class RemoteItem:
    """A playable server item mapped to our media model.

    ``path`` is the file path as the server sees it (``""`` when the server does not say;
    for online items, a location that may be shown: no credentials, no query string);
    ``stream_key`` is what its stream URL is built from (Plex ``Part.key``, Jellyfin/Emby
    media source id, the URL of an online item). ``technical`` is ``None`` when the item
    could not be read (``metadata`` then says why, with the status ``failed``).
    """

    remote_id: str
    stamp: str
    path: str
    stream_key: str
    size: int
    metadata: MediaMetadata
    technical: TechnicalInfo | None


@dataclass(frozen=True, slots=True)
class RemoteCollection:
    """A server collection or playlist: its title and its members' server ids, in order."""

    external_id: str
    title: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mirrored:
    """The collections and playlists a server lets us read, and why others were left out."""

    collections: tuple[RemoteCollection, ...] = ()
    problems: tuple[ScanProblem, ...] = ()


class Catalogue(Protocol):
    """What the sync reads from a source. Every method raises ``SourceUnavailable`` when the
    source cannot be reached or refuses the credentials, and ``SourceResponseInvalid`` for
    an answer that is malformed, hostile or too large."""

    def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        """Every item of ``library``, page by page."""
        ...

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        """The items with these ids (ids the server no longer has, or that have no playable
        file, are left out). Ids a short answer left out are asked for again until the
        server returns nothing more."""
        ...

    async def collections(self, library: RemoteLibrary) -> Mirrored: ...

    async def aclose(self) -> None: ...


class Checked(Catalogue, Protocol):
    """An online source whose stream URLs are played as they are (files, HLS, live
    channels): a quick check before FFmpeg opens one."""

    async def check(self, url: str) -> None:
        """Raise ``SourceUnavailable`` unless ``url`` answers now."""
        ...


class MediaServerClient(Catalogue, Protocol):
    """A thin async client of one Plex, Jellyfin or Emby server."""

    async def info(self) -> ServerInfo: ...

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


@runtime_checkable
class ChangeFeed(Protocol):
    """A server that can list only what changed (Plex: ``updatedAt>>``) and count a
    library cheaply, so a resync need not list every item."""

    async def count(self, library: RemoteLibrary) -> int:
        """How many items ``library`` lists now."""
        ...

    def changed(self, library: RemoteLibrary, since: int) -> AsyncIterator[list[RemoteStamp]]:
        """Every item of ``library`` whose change stamp (epoch seconds) is after ``since``,
        page by page."""
        ...


@runtime_checkable
class ListingSource(Protocol):
    """A source whose live items have a guide of their own (an IPTV playlist's XMLTV)."""

    async def listings(
        self, library: RemoteLibrary, window: tuple[int, int]
    ) -> tuple[dict[str, list[Listing]], tuple[ScanProblem, ...]]:
        """The listings overlapping ``window`` (UTC ms) by item id, and what went wrong
        reading them (a guide that cannot be read is a problem, not a failed scan)."""
        ...

"""Media files and HLS VOD playlists at HTTP(S) URLs, probed like local files.

Each URL is one item: its id is made from the URL, its change stamp from a ``HEAD``
(``ETag``, ``Last-Modified``, ``Content-Length``), its technical facts from ffprobe over
HTTP (network protocols only, with a read timeout), its title from the URL's file name as
for a local file. When no URL answers at all, listing fails (nothing is marked missing);
a URL that does not answer, or that ffprobe cannot read, is an item that failed with the
reason, read again at the next scan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.locations import shown_url, stable_id
from exstreamtv.domain.media import MediaKind, MetadataSource, MetadataStatus
from exstreamtv.errors import ProbeFailed, SourceUnavailable
from exstreamtv.ffmpeg.probe import probe_url
from exstreamtv.formats.filename import parse_media_path
from exstreamtv.sources.base import Mirrored, RemoteItem, RemoteLibrary, RemoteStamp
from exstreamtv.sources.server_http import ServerHttp

RETRY = "retry"
_HINTS = {
    LibraryKind.MOVIES: MediaKind.MOVIE,
    LibraryKind.SHOWS: MediaKind.EPISODE,
    LibraryKind.MUSIC_VIDEOS: MediaKind.MUSIC_VIDEO,
    LibraryKind.OTHER: MediaKind.OTHER,
}


class RemoteFilesClient:
    """One source of ``urls`` (see :class:`~exstreamtv.sources.base.Catalogue`)."""

    def __init__(
        self, http: ServerHttp, urls: Sequence[str], *, ffprobe: str, probe_timeout: float
    ) -> None:
        self._http, self._ffprobe, self._timeout = http, ffprobe, probe_timeout
        self._urls = {stable_id(url): url for url in dict.fromkeys(urls)}
        self._down: dict[str, str] = {}  # id -> why its HEAD failed
        self._stamps: dict[str, str] = {}

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        del library
        stamps, failures = [], []
        for item_id, url in self._urls.items():
            try:
                headers = await self._http.head(url)
            except SourceUnavailable as err:
                failures.append(err)
                self._down[item_id] = err.message
                stamps.append(RemoteStamp(item_id, RETRY))
                continue
            self._down.pop(item_id, None)
            parts = (headers.get(k, "") for k in ("etag", "last-modified", "content-length"))
            self._stamps[item_id] = stable_id(*parts)
            stamps.append(RemoteStamp(item_id, self._stamps[item_id]))
        if stamps and len(failures) == len(stamps):
            raise failures[0]  # the whole source is unreachable: change nothing
        yield stamps

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        hint = _HINTS.get(library.kind or LibraryKind.OTHER)
        return [await self._item(item_id, hint) for item_id in ids if item_id in self._urls]

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        del library
        return Mirrored()

    async def check(self, url: str) -> None:
        await self._http.head(url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _item(self, item_id: str, hint: MediaKind | None) -> RemoteItem:
        url = self._urls[item_id]
        name = unquote(urlsplit(url).path).lstrip("/") or "index"
        metadata = replace(
            parse_media_path(PurePosixPath(name), hint), source=MetadataSource.FILENAME
        )
        reason = self._down.get(item_id)
        technical = None
        if reason is None:
            try:
                technical = await probe_url(url, ffprobe=self._ffprobe, timeout=self._timeout)
            except ProbeFailed as err:
                reason = err.message
        if reason is not None:
            metadata = replace(metadata, status=MetadataStatus.FAILED, reason=reason)
        stamp = RETRY if technical is None else self._stamps.get(item_id, "")
        return RemoteItem(item_id, stamp, shown_url(url), url, 0, metadata, technical)

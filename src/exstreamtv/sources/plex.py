"""A thin async Plex Media Server client (XML API, parsed with defusedxml).

What it relies on (see the Plex API notes in the docs): the token in the ``X-Plex-Token``
header; paging with ``X-Plex-Container-Start``/``-Size``, advancing by the items actually
returned and taking the total only from ``totalSize`` (a short page is never the end: the
listing goes on until the total, and an empty page before it is an error); movies as
``type=1`` and episodes as ``type=4`` of a section; full items (streams, ``Guid``, chapters)
from ``/library/metadata/{id,id,...}?includeChapters=1``, asking again for ids a short
answer left out; ``updatedAt`` (epoch seconds) as the change stamp, and the media-query
filter ``updatedAt>>`` (on the wire the key is ``updatedAt>>``, the value the time) to list
only what changed; ``X-Plex-Container-Size=0`` to count; the direct file at
``{base}{Part.key}`` (the token in its header too).

XML with a DTD or entities is refused (no billion laughs, no external entities).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from urllib.parse import quote

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import SecretStr

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    Artwork,
    Chapter,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    TechnicalInfo,
)
from exstreamtv.errors import SourceResponseInvalid, SourceUnavailable
from exstreamtv.sources.base import (
    Mirrored,
    RemoteCollection,
    RemoteItem,
    RemoteLibrary,
    RemoteStamp,
    ServerInfo,
    every_detail,
)
from exstreamtv.sources.server_http import ServerHttp, parse_off_loop

PAGE_SIZE = 200
DETAIL_BATCH = 50
MAX_PAGES = 100_000
_NONE_AGENTS = ("tv.plex.agents.none", "com.plexapp.agents.none")
_LEGACY_GUID = re.compile(r"^com\.plexapp\.agents\.(imdb|themoviedb|thetvdb)://([^/?]+)")
_PROVIDERS = {
    "imdb": "imdb",
    "tmdb": "tmdb",
    "tvdb": "tvdb",
    "themoviedb": "tmdb",
    "thetvdb": "tvdb",
}


def plex_headers(token: SecretStr, client_id: str) -> dict[str, str]:
    """Request headers: exactly ``Accept: application/xml`` plus our identity and token."""
    return {
        "Accept": "application/xml",
        "X-Plex-Token": token.get_secret_value(),
        "X-Plex-Client-Identifier": client_id,
        "X-Plex-Product": "EXStreamTV",
    }


class PlexClient:
    """One Plex server (see :class:`~exstreamtv.sources.base.MediaServerClient`)."""

    def __init__(self, http: ServerHttp, token: SecretStr, *, page_size: int = PAGE_SIZE) -> None:
        self._http, self._token, self._page_size = http, token, page_size

    async def info(self) -> ServerInfo:
        """``GET /`` validates the token (``/identity`` would not); then the sections."""
        root = await self._xml("/")
        sections = await self._xml("/library/sections")
        libraries = tuple(_section(d) for d in sections.iter("Directory"))
        return ServerInfo(
            name=_text(root, "friendlyName") or "Plex Media Server",
            version=_text(root, "version") or "",
            server_id=_text(root, "machineIdentifier") or "",
            libraries=libraries,
        )

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        async for page in self._listing(library, {}):
            yield page

    async def changed(self, library: RemoteLibrary, since: int) -> AsyncIterator[list[RemoteStamp]]:
        """Items updated after ``since`` (epoch seconds): ``updatedAt>>`` is strict."""
        async for page in self._listing(library, {"updatedAt>>": since}):
            yield page

    async def count(self, library: RemoteLibrary) -> int:
        """``totalSize`` of a zero-size page of the section's movies or episodes."""
        path = f"/library/sections/{quote(library.external_id)}/all"
        query = {
            "type": _list_type(library),
            "X-Plex-Container-Start": 0,
            "X-Plex-Container-Size": 0,
        }
        total = _int(await self._xml(path, query), "totalSize")
        if total is None:
            raise SourceResponseInvalid(f"Plex did not count the items of {library.title!r}")
        return total

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        return await every_detail(ids, DETAIL_BATCH, lambda keys: self._details(library, keys))

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        """The section's collections, then every video playlist of the server."""
        found = []
        section = quote(library.external_id)
        async for page in self._pages(f"/library/sections/{section}/collections", {}):
            for directory in page:
                key = directory.get("ratingKey")
                if key:
                    members = await self._members(f"/library/collections/{quote(key)}/children")
                    found.append(RemoteCollection(key, _text(directory, "title") or key, members))
        async for page in self._pages("/playlists", {"playlistType": "video"}):
            for playlist in page:
                key = playlist.get("ratingKey")
                if key:
                    members = await self._members(f"/playlists/{quote(key)}/items")
                    found.append(RemoteCollection(key, _text(playlist, "title") or key, members))
        return Mirrored(tuple(found))

    def open_stream(
        self, remote_id: str, stream_key: str | None, headers: Mapping[str, str]
    ) -> AbstractAsyncContextManager[httpx.Response]:
        return self._http.stream(self._part_url(remote_id, stream_key), headers)

    async def reachable(self, remote_id: str, stream_key: str | None) -> None:
        await self._http.head(self._part_url(remote_id, stream_key))

    def _part_url(self, remote_id: str, stream_key: str | None) -> str:
        if not stream_key or not stream_key.startswith("/library/parts/"):
            raise SourceUnavailable(f"Plex item {remote_id} has no playable file part")
        return f"{self._http.base_url}{stream_key}"

    async def reload_guide(self) -> int:
        """Ask every DVR of the server to reload its guide; returns how many were asked."""
        root = await self._xml("/livetv/dvrs")
        keys = [d.get("key") for d in root.iter("Dvr") if d.get("key")]
        for key in keys:
            await self._http.post(f"/livetv/dvrs/{quote(str(key))}/reloadGuide")
        return len(keys)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _members(self, path: str) -> tuple[str, ...]:
        members: list[str] = []
        async for page in self._pages(path, {}):
            members.extend(key for e in page if (key := e.get("ratingKey")))
        return tuple(members)

    async def _listing(
        self, library: RemoteLibrary, filters: Mapping[str, str | int]
    ) -> AsyncIterator[list[RemoteStamp]]:
        path = f"/library/sections/{quote(library.external_id)}/all"
        async for page in self._pages(path, {"type": _list_type(library), **filters}):
            yield [
                RemoteStamp(_required(v, "ratingKey"), _text(v, "updatedAt") or "")
                for v in page
                if v.get("ratingKey")
            ]

    async def _details(
        self, library: RemoteLibrary, keys: Sequence[str]
    ) -> dict[str, RemoteItem | None]:
        """What one ``/library/metadata/{keys}`` answer holds, by key (``None``: the item
        has no playable file). Keys the answer leaves out are absent."""
        joined = ",".join(quote(key, safe="") for key in keys)
        body = await self._http.get(
            f"/library/metadata/{joined}", {"includeChapters": 1}, missing_ok=True
        )
        if body is None:  # none of these ids exists any more
            return {}
        root = await parse_off_loop(parse_plex_xml, body, "/library/metadata")
        return {
            _required(video, "ratingKey"): _item(video, library, self._http.base_url)
            for video in root.iter("Video")
        }

    async def _pages(
        self, path: str, params: Mapping[str, str | int]
    ) -> AsyncIterator[list[ET.Element]]:
        """Children of ``MediaContainer`` page by page. The offset advances by what came;
        the listing ends at ``totalSize`` (the latest one given) or, when the server gives
        none, at an empty page: a short page is never taken as the end. An empty page before
        the total, or the same page twice, raises SourceResponseInvalid."""
        offset, previous = 0, b""
        for _ in range(MAX_PAGES):
            query = {
                **params,
                "X-Plex-Container-Start": offset,
                "X-Plex-Container-Size": self._page_size,
            }
            root = await self._xml(path, query)
            page = list(root)
            total = _int(root, "totalSize")
            if total is None and page:  # without a total, only repetition shows broken paging
                seen, previous = previous, b"".join(ET.tostring(e) for e in page)
                if seen == previous:
                    raise SourceResponseInvalid(
                        f"{self._http.name!r} sent the same page again while listing {path};"
                        " its paging is broken"
                    )
            if page:
                yield page
            offset += len(page)
            if total is not None and offset >= total:
                return
            if not page:
                if total is None:
                    return
                raise SourceResponseInvalid(
                    f"Plex listing {path} stopped after {offset} of {total} items"
                )
        raise SourceResponseInvalid(f"Plex listing {path} did not end after {MAX_PAGES} pages")

    async def _xml(self, path: str, params: Mapping[str, str | int] | None = None) -> ET.Element:
        body = await self._http.get(path, params)
        assert body is not None  # noqa: S101 - only missing_ok=True returns None
        return await parse_off_loop(parse_plex_xml, body, path)


def parse_plex_xml(body: bytes, path: str) -> ET.Element:
    """The ``MediaContainer`` of a Plex answer; raises SourceResponseInvalid for malformed
    XML, a DTD or entities (billion laughs, external entities) or another root element."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise SourceResponseInvalid(
            f"Plex answer for {path} was refused: it declares a DTD or entities"
        ) from err
    except ET.ParseError as err:
        raise SourceResponseInvalid(f"Plex answer for {path} is not valid XML: {err}") from err
    if root.tag != "MediaContainer":
        raise SourceResponseInvalid(f"Plex answer for {path} is not a MediaContainer")
    return root


def _section(directory: ET.Element) -> RemoteLibrary:
    kind: LibraryKind | None = None
    section_type = directory.get("type")
    if section_type == "movie":
        kind = LibraryKind.OTHER if directory.get("agent") in _NONE_AGENTS else LibraryKind.MOVIES
    elif section_type == "show":
        kind = LibraryKind.SHOWS
    paths = tuple(p for loc in directory.iter("Location") if (p := loc.get("path")))
    key = _required(directory, "key")
    return RemoteLibrary(key, _text(directory, "title") or key, kind, paths)


def _list_type(library: RemoteLibrary) -> int:
    if library.kind is LibraryKind.SHOWS:
        return 4
    if library.kind in (LibraryKind.MOVIES, LibraryKind.OTHER):
        return 1
    raise SourceUnavailable(f"Plex library {library.title!r} holds no movies or episodes")


def _item(video: ET.Element, library: RemoteLibrary, base_url: str) -> RemoteItem | None:
    """A full ``Video`` as our item; ``None`` when it has no file (not playable)."""
    key = _required(video, "ratingKey")
    medias = [m for m in video.findall("Media") if m.find("Part") is not None]
    if not medias:
        return None
    media = max(medias, key=lambda m: _int(m, "id") or 0)  # as ErsatzTV: highest id wins
    part = media.find("Part")
    assert part is not None  # noqa: S101 - filtered above
    stream_key = _text(part, "key") or ""
    duration = _int(video, "duration") or _int(media, "duration") or _int(part, "duration") or 0
    return RemoteItem(
        remote_id=key,
        stamp=_text(video, "updatedAt") or "",
        path=_text(part, "file") or "",
        stream_key=stream_key,
        size=_int(part, "size") or 0,
        metadata=_metadata(video, library, base_url),
        technical=_technical(video, media, part, duration),
    )


def _metadata(video: ET.Element, library: RemoteLibrary, base_url: str) -> MediaMetadata:
    episode = video.get("type") == "episode"
    kind = MediaKind.EPISODE if episode else MediaKind.MOVIE
    if library.kind is LibraryKind.OTHER and not episode:
        kind = MediaKind.OTHER
    return MediaMetadata(
        kind=kind,
        title=_text(video, "title") or _required(video, "ratingKey"),
        source=MetadataSource.SERVER,
        show=_text(video, "grandparentTitle") if episode else None,
        season=_int(video, "parentIndex") if episode else None,
        episode=_int(video, "index") if episode else None,
        year=_int(video, "year"),
        plot=_text(video, "summary"),
        genres=tuple(t for g in video.findall("Genre") if (t := g.get("tag"))),
        content_rating=_text(video, "contentRating"),
        artwork=Artwork(
            poster=_art(base_url, video.get("grandparentThumb") if episode else video.get("thumb")),
            thumb=_art(base_url, video.get("thumb")),
            fanart=_art(base_url, video.get("art")),
        ),
        external_ids=_guids(video),
    )


def _technical(
    video: ET.Element, media: ET.Element, part: ET.Element, duration: int
) -> TechnicalInfo:
    streams = part.findall("Stream")
    v = next((s for s in streams if s.get("streamType") == "1"), None)
    a = next((s for s in streams if s.get("streamType") == "2" and s.get("selected") == "1"), None)
    a = a or next((s for s in streams if s.get("streamType") == "2"), None)
    chapters = []
    for c in video.findall("Chapter"):
        start, end = _int(c, "startTimeOffset"), _int(c, "endTimeOffset")
        if start is not None and end is not None and 0 <= start < end:
            chapters.append(Chapter(start, end, c.get("tag")))
    return TechnicalInfo(
        duration_ms=duration,
        container=_text(part, "container") or _text(media, "container"),
        video_codec=(_text(v, "codec") if v is not None else None) or _text(media, "videoCodec"),
        width=(_int(v, "width") if v is not None else None) or _int(media, "width"),
        height=(_int(v, "height") if v is not None else None) or _int(media, "height"),
        fps=_float(v, "frameRate") if v is not None else None,
        pixel_format=None,
        audio_codec=(_text(a, "codec") if a is not None else None) or _text(media, "audioCodec"),
        audio_channels=(_int(a, "channels") if a is not None else None)
        or _int(media, "audioChannels"),
        sample_rate=_int(a, "samplingRate") if a is not None else None,
        chapters=tuple(chapters),
    )


def _guids(video: ET.Element) -> tuple[tuple[str, str], ...]:
    """``imdb``/``tmdb``/``tvdb`` ids from ``Guid`` children and legacy ``guid`` values."""
    found: dict[str, str] = {}
    legacy = _LEGACY_GUID.match(video.get("guid") or "")
    if legacy:
        found[_PROVIDERS[legacy.group(1)]] = legacy.group(2)
    for guid in video.findall("Guid"):
        scheme, _, value = (guid.get("id") or "").partition("://")
        if scheme in _PROVIDERS and value:
            found[_PROVIDERS[scheme]] = value
    return tuple(sorted(found.items()))


def _art(base_url: str, path: str | None) -> str | None:
    """An artwork URL without a token (fetching it needs the token, added by whoever asks)."""
    return f"{base_url}{path}" if path and path.startswith("/") else None


def _text(element: ET.Element, name: str) -> str | None:
    value = element.get(name)
    return value if value else None


def _required(element: ET.Element, name: str) -> str:
    value = element.get(name)
    if not value:
        raise SourceResponseInvalid(f"Plex {element.tag} without {name}")
    return value


def _int(element: ET.Element, name: str) -> int | None:
    value = element.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise SourceResponseInvalid(
            f"Plex {element.tag} {element.get('ratingKey') or ''} has {name}={value[:40]!r},"
            " which is not a whole number"
        ) from None


def _float(element: ET.Element, name: str) -> float | None:
    value = element.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise SourceResponseInvalid(
            f"Plex {element.tag} has {name}={value[:40]!r}, which is not a number"
        ) from None

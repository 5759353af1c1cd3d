"""A thin async client for Jellyfin and Emby, which share most of their API.

Where they agree: PascalCase JSON, ``/Items`` with ``ParentId``/``Recursive``/
``IncludeItemTypes``/``Fields``/``StartIndex``/``Limit`` (a ``QueryResult`` of ``Items`` and
``TotalRecordCount``), ``/Library/VirtualFolders`` (a bare array), ``RunTimeTicks`` (100 ns),
``ProviderIds``, the ``Etag`` field as the change stamp (it is derived from the item's
``DateLastSaved``, which the API does not expose), and ``/Videos/{id}/stream?static=true``.

Where they differ (:class:`Flavour`): the base path (bare for Jellyfin, ``/emby`` for Emby),
the token header (``Authorization: MediaBrowser ..., Token="..."`` for Jellyfin, which 12.0
requires; ``X-Emby-Token`` for Emby), the token in a stream URL (``ApiKey=`` / ``api_key=``),
and Emby's chapter markers (``MarkerType`` other than ``Chapter`` are intro/credit marks).

Lists are paged to ``TotalRecordCount`` (a short page is never the end; an empty page before
the total is an error); details (``/Items?Ids=``) are asked for again for every id a short
answer left out. Playlists belong to users: they are read through the source's chosen user
(``UserId``); without one, or when that user may not read a playlist, the playlist is left
out and the scan lists a problem saying so. A user token from :func:`sign_in` that may not
list the server's libraries (not an administrator) reads that user's views instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from exstreamtv.domain.libraries import LibraryKind, ScanProblem, SourceKind
from exstreamtv.domain.media import (
    Artwork,
    Chapter,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    TechnicalInfo,
)
from exstreamtv.errors import InvalidInput, SourceResponseInvalid, SourceUnavailable
from exstreamtv.sources.base import (
    Mirrored,
    RemoteCollection,
    RemoteItem,
    RemoteLibrary,
    RemoteStamp,
    ServerInfo,
    ServerUser,
    every_detail,
)
from exstreamtv.sources.server_http import ServerHttp, parse_off_loop

PAGE_SIZE = 200
DETAIL_BATCH = 50
MAX_PAGES = 100_000
TICKS_PER_MS = 10_000
DETAIL_FIELDS = "Path,MediaSources,ProviderIds,Overview,Genres,Chapters,Etag,DateCreated"
_KINDS: dict[str | None, tuple[LibraryKind, str]] = {
    "movies": (LibraryKind.MOVIES, "Movie"),
    "tvshows": (LibraryKind.SHOWS, "Episode"),
    "musicvideos": (LibraryKind.MUSIC_VIDEOS, "MusicVideo"),
    "homevideos": (LibraryKind.OTHER, "Video"),
    "mixed": (LibraryKind.MIXED, "Movie,Episode,MusicVideo,Video"),
    None: (LibraryKind.MIXED, "Movie,Episode,MusicVideo,Video"),
}
_ITEM_KINDS = {
    "Movie": MediaKind.MOVIE,
    "Episode": MediaKind.EPISODE,
    "MusicVideo": MediaKind.MUSIC_VIDEO,
    "Video": MediaKind.OTHER,
}
_ITEM_TYPES_BY_KIND = dict(_KINDS.values())
_NO_USER = (
    "not mirrored: playlists belong to users; choose the source's user (user_id) or sign in"
    " with a user name and password"
)


@dataclass(frozen=True, slots=True)
class Flavour:
    """The differences between Jellyfin and Emby that the client switches on."""

    name: str
    prefix: str
    url_token_param: str

    @classmethod
    def of(cls, kind: SourceKind) -> Flavour:
        if kind is SourceKind.JELLYFIN:
            return cls("Jellyfin", "", "ApiKey")
        if kind is SourceKind.EMBY:
            return cls("Emby", "/emby", "api_key")
        raise ValueError(f"{kind} is not Jellyfin or Emby")


def jellyfin_headers(
    kind: SourceKind, token: SecretStr | None, device_id: str, version: str
) -> dict[str, str]:
    """The token header of ``kind``: the ``MediaBrowser`` scheme for Jellyfin, ``X-Emby-Token``
    for Emby. Without a token (to sign in): the client identity alone, as the
    ``MediaBrowser`` header for Jellyfin and ``X-Emby-Authorization`` for Emby."""
    identity = (
        f'Client="EXStreamTV", Device="exstreamtv", DeviceId="{quote(device_id)}",'
        f' Version="{quote(version)}"'
    )
    if token is None:
        if kind is SourceKind.EMBY:
            return {"Accept": "application/json", "X-Emby-Authorization": f"Emby {identity}"}
        return {"Accept": "application/json", "Authorization": f"MediaBrowser {identity}"}
    secret = token.get_secret_value()
    if kind is SourceKind.EMBY:
        return {"Accept": "application/json", "X-Emby-Token": secret}
    value = f'MediaBrowser {identity}, Token="{quote(secret, safe="")}"'
    return {"Accept": "application/json", "Authorization": value}


async def sign_in(
    http: ServerHttp, kind: SourceKind, username: str, password: SecretStr
) -> tuple[SecretStr, str]:
    """``POST /Users/AuthenticateByName`` once; returns the access token and the user's id.

    ``http`` carries the identity headers of ``jellyfin_headers(kind, None, ...)``. Raises
    InvalidInput when the server refuses the name or password, SourceUnavailable when it
    cannot be reached, SourceResponseInvalid for a malformed answer. The password is sent
    in the body only and appears in no message.
    """
    flavour = Flavour.of(kind)
    status, body = await http.post_json(
        f"{flavour.prefix}/Users/AuthenticateByName",
        {"Username": username, "Pw": password.get_secret_value()},
    )
    if status in (400, 401, 403):
        raise InvalidInput(f"{flavour.name} refused the user name or password (HTTP {status})")
    if status != 200:
        raise SourceUnavailable(f"{flavour.name} sign-in answered HTTP {status}")
    try:
        answer = json.loads(body)
    except ValueError as err:
        raise SourceResponseInvalid(f"{flavour.name} sign-in answer is not JSON") from err
    result = _object(answer, "a sign-in answer")
    user = _object(result.get("User"), "a sign-in user")
    return SecretStr(_required_str(result, "AccessToken")), _required_str(user, "Id")


class JellyfinClient:
    """One Jellyfin or Emby server (see :class:`~exstreamtv.sources.base.MediaServerClient`)."""

    def __init__(
        self,
        http: ServerHttp,
        token: SecretStr,
        kind: SourceKind,
        *,
        page_size: int = PAGE_SIZE,
        user_id: str | None = None,
    ) -> None:
        self._http, self._token, self._page_size = http, token, page_size
        self.flavour = Flavour.of(kind)
        self.user_id = user_id

    async def info(self) -> ServerInfo:
        system = _object(await self._json("/System/Info"), "/System/Info")
        return ServerInfo(
            name=_str(system, "ServerName") or self.flavour.name,
            version=_str(system, "Version") or "",
            server_id=_str(system, "Id") or "",
            libraries=await self._libraries(),
            users=await self._users(),
        )

    async def _libraries(self) -> tuple[RemoteLibrary, ...]:
        """The server's libraries (administrators), else the chosen user's views."""
        folders = await self._json("/Library/VirtualFolders", refused_ok=True)
        if folders is None and self.user_id is not None:
            views = _object(
                await self._json(f"/Users/{quote(self.user_id, safe='')}/Views"), "/Views"
            )
            return tuple(self._view(_object(v, "a view")) for v in _list(views, "Items"))
        if folders is None:
            raise SourceUnavailable(
                f"{self.flavour.name} refused to list its libraries to this token (HTTP 403);"
                " use an API key or an administrator's sign-in"
            )
        if not isinstance(folders, list):
            raise self._invalid("/Library/VirtualFolders", "is not a list")
        return tuple(self._library(_object(f, "a library")) for f in folders)

    async def _users(self) -> tuple[ServerUser, ...]:
        """Users an administrator token may list (others get none)."""
        users = await self._json("/Users", refused_ok=True)
        if not isinstance(users, list):
            return ()
        found = [_object(u, "a user") for u in users]
        return tuple(
            ServerUser(_required_str(u, "Id"), _str(u, "Name") or _required_str(u, "Id"))
            for u in found
        )

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        params = {**self._scope(library), "Fields": "Etag", "EnableImages": "false"}
        async for page in self._pages("/Items", params):
            yield [
                RemoteStamp(_required_str(item, "Id"), _str(item, "Etag") or "")
                for item in page
                if _str(item, "LocationType") != "Virtual"
            ]

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        del library  # ids are unique server-wide
        return await every_detail(ids, DETAIL_BATCH, self._details)

    async def _details(self, ids: Sequence[str]) -> dict[str, RemoteItem | None]:
        """What one ``/Items?Ids=`` answer holds, by id (``None``: no playable file)."""
        params = {
            "Ids": ",".join(ids),
            "Fields": DETAIL_FIELDS,
            "EnableUserData": "false",
        }
        result = _object(await self._json("/Items", params), "/Items")
        raws = [_object(raw, "an item") for raw in _list(result, "Items")]
        return {_required_str(raw, "Id"): self._item(raw) for raw in raws}

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        """Every BoxSet, then every playlist the chosen user may read (both are server-wide,
        not per library). Playlists left out are listed as problems."""
        del library
        found: list[RemoteCollection] = []
        kinds = {"IncludeItemTypes": "BoxSet", "Recursive": "true"}
        async for page in self._pages("/Items", kinds):
            for entry in page:
                key = _required_str(entry, "Id")
                members = await self._members("/Items", {"ParentId": key})
                if members is not None:
                    found.append(RemoteCollection(key, _str(entry, "Name") or key, members))
        playlists, problems = await self._playlists()
        return Mirrored(tuple(found + playlists), tuple(problems))

    async def _playlists(self) -> tuple[list[RemoteCollection], list[ScanProblem]]:
        user = {} if self.user_id is None else {"UserId": self.user_id}
        kinds = {"IncludeItemTypes": "Playlist", "Recursive": "true", **user}
        found: list[RemoteCollection] = []
        problems: list[ScanProblem] = []
        async for page in self._pages("/Items", kinds):
            for entry in page:
                key = _required_str(entry, "Id")
                title = _str(entry, "Name") or key
                where = f"{self.flavour.name} playlist {title!r}"
                if self.user_id is None:
                    problems.append(ScanProblem(where, _NO_USER))
                    continue
                members = await self._members(f"/Playlists/{quote(key, safe='')}/Items", user)
                if members is None:
                    problems.append(ScanProblem(where, "the chosen user may not read it"))
                else:
                    found.append(RemoteCollection(key, title, members))
        return found, problems

    def open_stream(
        self, remote_id: str, stream_key: str | None, headers: Mapping[str, str]
    ) -> AbstractAsyncContextManager[httpx.Response]:
        return self._http.stream(self._stream(remote_id, stream_key), headers)

    async def reachable(self, remote_id: str, stream_key: str | None) -> None:
        await self._http.head(self._stream(remote_id, stream_key))

    def _stream(self, remote_id: str, stream_key: str | None) -> str:
        """The direct-stream URL without the token (static: the file as it is)."""
        source = quote(stream_key or remote_id, safe="")
        return (
            f"{self._http.base_url}{self.flavour.prefix}/Videos/{quote(remote_id, safe='')}"
            f"/stream?static=true&MediaSourceId={source}"
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _scope(self, library: RemoteLibrary) -> dict[str, str]:
        types = _ITEM_TYPES_BY_KIND.get(library.kind) if library.kind else None
        if types is None:
            raise SourceUnavailable(f"{self.flavour.name} library {library.title!r} holds no video")
        return {
            "ParentId": library.external_id,
            "Recursive": "true",
            "IncludeItemTypes": types,
            "CollapseBoxSetItems": "false",
            "ExcludeLocationTypes": "Virtual",
            "EnableUserData": "false",
            "SortBy": "SortName",
            "SortOrder": "Ascending",
        }

    async def _members(self, path: str, params: Mapping[str, str]) -> tuple[str, ...] | None:
        """Member ids, or ``None`` when the listing answers 404 or 403 (a playlist we may not
        read)."""
        probe = {**params, "Limit": "0"}
        if await self._json(path, probe, missing_ok=True, refused_ok=True) is None:
            return None
        members: list[str] = []
        async for page in self._pages(path, params):
            members.extend(_required_str(item, "Id") for item in page)
        return tuple(members)

    async def _pages(
        self, path: str, params: Mapping[str, str]
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        """``Items`` page by page (``StartIndex``/``Limit``). The offset advances by what came;
        the listing ends at ``TotalRecordCount`` (the latest one given) or, without one, at an
        empty page: a short page is never the end. An empty page before the total, or the
        same page twice without a total, raises SourceResponseInvalid."""
        offset, previous = 0, None
        for _ in range(MAX_PAGES):
            query = {
                **params,
                "StartIndex": str(offset),
                "Limit": str(self._page_size),
                "EnableTotalRecordCount": "true",
            }
            result = _object(await self._json(path, query), path)
            page = [_object(item, "an item") for item in _list(result, "Items")]
            total = _int(result, "TotalRecordCount")
            if total is None and page:  # without a total, only repetition shows broken paging
                seen, previous = previous, page
                if seen == page:
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
                    f"{self.flavour.name} listing {path} stopped after {offset} of {total} items"
                )
        raise SourceResponseInvalid(f"{self.flavour.name} listing {path} did not end")

    async def _json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        missing_ok: bool = False,
        refused_ok: bool = False,
    ) -> Any:
        body = await self._http.get(
            self.flavour.prefix + path, params, missing_ok=missing_ok, refused_ok=refused_ok
        )
        if body is None:
            return None
        return await parse_off_loop(self._decode, body, path)

    def _decode(self, body: bytes, path: str) -> Any:
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as err:
            raise self._invalid(path, "is not valid JSON") from err

    def _invalid(self, path: str, what: str) -> SourceResponseInvalid:
        return SourceResponseInvalid(f"{self.flavour.name} answer for {path} {what}")

    def _library(self, folder: Mapping[str, Any]) -> RemoteLibrary:
        collection_type = _str(folder, "CollectionType")
        kind = _KINDS.get(collection_type)
        item_id = _required_str(folder, "ItemId")
        paths = folder.get("Locations") or []
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise self._invalid("/Library/VirtualFolders", "has Locations that are not strings")
        return RemoteLibrary(
            item_id, _str(folder, "Name") or item_id, kind[0] if kind else None, tuple(paths)
        )

    def _view(self, view: Mapping[str, Any]) -> RemoteLibrary:
        """A user view (``/Users/{id}/Views``) as a library; its folders are not listed."""
        kind = _KINDS.get(_str(view, "CollectionType"))
        item_id = _required_str(view, "Id")
        return RemoteLibrary(item_id, _str(view, "Name") or item_id, kind[0] if kind else None)

    def _item(self, raw: Mapping[str, Any]) -> RemoteItem | None:
        """Our item for a full ``BaseItemDto``; ``None`` when it has no file to play."""
        kind = _ITEM_KINDS.get(_str(raw, "Type") or "")
        sources = _list(raw, "MediaSources")
        if kind is None or not sources or _str(raw, "LocationType") == "Virtual":
            return None
        source = _object(sources[0], "a media source")
        item_id = _required_str(raw, "Id")
        ticks = _int(raw, "RunTimeTicks") or _int(source, "RunTimeTicks") or 0
        duration = ticks // TICKS_PER_MS
        return RemoteItem(
            remote_id=item_id,
            stamp=_str(raw, "Etag") or "",
            path=_str(source, "Path") or _str(raw, "Path") or "",
            stream_key=_str(source, "Id") or item_id,
            size=_int(source, "Size") or 0,
            metadata=self._metadata(raw, kind, item_id),
            technical=self._technical(raw, source, duration),
        )

    def _metadata(self, raw: Mapping[str, Any], kind: MediaKind, item_id: str) -> MediaMetadata:
        episode = kind is MediaKind.EPISODE
        genres = raw.get("Genres") or []
        if not isinstance(genres, list):
            raise self._invalid("/Items", f"item {item_id} has Genres that is not a list")
        providers = raw.get("ProviderIds") or {}
        if not isinstance(providers, dict):
            raise self._invalid("/Items", f"item {item_id} has ProviderIds that is not an object")
        external = {
            name.lower(): value
            for name, value in providers.items()
            if name in ("Imdb", "Tmdb", "Tvdb") and isinstance(value, str) and value
        }
        return MediaMetadata(
            kind=kind,
            title=_str(raw, "Name") or item_id,
            source=MetadataSource.SERVER,
            show=_str(raw, "SeriesName") if episode else None,
            season=_int(raw, "ParentIndexNumber") if episode else None,
            episode=_int(raw, "IndexNumber") if episode else None,
            year=_int(raw, "ProductionYear"),
            plot=_str(raw, "Overview"),
            genres=tuple(g for g in genres if isinstance(g, str)),
            content_rating=_str(raw, "OfficialRating"),
            artwork=self._artwork(raw, item_id, episode),
            external_ids=tuple(sorted(external.items())),
        )

    def _artwork(self, raw: Mapping[str, Any], item_id: str, episode: bool) -> Artwork:
        base = f"{self._http.base_url}{self.flavour.prefix}/Items"
        tags = raw.get("ImageTags") or {}
        primary = tags.get("Primary") if isinstance(tags, dict) else None
        own = f"{base}/{item_id}/Images/Primary?tag={primary}" if isinstance(primary, str) else None
        series, series_tag = _str(raw, "SeriesId"), _str(raw, "SeriesPrimaryImageTag")
        poster = (
            f"{base}/{series}/Images/Primary?tag={series_tag}" if series and series_tag else None
        )
        backdrops = raw.get("BackdropImageTags") or []
        fanart = None
        if isinstance(backdrops, list) and backdrops and isinstance(backdrops[0], str):
            fanart = f"{base}/{item_id}/Images/Backdrop/0?tag={backdrops[0]}"
        return Artwork(poster=(poster if episode else None) or own, thumb=own, fanart=fanart)

    def _technical(
        self, raw: Mapping[str, Any], source: Mapping[str, Any], duration: int
    ) -> TechnicalInfo:
        streams = [_object(s, "a media stream") for s in _list(source, "MediaStreams")]
        video = next((s for s in streams if s.get("Type") == "Video"), None)
        audio = [s for s in streams if s.get("Type") == "Audio"]
        chosen = next((s for s in audio if s.get("IsDefault") is True), audio[0] if audio else None)
        return TechnicalInfo(
            duration_ms=duration,
            container=_str(source, "Container"),
            video_codec=_str(video, "Codec") if video else None,
            width=_int(video, "Width") if video else None,
            height=_int(video, "Height") if video else None,
            fps=(_float(video, "AverageFrameRate") or _float(video, "RealFrameRate"))
            if video
            else None,
            pixel_format=_str(video, "PixelFormat") if video else None,
            audio_codec=_str(chosen, "Codec") if chosen else None,
            audio_channels=_int(chosen, "Channels") if chosen else None,
            sample_rate=_int(chosen, "SampleRate") if chosen else None,
            chapters=self._chapters(raw, duration),
        )

    def _chapters(self, raw: Mapping[str, Any], duration: int) -> tuple[Chapter, ...]:
        marks = []
        for entry in _list(raw, "Chapters"):
            chapter = _object(entry, "a chapter")
            if _str(chapter, "MarkerType") not in (None, "Chapter"):
                continue  # Emby's intro/credit markers are not chapters
            start = _int(chapter, "StartPositionTicks")
            if start is not None:
                marks.append((start // TICKS_PER_MS, _str(chapter, "Name")))
        marks.sort(key=lambda mark: mark[0])
        ends = [start for start, _ in marks[1:]] + [duration] * bool(marks)
        return tuple(
            Chapter(start, end, name) for (start, name), end in zip(marks, ends, strict=True)
            if 0 <= start < end
        )  # fmt: skip


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SourceResponseInvalid(f"media server sent {what} that is not a JSON object")
    return value


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SourceResponseInvalid(f"media server sent {key} that is not a list")
    return value


def _str(obj: Mapping[str, Any] | None, key: str) -> str | None:
    value = None if obj is None else obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SourceResponseInvalid(f"media server sent {key}={str(value)[:40]!r}, not a string")
    return value


def _required_str(obj: Mapping[str, Any], key: str) -> str:
    value = _str(obj, key)
    if value is None:
        raise SourceResponseInvalid(f"media server sent an item without {key}")
    return value


def _int(obj: Mapping[str, Any] | None, key: str) -> int | None:
    value = None if obj is None else obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SourceResponseInvalid(
            f"media server sent {key}={str(value)[:40]!r}, not a whole number"
        )
    return value


def _float(obj: Mapping[str, Any] | None, key: str) -> float | None:
    value = None if obj is None else obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceResponseInvalid(f"media server sent {key}={str(value)[:40]!r}, not a number")
    return float(value)

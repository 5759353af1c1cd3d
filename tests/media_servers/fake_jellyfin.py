"""A fake Jellyfin or Emby server (ASGI), one implementation with a flavour switch,
reproducing the endpoints, auth, paging and JSON the APIs document (see
tests/fixtures/jellyfin/README.md).

Reproduced: Jellyfin's ``Authorization: MediaBrowser ..., Token="..."`` header or ``ApiKey``
query (401 with an empty body otherwise); Emby's ``X-Emby-Token`` header or query and
``api_key``, under ``/emby`` and bare paths; case-insensitive query names; comma lists;
the ``Fields`` gate (``Path``, ``MediaSources``, ``ProviderIds``, ``Overview``, ``Genres``,
``Chapters``, ``Etag``, ``DateCreated`` only when asked); null properties omitted;
``StartIndex``/``Limit``/``TotalRecordCount`` (``StartIndex`` echoed by Jellyfin only);
``Ids``; an ``Etag`` that changes with the item; ``/Videos/{id}/stream`` with GET, HEAD and
ranges (unauthenticated on Jellyfin, keyed on Emby); 32-hex ids (Jellyfin) or decimal ids
and ``mediasource_N`` (Emby).

Users: an API key is an administrator with no user; ``POST /Users/AuthenticateByName``
(identity in ``Authorization: MediaBrowser ...`` for Jellyfin, ``X-Emby-Authorization: Emby
...`` for Emby; body ``Username``/``Pw``) gives a user token. ``/Users`` lists users for
administrators (403 otherwise), ``/Library/VirtualFolders`` is 403 for a non-administrator,
``/Users/{id}/Views`` lists a user's libraries. Playlists belong to a user:
``/Playlists/{id}/Items`` without ``UserId`` is 404 (as an API key gets from the real
servers), and 403 for another user's playlist.

Lists (``Items`` of every ``QueryResult``, ``Ids`` queries included) are capped at
``page_cap`` items per answer (3 unless a test says otherwise), as real servers may cap
large pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from tests.media_servers.catalogue import Catalogue, FakeItem, FakeLibrary

TOKEN = "jf-api-key-0123456789abcdef"
SERVER_ID = "61da34e7c2b44f0e9d1a2b3c4d5e6f70"
_TYPES = {"movie": "Movie", "episode": "Episode", "musicvideo": "MusicVideo", "video": "Video"}
_COLLECTION_TYPES = {
    "movie": "movies",
    "show": "tvshows",
    "homevideo": "homevideos",
    "musicvideo": "musicvideos",
}
_TOKEN_IN_HEADER = re.compile(r'(?i)\bToken="?([^",]+)"?')
_CLIENT_IN_HEADER = re.compile(r'(?i)\bClient="?([^",]+)"?')


@dataclass
class FakeUser:
    user_id: str
    name: str
    password: str
    admin: bool = False


@dataclass
class FakeJellyfin:
    flavour: str = "jellyfin"  # or "emby"
    catalogue: Catalogue = field(default_factory=Catalogue)
    token: str = TOKEN
    page_cap: int | None = 3
    users: dict[str, FakeUser] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)  # token -> user id
    sign_ins: list[dict[str, str]] = field(default_factory=list)
    overrides: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    detail_body: bytes | None = None  # a raw answer for item details (``/Items?Ids=``)
    requests: list[str] = field(default_factory=list)
    flaky: int = 0
    stream_requests: int = 0
    _listings: dict[tuple[str, frozenset[str]], tuple[tuple[int, int], list[Any]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        if self.flavour == "jellyfin" and self.catalogue.libraries == {}:
            self.catalogue = Catalogue(id_style="hex")

    def app(self) -> Starlette:
        prefixes = ["", "/emby"] if self.flavour == "emby" else [""]
        routes = []
        for prefix in prefixes:
            routes += [
                Route(f"{prefix}/System/Info", self.system_info),
                Route(f"{prefix}/System/Info/Public", self.public_info),
                Route(f"{prefix}/Library/VirtualFolders", self.virtual_folders),
                Route(f"{prefix}/Items", self.items),
                Route(f"{prefix}/Playlists/{{key}}/Items", self.playlist_items),
                Route(f"{prefix}/Users", self.list_users),
                Route(f"{prefix}/Users/AuthenticateByName", self.sign_in, methods=["POST"]),
                Route(f"{prefix}/Users/{{user}}/Views", self.views),
                Route(f"{prefix}/Videos/{{key}}/stream", self.stream, methods=["GET", "HEAD"]),
            ]
        return Starlette(routes=routes)

    # --- plumbing ----------------------------------------------------------------------

    def _given_token(self, request: Request) -> str | None:
        query = {k.lower(): v for k, v in request.query_params.items()}
        if self.flavour == "jellyfin":
            header = request.headers.get("authorization", "")
            if header.lower().startswith("mediabrowser "):
                found = _TOKEN_IN_HEADER.search(header)
                if found:
                    return unquote(found.group(1))
            return query.get("apikey")
        return (
            request.headers.get("x-emby-token") or query.get("x-emby-token") or query.get("api_key")
        )

    def _gate(self, request: Request) -> Response | None:
        self.requests.append(request.url.path)
        if self.flaky > 0:  # the next few requests fail with 503, as an overloaded server
            self.flaky -= 1
            return Response(b"busy", 503, media_type="text/plain")
        given = self._given_token(request)
        if given != self.token and given not in self.user_tokens:
            if self.flavour == "emby":
                return Response("Access token is invalid or expired.", 401, media_type="text/plain")
            return Response(b"", 401)
        override = self.overrides.get(request.url.path.removeprefix("/emby"))
        if override is not None:
            status, body, media_type = override
            return Response(body, status, media_type=media_type)
        return None

    def _user(self, request: Request) -> FakeUser | None:
        """The user of the request's token (``None``: the API key, an admin without user)."""
        given = self._given_token(request)
        user_id = self.user_tokens.get(given or "")
        return None if user_id is None else self.users[user_id]

    def add_user(self, name: str, password: str, *, admin: bool = False) -> FakeUser:
        user = FakeUser(self.catalogue.new_id(), name, password, admin)
        self.users[user.user_id] = user
        return user

    def _source_id(self, key: str) -> str:
        return f"mediasource_{key}" if self.flavour == "emby" else key

    def _result(
        self,
        items: Sequence[Any],
        query: dict[str, str],
        render: Callable[[Any], dict[str, Any]] = lambda item: item,
    ) -> Response:
        """One page of ``items`` as a ``QueryResult`` (only the page is rendered)."""
        start = int(query.get("startindex", "0"))
        limit = int(query["limit"]) if "limit" in query else len(items)
        if self.page_cap is not None:
            limit = min(limit, self.page_cap)
        body: dict[str, Any] = {
            "Items": [render(item) for item in items[start : start + limit]],
            "TotalRecordCount": len(items),
        }
        if self.flavour == "jellyfin":
            body["StartIndex"] = start
        return JSONResponse(body)

    # --- endpoints ---------------------------------------------------------------------

    async def public_info(self, request: Request) -> Response:
        info: dict[str, Any] = {
            "LocalAddress": str(request.base_url).rstrip("/"),
            "ServerName": "attic",
            "Version": self._version(),
            "Id": SERVER_ID,
        }
        if self.flavour == "jellyfin":
            info |= {
                "ProductName": "Jellyfin Server",
                "OperatingSystem": "",
                "StartupWizardCompleted": True,
            }
        return JSONResponse(info)

    async def system_info(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        return JSONResponse(
            {
                "ServerName": "attic",
                "Version": self._version(),
                "Id": SERVER_ID,
                "OperatingSystemDisplayName": "Linux",
            }
        )

    def _version(self) -> str:
        return "10.10.7" if self.flavour == "jellyfin" else "4.8.10.0"

    async def virtual_folders(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        user = self._user(request)
        if user is not None and not user.admin:
            return Response(b"", 403)
        folders = []
        for library in self.catalogue.libraries.values():
            path_info: dict[str, str] = {"Path": library.location}
            if self.flavour == "emby":
                path_info["NetworkPath"] = ""
            folders.append(
                {
                    "Name": library.title,
                    "CollectionType": _COLLECTION_TYPES[library.kind],
                    "ItemId": library.key,
                    "Locations": [library.location],
                    "LibraryOptions": {"PathInfos": [path_info]},
                    "RefreshStatus": "Idle",
                }
            )
        return JSONResponse(folders)

    async def items(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        query = {k.lower(): v for k, v in request.query_params.items()}
        fields = set(query.get("fields", "").split(","))
        types = set(filter(None, query.get("includeitemtypes", "").split(",")))
        if types & {"BoxSet", "Playlist"}:
            playlist = "Playlist" in types
            found = [
                {
                    "Name": c.title,
                    "Id": c.key,
                    "Type": "Playlist" if playlist else "BoxSet",
                    "IsFolder": True,
                }
                for c in self.catalogue.collections.values()
                if c.playlist == playlist
            ]
            return self._result(found, query)
        parent = query.get("parentid")
        if "ids" in query and self.detail_body is not None:
            return Response(self.detail_body, 200, media_type="application/json")
        if "ids" in query and parent is None:
            asked = (self.catalogue.item(key) for key in query["ids"].split(","))
            pairs = [(i, self._library_of(i)) for i in asked if i is not None]
        elif parent in self.catalogue.collections:
            members = [self.catalogue.item(k) for k in self.catalogue.collections[parent].members]
            pairs = [(m, self._library_of(m)) for m in members if m is not None]
        elif parent is not None and "ids" not in query:
            return self._result(
                self._listing(parent, types),
                query,
                lambda pair: self._dto(pair[0], pair[1], fields),
            )
        elif parent is not None:
            library = self.catalogue.libraries.get(parent)
            pairs = [(i, library) for i in library.items.values()] if library else []
        else:
            pairs = [
                (i, lib) for lib in self.catalogue.libraries.values() for i in lib.items.values()
            ]
        if "ids" in query:
            wanted = set(query["ids"].split(","))
            pairs = [(i, lib) for i, lib in pairs if i.key in wanted]
        if types:
            pairs = [(i, lib) for i, lib in pairs if _TYPES[i.kind] in types]
        pairs.sort(key=lambda pair: pair[0].title)
        return self._result(pairs, query, lambda pair: self._dto(pair[0], pair[1], fields))

    def _listing(self, parent: str, types: set[str]) -> list[tuple[FakeItem, FakeLibrary]]:
        """A library's items of ``types`` by title, kept until the library changes (the
        benchmark pages through 20,000 items)."""
        library = self.catalogue.libraries.get(parent)
        if library is None:
            return []
        items = library.items.values()
        version = (self.catalogue.version, sum(i.updated_at for i in items))
        key = (parent, frozenset(types))
        cached = self._listings.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        pairs = [(i, library) for i in items if not types or _TYPES[i.kind] in types]
        pairs.sort(key=lambda pair: pair[0].title)
        self._listings[key] = (version, pairs)
        return pairs

    async def list_users(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        user = self._user(request)
        if user is not None and not user.admin:
            return Response(b"Forbidden", 403, media_type="text/plain")
        return JSONResponse(
            [
                {
                    "Name": u.name,
                    "ServerId": SERVER_ID,
                    "Id": u.user_id,
                    "HasPassword": True,
                    "Policy": {"IsAdministrator": u.admin},
                }
                for u in self.users.values()
            ]
        )

    async def sign_in(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if self.flavour == "emby":
            header = request.headers.get("x-emby-authorization", "")
            scheme_ok = header.lower().startswith("emby ")
        else:
            header = request.headers.get("authorization", "")
            scheme_ok = header.lower().startswith("mediabrowser ")
        if not scheme_ok or not _CLIENT_IN_HEADER.search(header):
            return Response(b"", 400)
        body = await request.json()
        self.sign_ins.append({"Username": body.get("Username", ""), "header": header})
        for user in self.users.values():
            if user.name == body.get("Username") and user.password == body.get("Pw"):
                token = f"user-token-{user.user_id}"
                self.user_tokens[token] = user.user_id
                return JSONResponse(
                    {
                        "User": {"Name": user.name, "ServerId": SERVER_ID, "Id": user.user_id},
                        "SessionInfo": {"UserId": user.user_id, "Client": "EXStreamTV"},
                        "AccessToken": token,
                        "ServerId": SERVER_ID,
                    }
                )
        return Response(b"", 401)

    async def views(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        views = [
            {
                "Name": library.title,
                "Id": library.key,
                "Type": "CollectionFolder",
                "CollectionType": _COLLECTION_TYPES[library.kind],
            }
            for library in self.catalogue.libraries.values()
        ]
        query = {k.lower(): v for k, v in request.query_params.items()}
        return self._result(views, query)

    async def playlist_items(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        playlist = self.catalogue.collections.get(request.path_params["key"])
        query = {k.lower(): v for k, v in request.query_params.items()}
        user_id = query.get("userid") or getattr(self._user(request), "user_id", None)
        if playlist is None or not playlist.playlist or user_id is None:
            return JSONResponse(
                {"title": "Not Found", "status": 404}, 404, media_type="application/problem+json"
            )
        if playlist.owner is not None and playlist.owner != user_id:
            return Response(b"Forbidden", 403, media_type="text/plain")
        members = [self.catalogue.item(k) for k in playlist.members]
        found = [
            self._dto(m, self._library_of(m), set()) | {"PlaylistItemId": f"p{n}"}
            for n, m in enumerate(members)
            if m is not None
        ]
        return self._result(found, query)

    async def stream(self, request: Request) -> Response:
        self.requests.append(request.url.path)
        if self.flavour == "emby" and self._given_token(request) != self.token:
            return Response("Access token is invalid or expired.", 401, media_type="text/plain")
        item = self.catalogue.item(request.path_params["key"])
        if item is None or item.media is None or request.query_params.get("static") != "true":
            return JSONResponse({"title": "Not Found", "status": 404}, 404)
        self.stream_requests += 1
        return FileResponse(item.media, media_type="video/mp4")

    def _library_of(self, item: FakeItem) -> FakeLibrary:
        return next(lib for lib in self.catalogue.libraries.values() if item.key in lib.items)

    def _dto(self, item: FakeItem, library: FakeLibrary | None, fields: set[str]) -> dict[str, Any]:
        ticks = item.duration_ms * 10_000
        dto: dict[str, Any] = {
            "Name": item.title,
            "ServerId": SERVER_ID,
            "Id": item.key,
            "Type": _TYPES[item.kind],
            "RunTimeTicks": ticks,
            "ProductionYear": item.year,
            "OfficialRating": "TV-14",
            "ImageTags": {"Primary": hashlib.md5(item.key.encode()).hexdigest()},  # noqa: S324
            "BackdropImageTags": [],
            "LocationType": "FileSystem",
            "MediaType": "Video",
            "IsFolder": False,
        }
        if item.kind == "episode":
            dto |= {
                "SeriesName": item.show,
                "SeriesId": item.show_key,
                "ParentIndexNumber": item.season,
                "IndexNumber": item.episode,
                "SeasonName": f"Season {item.season}",
                "SeriesPrimaryImageTag": "0cd04fe7",
            }
        stamp = hashlib.md5(f"{item.key}:{item.updated_at}".encode()).hexdigest()  # noqa: S324
        optional: dict[str, Any] = {
            "Path": item.file,
            "Overview": f"About {item.title}.",
            "Genres": list(item.genres),
            "ProviderIds": {p.capitalize(): v for p, v in item.guids.items()},
            "DateCreated": "2020-01-20T10:15:00.0000000Z",
            "Etag": stamp,
            "Chapters": [
                {
                    "StartPositionTicks": start * 10_000,
                    "Name": name,
                    "ImageDateModified": "0001-01-01T00:00:00.0000000Z",
                }
                for start, _end, name in item.chapters
            ],
            "MediaSources": [
                {
                    "Protocol": "File",
                    "Id": self._source_id(item.key),
                    "Path": item.file,
                    "Type": "Default",
                    "Container": "mp4",
                    "Size": 52000,
                    "Bitrate": 900000,
                    "RunTimeTicks": ticks,
                    "SupportsDirectStream": True,
                    "VideoType": "VideoFile",
                    "MediaStreams": [
                        {
                            "Type": "Video",
                            "Index": 0,
                            "Codec": "h264",
                            "Width": 160,
                            "Height": 120,
                            "AverageFrameRate": 25.0,
                            "RealFrameRate": 25.0,
                            "BitDepth": 8,
                            "Profile": "High",
                            "IsInterlaced": False,
                            "IsDefault": True,
                            "PixelFormat": "yuv420p",
                        },
                        {
                            "Type": "Audio",
                            "Index": 1,
                            "Codec": "aac",
                            "Language": "eng",
                            "Channels": 1,
                            "ChannelLayout": "mono",
                            "SampleRate": 48000,
                            "IsDefault": True,
                        },
                    ],
                }
            ],
        }
        if self.flavour == "emby" and "Chapters" in fields:
            optional["Chapters"] = [
                c | {"MarkerType": "Chapter", "ChapterIndex": n}
                for n, c in enumerate(optional["Chapters"])
            ]
            optional["Chapters"].append(
                {
                    "StartPositionTicks": 10_000,
                    "Name": "Intro",
                    "MarkerType": "IntroStart",
                    "ChapterIndex": 99,
                }
            )
        dto |= {name: value for name, value in optional.items() if name in fields}
        return {k: v for k, v in dto.items() if v is not None}

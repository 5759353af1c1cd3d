"""A fake Plex Media Server (ASGI) reproducing the endpoints, headers, paging and XML the
Plex API documents (see tests/fixtures/plex/README.md).

Reproduced: the token from the ``X-Plex-Token`` header or query (401 ``text/html`` without
it; ``/identity`` needs none); XML attributes as strings; paging from
``X-Plex-Container-Start``/``-Size`` as header or query, answered with ``offset``/``size``/
``totalSize`` and the ``X-Plex-Container-Start``/``-Total-Size`` headers; ``type=1|4``;
``Stream``, ``Guid`` and ``Chapter`` only on ``/library/metadata/{ids}``; ``/library/parts``
with GET, HEAD and ranges; ``/livetv/dvrs`` and ``reloadGuide``.

Lists are capped at ``page_cap`` items per answer (3 unless a test says otherwise), as
real servers may cap large pages: a client must follow ``totalSize``, and ask again for the
ids a short ``/library/metadata/{ids}`` answer left out. Media-query filters on
``/library/sections/{key}/all`` are parsed from keys ending in ``>>``, ``<<``, ``>``, ``<``
or ``!`` (``updatedAt>>=1700000000`` keeps items updated after that time); unknown keys are
ignored, as Plex does.

Failure injection: ``overrides`` (a raw answer for a path), a request log (``requests``:
paths; ``queries``: path and query string).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from tests.media_servers.catalogue import Catalogue, FakeItem, FakeLibrary

TOKEN = "plex-token-5ecret-abcdef"
MACHINE_ID = "3a64c1f2b9e8d7c6a5b4c3d2e1f0a9b8c7d6e5f4"
UNAUTHORIZED = (
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)
NOT_FOUND = "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass
class FakePlex:
    catalogue: Catalogue = field(default_factory=Catalogue)
    token: str = TOKEN
    page_cap: int | None = 3
    overrides: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    flaky: int = 0
    reloads: list[str] = field(default_factory=list)
    stream_requests: int = 0
    _rendered: dict[tuple[str, int, str, bool], bytes] = field(default_factory=dict)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/identity", self.identity),
                Route("/", self.root),
                Route("/library/sections", self.sections),
                Route("/library/sections/{key}/all", self.section_all),
                Route("/library/sections/{key}/collections", self.section_collections),
                Route("/library/collections/{key}/children", self.collection_children),
                Route("/library/metadata/{ids}", self.metadata),
                Route("/playlists", self.playlists),
                Route("/playlists/{key}/items", self.playlist_items),
                Route("/library/parts/{part}/{stamp}/{name}", self.part, methods=["GET", "HEAD"]),
                Route("/livetv/dvrs", self.dvrs),
                Route("/livetv/dvrs/{key}/reloadGuide", self.reload_guide, methods=["POST"]),
            ]
        )

    # --- plumbing ----------------------------------------------------------------------

    def _gate(self, request: Request) -> Response | None:
        self.requests.append(request.url.path)
        self.queries.append(f"{request.url.path}?{unquote(request.url.query)}")
        if self.flaky > 0:  # the next few requests fail with 503, as an overloaded server
            self.flaky -= 1
            return Response(b"busy", 503, media_type="text/plain")
        given = request.headers.get("x-plex-token") or request.query_params.get("X-Plex-Token")
        if given != self.token:
            return Response(UNAUTHORIZED, 401, media_type="text/html")
        override = self.overrides.get(request.url.path)
        if override is not None:
            status, body, media_type = override
            return Response(body, status, media_type=media_type)
        return None

    def _page(
        self,
        request: Request,
        children: Sequence[Any],
        render: Callable[[Any], bytes] = ET.tostring,
        **attrs: str,
    ) -> Response:
        """One page of ``children`` (only the page is rendered, as XML bytes)."""
        start = int(_param(request, "X-Plex-Container-Start") or 0)
        size_text = _param(request, "X-Plex-Container-Size")
        size = len(children) if size_text is None else int(size_text)
        if self.page_cap is not None:
            size = min(size, self.page_cap)
        page = [render(child) for child in children[start : start + size]]
        counts = {"size": str(len(page)), "totalSize": str(len(children)), "offset": str(start)}
        empty = ET.tostring(ET.Element("MediaContainer", counts | attrs))
        body = empty.removesuffix(b" />") + b">" + b"".join(page) + b"</MediaContainer>"
        headers = {
            "X-Plex-Container-Start": str(start),
            "X-Plex-Container-Total-Size": str(len(children)),
            "X-Plex-Protocol": "1.0",
        }
        return Response(XML_DECL + body, 200, media_type="text/xml;charset=utf-8", headers=headers)

    def _listed(self, item: FakeItem, library: FakeLibrary, guids: bool) -> bytes:
        """An item as a list page shows it, rendered once per version of the item."""
        key = (item.key, item.updated_at, item.title, guids)
        found = self._rendered.get(key)
        if found is None:
            found = ET.tostring(_video(item, library, detail=False, guids=guids))
            self._rendered[key] = found
        return found

    # --- endpoints ---------------------------------------------------------------------

    async def identity(self, request: Request) -> Response:
        root = ET.Element(
            "MediaContainer",
            size="0",
            claimed="1",
            machineIdentifier=MACHINE_ID,
            version="1.40.1.8227-c0dd5a73e",
        )
        return _xml(root)

    async def root(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        root = ET.Element(
            "MediaContainer",
            size="1",
            friendlyName="Attic Plex",
            machineIdentifier=MACHINE_ID,
            version="1.40.1.8227-c0dd5a73e",
            platform="Linux",
            platformVersion="5.15.0",
            myPlex="1",
            livetv="7",
            allowTuners="1",
        )
        ET.SubElement(root, "Directory", count="1", key="library", title="library")
        return _xml(root)

    async def sections(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        root = ET.Element("MediaContainer", size=str(len(self.catalogue.libraries)))
        for library in self.catalogue.libraries.values():
            kind = library.kind if library.kind in ("show", "artist") else "movie"
            agent = {"show": "tv.plex.agents.series", "homevideo": "tv.plex.agents.none"}.get(
                library.kind, "tv.plex.agents.movie"
            )
            directory = ET.SubElement(
                root,
                "Directory",
                key=library.key,
                type=kind,
                title=library.title,
                agent=agent,
                scanner="Plex Movie",
                language="en-US",
                updatedAt="1693708514",
                scannedAt="1693688538",
                contentChangedAt="18253756",
                hidden="0",
            )
            ET.SubElement(directory, "Location", id="1", path=library.location)
        return _xml(root)

    async def section_all(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        library = self.catalogue.libraries.get(request.path_params["key"])
        if library is None:
            return Response(NOT_FOUND, 404, media_type="text/html")
        wanted = {"1": "movie", "4": "episode"}.get(request.query_params.get("type", ""), "")
        kinds = {"movie": ("movie", "video"), "episode": ("episode",)}.get(wanted, ())
        guids = request.query_params.get("includeGuids") == "1"
        filters = _filters(request.query_params.multi_items())
        children = [i for i in library.items.values() if i.kind in kinds and _matches(i, filters)]
        render = partial(self._listed, library=library, guids=guids)
        return self._page(request, children, render, librarySectionID=library.key)

    async def metadata(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        keys = [k for k in request.path_params["ids"].split(",") if self.catalogue.item(k)]
        if not keys:
            return Response(NOT_FOUND, 404, media_type="text/html")
        found = []
        for key in keys[: self.page_cap]:  # a capped answer: the client asks for the rest
            item = self.catalogue.item(key)
            assert item is not None
            library = next(lib for lib in self.catalogue.libraries.values() if key in lib.items)
            found.append(_video(item, library, detail=True, guids=True))
        root = ET.Element("MediaContainer", size=str(len(found)))
        root.extend(found)
        return _xml(root)

    async def section_collections(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        key = request.path_params["key"]
        children = [
            ET.Element(
                "Directory",
                ratingKey=c.key,
                key=f"/library/collections/{c.key}/children",
                type="collection",
                subtype="movie",
                title=c.title,
                smart="0",
                childCount=str(len(c.members)),
                librarySectionID=c.library,
            )
            for c in self.catalogue.collections.values()
            if c.library == key and not c.playlist
        ]
        return self._page(request, children)

    async def collection_children(self, request: Request) -> Response:
        return await self._members(request)

    async def playlists(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        children = [
            ET.Element(
                "Playlist",
                ratingKey=c.key,
                key=f"/playlists/{c.key}/items",
                type="playlist",
                title=c.title,
                smart="0",
                playlistType="video",
                leafCount=str(len(c.members)),
            )
            for c in self.catalogue.collections.values()
            if c.playlist
        ]
        return self._page(request, children)

    async def playlist_items(self, request: Request) -> Response:
        return await self._members(request)

    async def _members(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        collection = self.catalogue.collections.get(request.path_params["key"])
        if collection is None:
            return Response(NOT_FOUND, 404, media_type="text/html")
        children = []
        for key in collection.members:
            item = self.catalogue.item(key)
            if item is not None:
                library = self.catalogue.libraries[collection.library]
                children.append(_video(item, library, detail=False, guids=False))
        return self._page(request, children)

    async def part(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        part = int(request.path_params["part"])
        for library in self.catalogue.libraries.values():
            for item in library.items.values():
                if item.part_id == part and item.media is not None:
                    self.stream_requests += 1
                    return FileResponse(item.media, media_type="video/mp4")
        return Response(NOT_FOUND, 404, media_type="text/html")

    async def dvrs(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        root = ET.Element("MediaContainer", size="1")
        dvr = ET.SubElement(
            root, "Dvr", key="28", uuid="811e2e8a-0000", language="eng", lineupTitle="EXStreamTV"
        )
        ET.SubElement(
            dvr,
            "Device",
            key="17",
            uri="http://127.0.0.1:5004",
            make="Silicondust",
            model="HDHomeRun EXTEND",
            tuners="2",
            status="1",
            state="1",
        )
        return _xml(root)

    async def reload_guide(self, request: Request) -> Response:
        if (refused := self._gate(request)) is not None:
            return refused
        self.reloads.append(request.path_params["key"])
        return Response(b"", 200, media_type="text/html", headers={"X-Plex-Activity": "a-1"})


_FILTERED = {"updatedAt": "updated_at", "addedAt": "added_at", "year": "year"}


def _filters(query: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """The media-query filters of ``query``: ``(attribute, operator, value)`` for keys ending
    in ``>>``, ``<<``, ``>``, ``<`` or ``!`` on a known field; other keys are ignored."""
    found = []
    for key, value in query:
        for operator in (">>", "<<", ">", "<", "!"):
            name = key.removesuffix(operator)
            if name != key and name in _FILTERED:
                found.append((_FILTERED[name], operator, int(value)))
                break
    return found


def _matches(item: FakeItem, filters: list[tuple[str, str, int]]) -> bool:
    """Whether ``item`` passes every filter (``>>`` after, ``<<`` before, ``!`` not equal)."""
    for attribute, operator, wanted in filters:
        actual = getattr(item, attribute) or 0
        if operator in (">>", ">") and not actual > wanted:
            return False
        if operator in ("<<", "<") and not actual < wanted:
            return False
        if operator == "!" and actual == wanted:
            return False
    return True


def _param(request: Request, name: str) -> str | None:
    return request.headers.get(name) or request.query_params.get(name)


def _xml(root: ET.Element, headers: dict[str, str] | None = None) -> Response:
    body = XML_DECL + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return Response(
        body,
        200,
        media_type="text/xml;charset=utf-8",
        headers={"X-Plex-Protocol": "1.0", **(headers or {})},
    )


def _video(item: FakeItem, library: FakeLibrary, *, detail: bool, guids: bool) -> ET.Element:
    attrs: dict[str, Any] = {
        "ratingKey": item.key,
        "key": f"/library/metadata/{item.key}",
        "guid": f"plex://{item.kind}/{item.key}",
        "type": item.kind if item.kind != "video" else "movie",
        "title": item.title,
        "summary": f"About {item.title}.",
        "duration": str(item.duration_ms),
        "addedAt": str(item.added_at),
        "updatedAt": str(item.updated_at),
        "thumb": f"/library/metadata/{item.key}/thumb/1",
        "art": f"/library/metadata/{item.key}/art/1",
        "librarySectionID": library.key,
        "contentRating": "TV-PG",
    }
    if item.year is not None:
        attrs["year"] = str(item.year)
    if item.kind == "episode":
        del attrs["art"], attrs["librarySectionID"]  # not on episodes of a type=4 page
        attrs |= {
            "grandparentTitle": item.show,
            "grandparentRatingKey": item.show_key,
            "grandparentThumb": f"/library/metadata/{item.show_key}/thumb/2",
            "parentIndex": str(item.season),
            "index": str(item.episode),
            "parentTitle": f"Season {item.season}",
        }
    video = ET.Element("Video", {k: v for k, v in attrs.items() if v is not None})
    media = ET.SubElement(
        video,
        "Media",
        id=str(item.part_id),
        duration=str(item.duration_ms),
        bitrate="900",
        width="160",
        height="120",
        audioChannels="1",
        audioCodec="aac",
        videoCodec="h264",
        videoResolution="sd",
        container="mp4",
        videoFrameRate="PAL",
    )
    part = ET.SubElement(
        media,
        "Part",
        id=str(item.part_id),
        key=f"/library/parts/{item.part_id}/1579478991/file.mp4",
        duration=str(item.duration_ms),
        file=item.file,
        size="52000",
        container="mp4",
    )
    if detail:
        ET.SubElement(
            part,
            "Stream",
            id="1",
            streamType="1",
            default="1",
            codec="h264",
            index="0",
            bitrate="800",
            height="120",
            width="160",
            frameRate="25.000",
            profile="high",
        )
        ET.SubElement(
            part,
            "Stream",
            id="2",
            streamType="2",
            selected="1",
            default="1",
            codec="aac",
            index="1",
            channels="1",
            samplingRate="48000",
            languageCode="eng",
        )
        for n, (start, end, tag) in enumerate(item.chapters, 1):
            ET.SubElement(
                video,
                "Chapter",
                {
                    "id": str(n),
                    "index": str(n),
                    "tag": tag,
                    "startTimeOffset": str(start),
                    "endTimeOffset": str(end),
                },
            )
    for genre in item.genres:
        ET.SubElement(video, "Genre", {"tag": genre})
    if guids or detail:
        for provider, value in item.guids.items():
            ET.SubElement(video, "Guid", id=f"{provider}://{value}")
    return video

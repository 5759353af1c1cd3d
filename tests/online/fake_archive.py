"""A fake Internet Archive (ASGI) built from its documented API answers:

- ``GET /advancedsearch.php?q=…&fl[]=…&sort[]=…&rows=N&page=P&output=json`` answers
  ``{"responseHeader": {...}, "response": {"numFound", "start", "docs": [...]}}`` with only
  the ``fl[]`` fields in each doc; ``q`` understands ``collection:<id>`` and
  ``mediatype:(movies)`` joined by ``AND``; pages are 1-based; ``page_cap`` caps the rows of
  one answer, as a server may;
- ``GET /metadata/{identifier}`` answers ``metadata`` (``identifier``, ``mediatype``,
  ``collection``, ``title``, ``creator``, ``date``, ``year``, ``description``,
  ``subject``, ``publicdate``), ``files`` (``name``, ``source``, ``format``, ``original``,
  ``length``, ``size``, ``width``, ``height``, ``md5``, ``mtime``) and the server fields
  (``d1``, ``dir``, ``server``, ``item_last_updated``); an unknown identifier answers ``{}``;
- ``GET``/``HEAD /download/{identifier}/{name}`` redirects (302) to the file on a data node
  (``/serve/...``), which serves it with ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class ArchiveItem:
    identifier: str
    title: str
    collection: str
    files: list[dict[str, Any]]
    media: dict[str, Path]  # file name -> what it serves
    mediatype: str = "movies"
    publicdate: str = "2009-05-01 12:00:00"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeArchive:
    items: dict[str, ArchiveItem] = field(default_factory=dict)
    page_cap: int | None = 3
    searches: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/advancedsearch.php", self.search),
                Route("/metadata/{identifier}", self.metadata),
                Route("/download/{identifier}/{name:path}", self.download, methods=["GET", "HEAD"]),
                Route("/serve/{identifier}/{name:path}", self.serve, methods=["GET", "HEAD"]),
            ]
        )

    def add(self, item: ArchiveItem) -> None:
        self.items[item.identifier] = item

    async def search(self, request: Request) -> Response:
        query = request.query_params
        self.searches.append(unquote_plus(str(request.url.query)))
        wanted = _collection(query.get("q", ""))
        movies_only = "mediatype:(movies)" in query.get("q", "")
        found = sorted(
            (
                i
                for i in self.items.values()
                if (wanted is None or i.collection == wanted)
                and (not movies_only or i.mediatype == "movies")
            ),
            key=lambda i: i.identifier,
        )
        rows = int(query.get("rows", "50"))
        if self.page_cap is not None:
            rows = min(rows, self.page_cap)
        start = (int(query.get("page", "1")) - 1) * int(query.get("rows", "50"))
        fields = query.getlist("fl[]") or ["identifier"]
        docs = [
            {
                k: v
                for k, v in {
                    "identifier": i.identifier,
                    "publicdate": i.publicdate,
                    "title": i.title,
                }.items()
                if k in fields
            }
            for i in found[start : start + rows]
        ]
        return JSONResponse(
            {
                "responseHeader": {
                    "status": 0,
                    "QTime": 4,
                    "params": {
                        "query": query.get("q"),
                        "fields": ",".join(fields),
                        "wt": "json",
                        "rows": str(rows),
                        "start": start,
                    },
                },
                "response": {"numFound": len(found), "start": start, "docs": docs},
            }
        )

    async def metadata(self, request: Request) -> Response:
        item = self.items.get(request.path_params["identifier"])
        if item is None:
            return JSONResponse({})
        return JSONResponse(
            {
                "created": 1767225600,
                "d1": "ia800100.us.archive.org",
                "dir": f"/12/items/{item.identifier}",
                "server": "ia800100.us.archive.org",
                "item_last_updated": 1700000000,
                "files_count": len(item.files),
                "files": item.files,
                "metadata": {
                    "identifier": item.identifier,
                    "mediatype": item.mediatype,
                    "collection": [item.collection, "stock_footage"],
                    "title": item.title,
                    "publicdate": item.publicdate,
                    **item.metadata,
                },
            }
        )

    async def download(self, request: Request) -> Response:
        identifier, name = request.path_params["identifier"], request.path_params["name"]
        return RedirectResponse(f"/serve/{identifier}/{name}", status_code=302)

    async def serve(self, request: Request) -> Response:
        item = self.items.get(request.path_params["identifier"])
        path = item.media.get(request.path_params["name"]) if item else None
        if path is None:
            return Response(b"not found", 404)
        self.served.append(request.path_params["name"])
        return FileResponse(path, media_type="video/mp4")


def _collection(query: str) -> str | None:
    found = re.search(r"collection:([A-Za-z0-9_.-]+)", query)
    return found.group(1) if found else None


def video_files(stem: str, seconds: float, *, with_ogg: bool = True) -> list[dict[str, Any]]:
    """The files the archive lists for one uploaded video: the original (MPEG2 here) and
    its derivatives, plus metadata and a thumbnail, as ``/metadata`` shows them."""
    length = f"{seconds:.2f}"
    files = [
        {"name": f"{stem}.mpeg", "source": "original", "format": "MPEG2", "length": length,
         "size": "9000000", "width": "640", "height": "480", "mtime": "1241179000"},
        {"name": f"{stem}.mp4", "source": "derivative", "format": "h.264",
         "original": f"{stem}.mpeg", "length": length, "size": "5000000", "width": "640",
         "height": "480"},
        {"name": f"{stem}_512kb.mp4", "source": "derivative", "format": "512Kb MPEG4",
         "original": f"{stem}.mpeg", "length": length, "size": "2000000", "width": "320",
         "height": "240"},
        {"name": f"{stem}.gif", "source": "derivative", "format": "Animated GIF",
         "original": f"{stem}.mpeg"},
        {"name": "__ia_thumb.jpg", "source": "original", "format": "Item Tile"},
        {"name": f"{stem}_meta.xml", "source": "original", "format": "Metadata"},
    ]  # fmt: skip
    if with_ogg:
        files.append(
            {
                "name": f"{stem}.ogv",
                "source": "derivative",
                "format": "Ogg Video",
                "original": f"{stem}.mpeg",
                "length": length,
                "size": "4000000",
                "width": "640",
                "height": "480",
            }
        )
    return files

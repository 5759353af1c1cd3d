"""Internet Archive items found by a search, each played from its best video file.

Listing: ``GET /advancedsearch.php?q=…&fl[]=identifier&fl[]=publicdate&sort[]=identifier
asc&rows=N&page=P&output=json`` (``response.numFound``, ``response.docs``), paged to the
total (a short page is never the end; an empty page before the total is an error; the
search API serves at most 10,000 results). The change stamp is ``publicdate``.

Details: ``GET /metadata/{identifier}`` (``metadata``: ``title``, ``description``,
``date``/``year``, ``creator``, ``subject``; ``files``: ``name``, ``source`` original or
derivative, ``format``, ``length`` in seconds or ``H:MM:SS``, ``size``, ``width``,
``height``, ``private``). The best playable file is the highest-ranked video format
(H.264 derivatives first: FFmpeg can remux them and seek in them), then the largest
picture; files marked ``private`` are never chosen. It plays from
``/download/{identifier}/{name}``. An item with no video file, or that the archive no
longer has (an empty answer), is an item that failed with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.media import (
    Artwork,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    MetadataStatus,
    TechnicalInfo,
)
from exstreamtv.errors import SourceResponseInvalid
from exstreamtv.sources.base import Mirrored, RemoteItem, RemoteLibrary, RemoteStamp
from exstreamtv.sources.server_http import ServerHttp, parse_off_loop

MAX_RESULTS = 10_000
# Video formats the archive derives or stores, best first for a channel.
FORMAT_RANK = (
    "h.264 hd", "h.264", "mpeg4", "512kb mpeg4", "h.264 ia", "matroska", "webm",
    "ogg video", "mpeg2", "quicktime", "cinepack", "divx", "avi", "windows media",
)  # fmt: skip
_TAGS = re.compile(r"<[^>]{0,500}>")
_KINDS = {
    LibraryKind.MOVIES: MediaKind.MOVIE,
    LibraryKind.SHOWS: MediaKind.EPISODE,
    LibraryKind.MUSIC_VIDEOS: MediaKind.MUSIC_VIDEO,
}


def search_query(query: str) -> str:
    """The search for ``query``: a bare identifier means that collection; only movies
    (the archive's media type for video) are listed."""
    text = query.strip()
    if re.fullmatch(r"[A-Za-z0-9_.-]+", text):
        text = f"collection:{text}"
    return f"({text}) AND mediatype:(movies)"


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    name: str
    format: str
    seconds: float | None
    size: int
    width: int | None
    height: int | None


def best_file(files: Sequence[Mapping[str, Any]]) -> ArchiveFile | None:
    """The best playable video file of an item (see the module notes), or ``None``."""
    candidates = []
    for raw in files:
        name, fmt = raw.get("name"), str(raw.get("format") or "").strip().lower()
        if (
            not isinstance(name, str)
            or fmt not in FORMAT_RANK
            or raw.get("private") in (True, "true")
        ):
            continue
        candidates.append(
            ArchiveFile(
                name=name,
                format=fmt,
                seconds=_seconds(raw.get("length")),
                size=_whole(raw.get("size")) or 0,
                width=_whole(raw.get("width")),
                height=_whole(raw.get("height")),
            )
        )
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda f: (FORMAT_RANK.index(f.format), -(f.height or 0), -f.size, f.name),
    )


class ArchiveClient:
    """One search of the Internet Archive (``http`` is the archive's base URL)."""

    def __init__(self, http: ServerHttp, query: str, *, page_size: int = 100) -> None:
        self._http, self._query, self._page_size = http, search_query(query), page_size

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        """Search results page by page. Pages are numbered (``page`` times ``rows``), so when
        the server answers fewer rows than asked before the total, the next pages ask for
        that many: a short page is never the end."""
        del library
        listed, rows, page_number = 0, self._page_size, 1
        for _ in range(MAX_RESULTS + 1):
            result = await self._search(page_number, rows)
            total = min(_total(result), MAX_RESULTS)
            docs = [d for d in _docs(result) if isinstance(d.get("identifier"), str)]
            if docs:
                yield [RemoteStamp(d["identifier"], str(d.get("publicdate") or "")) for d in docs]
            listed += len(docs)
            if listed >= total:
                return
            if not docs:
                raise SourceResponseInvalid(
                    f"the archive search stopped after {listed} of {total} items"
                )
            rows = min(rows, len(docs))  # a shorter page is the server's own page size
            if listed % rows:
                raise SourceResponseInvalid(
                    f"the archive search pages unevenly ({listed} items of {total})"
                )
            page_number = listed // rows + 1
        raise SourceResponseInvalid("the archive search did not end")

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        return [await self._item(library, identifier) for identifier in ids]

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        del library
        return Mirrored()

    async def check(self, url: str) -> None:
        await self._http.head(url)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _search(self, page_number: int, rows: int) -> Mapping[str, Any]:
        query: list[tuple[str, str | int | float | bool | None]] = [
            ("q", self._query),
            ("fl[]", "identifier"),
            ("fl[]", "publicdate"),
            ("sort[]", "identifier asc"),
            ("rows", rows),
            ("page", page_number),
            ("output", "json"),
        ]
        body = await self._http.get("/advancedsearch.php", query)
        assert body is not None  # noqa: S101 - only missing_ok=True returns None
        answer = await parse_off_loop(_json, body, "/advancedsearch.php")
        response = answer.get("response") if isinstance(answer, dict) else None
        if not isinstance(response, dict):
            raise SourceResponseInvalid("the archive search answer has no response")
        return response

    async def _item(self, library: RemoteLibrary, identifier: str) -> RemoteItem:
        path = f"/metadata/{quote(identifier, safe='')}"
        body = await self._http.get(path)
        assert body is not None  # noqa: S101 - only missing_ok=True returns None
        answer = await parse_off_loop(_json, body, path)
        found: dict[str, Any] = answer if isinstance(answer, dict) else {}
        raw_meta = found.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        files = [f for f in found.get("files") or [] if isinstance(f, dict)]
        chosen = best_file(files)
        base = self._http.base_url
        metadata = _metadata(meta, identifier, library.kind, base)
        page = f"{base}/details/{quote(identifier, safe='')}"
        if not found:
            return _failed(identifier, page, metadata, "the archive no longer has this item")
        if chosen is None:
            return _failed(identifier, page, metadata, "the item has no video file")
        url = f"{base}/download/{quote(identifier, safe='')}/{quote(chosen.name)}"
        technical = TechnicalInfo(
            duration_ms=round((chosen.seconds or 0) * 1000),
            container=chosen.name.rpartition(".")[2].lower() or None,
            width=chosen.width,
            height=chosen.height,
        )
        if technical.duration_ms <= 0:
            return _failed(identifier, page, metadata, "the archive gives no length for it")
        return RemoteItem(
            identifier, str(meta.get("publicdate") or ""), page, url, chosen.size, metadata,
            technical,
        )  # fmt: skip


def _failed(identifier: str, page: str, metadata: MediaMetadata, reason: str) -> RemoteItem:
    failed = MediaMetadata(
        kind=metadata.kind,
        title=metadata.title,
        status=MetadataStatus.FAILED,
        source=MetadataSource.SERVER,
        reason=reason,
    )
    return RemoteItem(identifier, "retry", page, page, 0, failed, None)


def _metadata(
    meta: Mapping[str, Any], identifier: str, kind: LibraryKind | None, base: str
) -> MediaMetadata:
    kind_of = _KINDS.get(kind or LibraryKind.OTHER, MediaKind.OTHER)
    year = _whole(meta.get("year")) or _year(_first(meta.get("date")))
    creator = _first(meta.get("creator"))
    subjects = [
        s.strip() for value in _all(meta.get("subject")) for s in value.split(";") if s.strip()
    ]
    plot = _TAGS.sub("", " ".join(_all(meta.get("description")))).strip()[:8000] or None
    return MediaMetadata(
        kind=kind_of,
        title=(_first(meta.get("title")) or identifier)[:500],
        source=MetadataSource.SERVER,
        show=creator if kind_of is MediaKind.EPISODE else None,
        year=year if year and 1800 <= year <= 9999 else None,
        plot=plot,
        genres=tuple(dict.fromkeys(subjects))[:10],
        artwork=Artwork(thumb=f"{base}/services/img/{quote(identifier, safe='')}"),
        external_ids=(("archive_org", identifier),),
    )


def _json(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        raise SourceResponseInvalid(f"the archive answer for {path} is not JSON") from err


def _total(response: Mapping[str, Any]) -> int:
    total = response.get("numFound")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise SourceResponseInvalid("the archive search gives no numFound")
    return total


def _docs(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    docs = response.get("docs")
    if not isinstance(docs, list):
        raise SourceResponseInvalid("the archive search gives no docs")
    return [d for d in docs if isinstance(d, dict)]


def _all(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _first(value: Any) -> str | None:
    found = _all(value)
    return found[0].strip() or None if found else None


def _year(date: str | None) -> int | None:
    return int(date[:4]) if date and len(date) >= 4 and date[:4].isdigit() else None


def _whole(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _seconds(value: Any) -> float | None:
    """``length`` as seconds: a number (``"1234.56"``) or ``[H:]MM:SS``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if ":" not in text:
            seconds = float(text)
        else:
            seconds = 0.0
            for part in text.split(":"):
                seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return seconds if 0 < seconds < 10**7 else None

"""What IPTV players read: the M3U playlist, the XMLTV guide, logos and stream URLs.

Open on the LAN (players cannot log in), guarded by the optional access token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from exstreamtv.domain.catchup import CatchupSpan
from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.services.container import Container
from exstreamtv.services.guide import GuideDocument, GuideLinks
from exstreamtv.web.base_url import base_url
from exstreamtv.web.deps import ContainerDep, require_access_token

router = APIRouter(tags=["iptv"], dependencies=[Depends(require_access_token)])
M3U_TYPE = "audio/x-mpegurl"
XML_TYPE = "application/xml; charset=utf-8"
HLS_TYPE = "application/vnd.apple.mpegurl"
Mode = Annotated[str, Query(pattern="^(ts|hls)$", description="Stream URLs: ts or hls.")]


def links(request: Request, app: ContainerDep, mode: str = "ts") -> GuideLinks:
    """The URLs carry the configured access token (the request has already proved it holds
    it, by query or header); a token sent when none is configured is never echoed."""
    secret = app.settings.server.access_token
    token = secret.get_secret_value() if secret is not None else None
    return GuideLinks(base_url(request, app.settings), hls=mode == "hls", token=token)


@router.get(
    "/iptv/channels.m3u",
    response_class=Response,
    responses={200: {"content": {M3U_TYPE: {}}, "description": "The M3U playlist"}},
)
@router.get("/iptv.m3u", response_class=Response, include_in_schema=False)
async def playlist(request: Request, app: ContainerDep, mode: Mode = "ts") -> Response:
    """The M3U playlist; ``?mode=hls`` lists HLS URLs instead of MPEG-TS."""
    text = await app.guide.m3u(links(request, app, mode))
    return Response(text, media_type=M3U_TYPE, headers={"Cache-Control": "no-cache"})


@router.get(
    "/iptv/xmltv.xml",
    response_class=Response,
    responses={
        200: {"content": {XML_TYPE: {}}, "description": "The XMLTV guide"},
        304: {"description": "Not modified (If-None-Match)"},
    },
)
@router.get("/xmltv.xml", response_class=Response, include_in_schema=False)
async def guide(request: Request, app: ContainerDep) -> Response:
    """The XMLTV guide, streamed, gzip when accepted, with ETag/Last-Modified.

    An invalid guide is a 503 problem with Retry-After naming the channel and reason.
    """
    document = await app.guide.xmltv(links(request, app))
    headers = {
        "ETag": document.etag,
        "Last-Modified": format_datetime(document.last_modified, usegmt=True),
        "Cache-Control": f"max-age={int(app.settings.epg.cache_ttl_sec)}",
        "Vary": "Accept-Encoding",
    }
    if _none_match(request.headers.get("if-none-match"), document.etag):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return StreamingResponse(_gzip(document), media_type=XML_TYPE, headers=headers)
    return StreamingResponse(document.plain_stream(), media_type=XML_TYPE, headers=headers)


def _none_match(header: str | None, etag: str) -> bool:
    """``If-None-Match`` holds ``etag``: ``*`` or a list of tags, compared weakly (RFC 9110
    section 13.1.2), so a cache that sends ``W/"…"`` or several tags still gets a 304."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


async def _gzip(document: GuideDocument) -> AsyncIterator[bytes]:
    async for chunk in document.gzip_stream():
        yield chunk


@router.get(
    "/iptv/logos/{number}.png",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}, "description": "The channel's logo"}},
)
async def logo(number: str, app: ContainerDep) -> FileResponse:
    """The channel's logo, or a generated tile with its number."""
    channel = await app.channels.channel(ChannelNumber.parse(number))
    path = await app.logos.logo(channel)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


INSTANT = "Unix seconds (what {utc}/{utcend} become) or ISO 8601 with an offset."


@dataclass(frozen=True)
class ShiftQuery:
    """The "shift" catch-up form (SIPTV; a catch-up type TiviMate, Kodi's IPTV Simple and
    others let the user choose): the live URL with ``?utc={utc}&lutc={lutc}`` appended
    plays the channel from ``utc`` instead (``lutc``, the app's now, is not needed)."""

    utc: Annotated[str | None, Query(max_length=40, description=INSTANT)] = None
    lutc: Annotated[str | None, Query(max_length=40, description="Ignored.")] = None


ShiftDep = Annotated[ShiftQuery, Depends()]


@router.get("/iptv/channel/{number}.ts", response_class=StreamingResponse)
async def stream_ts(number: str, app: ContainerDep, shift: ShiftDep) -> StreamingResponse:
    """The channel as continuous MPEG-TS (takes a tuner; 503 when all are busy); with
    ``utc``, its catch-up from then, as ``catchup.ts?start=`` gives it."""
    parsed = ChannelNumber.parse(number)
    if shift.utc is not None:
        tuned = await app.catchup.open(parsed, shift.utc)
    else:
        tuned = await app.streaming.tune(parsed)
    return StreamingResponse(aiter(tuned), media_type="video/mp2t")


@dataclass(frozen=True)
class SpanQuery:
    """A catch-up span as IPTV apps send it: ``start`` and ``end`` or ``duration``."""

    start: Annotated[str, Query(max_length=40, description=INSTANT)]
    end: Annotated[str | None, Query(max_length=40, description=INSTANT)] = None
    duration: Annotated[str | None, Query(max_length=20, description="Seconds.")] = None


SpanDep = Annotated[SpanQuery, Depends()]


@router.get("/iptv/channel/{number}/catchup.ts", response_class=StreamingResponse)
async def catchup_ts(number: str, app: ContainerDep, span: SpanDep) -> StreamingResponse:
    """The channel's past from ``start`` to ``end`` (or ``start + duration``) as MPEG-TS,
    replayed from its playout exactly as it aired (takes a tuner; 503 when all are busy;
    404 when catch-up is off, 410 when that past is pruned or its file is gone)."""
    parsed = ChannelNumber.parse(number)
    tuned = await app.catchup.open(parsed, span.start, span.end, span.duration)
    return StreamingResponse(aiter(tuned), media_type="video/mp2t")


@router.get("/iptv/channel/{number}/catchup.m3u8", response_class=Response)
async def catchup_hls(number: str, app: ContainerDep, span: SpanDep) -> Response:
    """The same span as an HLS playlist listing all of it, dated as it aired: ``VOD``
    (seekable anywhere, ``EXT-X-ENDLIST``) once it has aired, ``EVENT`` growing while it
    is still airing. Its audience holds a tuner like a live HLS audience."""
    parsed = ChannelNumber.parse(number)
    return await _catchup_playlist(app, parsed, span, "catchup/")


async def _catchup_playlist(
    app: Container, number: ChannelNumber, span: SpanQuery, base: str
) -> Response:
    """A catch-up playlist whose segment URLs start with ``base`` (relative to the
    playlist's own URL) and carry the access token when one is set."""
    secret = app.settings.server.access_token

    def segment_url(asked: CatchupSpan) -> str:
        query = {"start": str(asked.start_ms), "end": str(asked.end_ms)}
        if secret is not None:
            query["token"] = secret.get_secret_value()
        return f"{base}{{sequence}}.ts?{urlencode(query)}"

    text = await app.catchup.playlist(number, span.start, span.end, span.duration, segment_url)
    return Response(text, media_type=HLS_TYPE, headers={"Cache-Control": "no-cache"})


@router.get("/iptv/channel/{number}/catchup/{sequence}.ts", response_class=Response)
async def catchup_segment(
    number: str,
    sequence: Annotated[int, Path(ge=0)],
    app: ContainerDep,
    start: Annotated[int, Query(ge=0, le=1 << 50)],
    end: Annotated[int, Query(ge=0, le=1 << 50)],
) -> Response:
    """One segment of a catch-up playlist (``start``/``end`` in ms, as the playlist lists
    them), made from the playout on request; 404 until it has aired."""
    data = await app.catchup.segment(ChannelNumber.parse(number), start, end, sequence)
    return Response(data, media_type="video/mp2t", headers={"Cache-Control": "max-age=3600"})


@router.get("/iptv/channel/{number}.m3u8", response_class=Response)
async def stream_hls(number: str, app: ContainerDep, shift: ShiftDep) -> Response:
    """The channel as a live HLS playlist (the first request takes a tuner; 503 when all
    are busy). Segment URLs are relative and carry the access token when one is set.
    With ``utc``, its catch-up playlist from then, as ``catchup.m3u8?start=`` gives it."""
    parsed = ChannelNumber.parse(number)
    if shift.utc is not None:
        catchup_base = f"{quote(str(parsed))}/catchup/"
        return await _catchup_playlist(app, parsed, SpanQuery(shift.utc), catchup_base)
    secret = app.settings.server.access_token
    query = "" if secret is None else "?" + urlencode({"token": secret.get_secret_value()})
    segment_url = f"{quote(str(parsed))}/hls/{{sequence}}.ts{query}"
    text = await app.streaming.hls_playlist(parsed, segment_url)
    return Response(text, media_type=HLS_TYPE, headers={"Cache-Control": "no-cache"})


@router.get("/iptv/channel/{number}/hls/{sequence}.ts", response_class=Response)
async def hls_segment(
    number: str, sequence: Annotated[int, Path(ge=0)], app: ContainerDep
) -> Response:
    """One segment of a live HLS playlist (404 once it has left the window)."""
    data = app.streaming.hls_segment(ChannelNumber.parse(number), sequence)
    return Response(data, media_type="video/mp2t", headers={"Cache-Control": "max-age=60"})

"""The emulated HDHomeRun's HTTP side: what Plex, Jellyfin, Emby and Channels DVR read.

``BaseURL`` is always sent (clients otherwise assume port 80). Stream URLs are plain paths
(``/auto/v5.1``): Plex handles query strings in lineup URLs badly.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.errors import NotFound
from exstreamtv.formats import hdhomerun
from exstreamtv.web.base_url import base_url
from exstreamtv.web.deps import ContainerDep, require_access_token
from exstreamtv.web.routes.iptv import links as iptv_links

router = APIRouter(tags=["hdhomerun"], dependencies=[Depends(require_access_token)])


@router.get("/discover.json")
async def discover(request: Request, app: ContainerDep) -> dict[str, Any]:
    settings = app.settings.hdhomerun
    links = iptv_links(request, app)
    return hdhomerun.discover_json(
        device_id=await app.device.ensure(),
        friendly_name=settings.friendly_name,
        tuner_count=settings.tuner_count,
        base_url=links.base_url,
        device_auth=settings.device_auth,
        lineup_query=links.query(),
    )


@router.get("/lineup.json")
async def lineup(request: Request, app: ContainerDep) -> JSONResponse:
    links = iptv_links(request, app)
    channels = await app.guide.lineup(links)
    entries = [
        hdhomerun.LineupEntry(c.number, c.name, f"{links.base_url}/auto/v{c.number}{links.query()}")
        for c in channels
    ]
    return JSONResponse(hdhomerun.lineup_json(entries))


@router.get("/lineup_status.json")
async def lineup_status() -> dict[str, Any]:
    return hdhomerun.lineup_status_json()


@router.post("/lineup.post", status_code=200, response_class=Response)
async def lineup_post(
    scan: Literal["start", "abort"] = Query(description="start or abort a channel scan"),
) -> Response:
    """Real devices accept a channel scan request; our lineup is always current."""
    return Response(status_code=200)


@router.get(
    "/device.xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}, "description": "UPnP root device"}},
)
async def device_xml(request: Request, app: ContainerDep) -> Response:
    xml = hdhomerun.device_xml(
        device_id=await app.device.ensure(),
        friendly_name=app.settings.hdhomerun.friendly_name,
        base_url=base_url(request, app.settings),
    )
    return Response(xml, media_type="application/xml")


@router.get("/auto/v{number}", response_class=StreamingResponse)
async def tune_auto(number: str, app: ContainerDep) -> StreamingResponse:
    """Tune any free tuner to ``number`` (404 unknown; 503 + 805 when all are busy)."""
    tuned = await app.streaming.tune(ChannelNumber.parse(number))
    return StreamingResponse(aiter(tuned), media_type="video/mp2t")


@router.get("/tuner{tuner}/v{number}", response_class=StreamingResponse)
async def tune_tuner(tuner: int, number: str, app: ContainerDep) -> StreamingResponse:
    """Tune a named tuner (tuners are pooled: the index only has to exist)."""
    if not 0 <= tuner < app.settings.hdhomerun.tuner_count:
        raise NotFound(f"there is no tuner {tuner}")
    tuned = await app.streaming.tune(ChannelNumber.parse(number))
    return StreamingResponse(aiter(tuned), media_type="video/mp2t")

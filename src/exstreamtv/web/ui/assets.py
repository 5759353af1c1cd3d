"""The UI's own static files, and third-party libraries installed at setup time.

hls.js (HLS playback in browsers without native HLS, such as Chromium) and mpegts.js
(MPEG-TS playback through Media Source Extensions) are installed from the npm registry by
``make run``/``make test`` into ``web/ui/vendor/`` (not committed). When one is missing the
watch page plays with the other, or says so instead of playing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from exstreamtv.errors import NotFound

HERE = Path(__file__).parent
STATIC = HERE / "static"
MODULES = HERE / "vendor" / "node_modules"
HLS_JS = MODULES / "hls.js" / "dist" / "hls.min.js"
MPEGTS_JS = MODULES / "mpegts.js" / "dist" / "mpegts.js"
CACHE = {"Cache-Control": "max-age=300"}


def hls_js_installed() -> bool:
    return HLS_JS.is_file()


def mpegts_js_installed() -> bool:
    return MPEGTS_JS.is_file()


def assets_router() -> APIRouter:
    """``/ui/static/...`` (CSS, scripts), ``/ui/vendor/hls.min.js`` and
    ``/ui/vendor/mpegts.js``."""
    router = APIRouter(include_in_schema=False)
    router.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")

    @router.get("/ui/vendor/hls.min.js")
    async def hls_js() -> FileResponse:
        if not hls_js_installed():
            raise NotFound("hls.js is not installed: run make run (it installs it from npm)")
        return FileResponse(HLS_JS, media_type="text/javascript", headers=CACHE)

    @router.get("/ui/vendor/mpegts.js")
    async def mpegts_js() -> FileResponse:
        if not mpegts_js_installed():
            raise NotFound("mpegts.js is not installed: run make run (it installs it from npm)")
        return FileResponse(MPEGTS_JS, media_type="text/javascript", headers=CACHE)

    return router

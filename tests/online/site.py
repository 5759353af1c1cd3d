"""A website on loopback for online sources: static media (an MP4, an HLS VOD playlist, an
MPEG-TS "live channel"), an RSS feed of videos (a playlist to yt-dlp's generic extractor),
and an IPTV playlist behind an account's credentials, with a request log that records each
request's method, path and ``Range`` header.

Answers follow plain HTTP: ``GET``/``HEAD`` with ranges (206) for static files, 404 for
paths listed in ``gone``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

ACCOUNT = "viewer"
PASSWORD = "iptv-pass-271828"


def build_media(root: Path, clip: Path) -> Path:
    """``root`` with ``clip.mp4``, an HLS VOD of it (``hls/index.m3u8``) and an MPEG-TS of
    it (``live/news.ts``), all made with FFmpeg from ``clip`` (copied, not re-encoded)."""
    (root / "hls").mkdir(parents=True, exist_ok=True)
    (root / "live").mkdir(exist_ok=True)
    (root / "clip.mp4").write_bytes(clip.read_bytes())
    ffmpeg = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip)]
    subprocess.run(
        [*ffmpeg, "-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
         str(root / "hls" / "index.m3u8")],
        check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        [*ffmpeg, "-c", "copy", "-f", "mpegts", str(root / "live" / "news.ts")],
        check=True, timeout=60,
    )  # fmt: skip
    (root / "live" / "docs.ts").write_bytes((root / "live" / "news.ts").read_bytes())
    return root


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    range: str | None
    query: str
    agent: str


@dataclass
class MediaSite:
    root: Path
    hits: list[Hit] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    playlist_extra: str = ""  # more M3U lines (hostile entries)
    guide: str | None = None  # the XMLTV text served at /guide.xml

    def app(self) -> ASGIApp:
        inner = Starlette(
            routes=[
                Route("/feed.xml", self.feed),
                Route("/get.php", self.playlist),
                Route("/guide.xml", self.xmltv),
                Mount("/", StaticFiles(directory=self.root)),
            ]
        )

        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = dict(scope["headers"])
                path = str(scope["path"])
                self.hits.append(
                    Hit(
                        str(scope["method"]),
                        path,
                        headers.get(b"range", b"").decode() or None,
                        bytes(scope["query_string"]).decode(),
                        headers.get(b"user-agent", b"").decode(),
                    )
                )
                if path in self.gone:
                    await Response(b"gone", 404)(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return logged

    def requests_for(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def feed(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        items = "".join(
            f"<item><title>{escape(title)}</title><description>{escape(title)} from the feed"
            f"</description><enclosure url={quoteattr(base + path)} type={quoteattr(kind)}/>"
            f"<guid>{escape(guid)}</guid></item>"
            for title, path, kind, guid in (
                ("Morning walk", "/clip.mp4", "video/mp4", "walk-1"),
                ("Harbour at dusk", "/hls/index.m3u8", "application/x-mpegURL", "harbour-2"),
            )
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Walks</title><description>Videos</description>{items}</channel></rss>"
        )
        return Response(body, media_type="application/rss+xml")

    async def playlist(self, request: Request) -> Response:
        query = request.query_params
        if query.get("username") != ACCOUNT or query.get("password") != PASSWORD:
            return Response(b"", 401)
        base = str(request.base_url).rstrip("/")
        body = (
            f'#EXTM3U url-tvg="{base}/guide.xml"\n'
            '#EXTINF:-1 tvg-id="news.one" tvg-name="News One" tvg-logo="'
            f'{base}/logo.png" group-title="News",News One\n'
            f"{base}/live/news.ts?username={ACCOUNT}&password={PASSWORD}\n"
            '#EXTINF:-1 tvg-id="docs" group-title="News",Documentaries\n'
            "#EXTVLCOPT:http-user-agent=Mozilla\n"
            f"{base}/live/docs.ts?username={ACCOUNT}&password={PASSWORD}\n"
            f"{self.playlist_extra}"
        )
        return Response(body, media_type="audio/x-mpegurl")

    async def xmltv(self, request: Request) -> Response:
        if self.guide is None:
            return Response(b"", 404)
        return Response(self.guide, media_type="application/xml")

"""Videos from YouTube and every other site yt-dlp reads: channels, playlists (and RSS
feeds), single videos, direct media files and HLS playlists.

yt-dlp is synchronous, so every call runs in a worker thread, spaced by the source's rate
limit. Listing reads playlists flat (ids and URLs only); details read each video once
(:func:`~exstreamtv.formats.ytdlp_info.describe_video`); the stream URL is resolved only at
play time (it expires: YouTube's carry an ``expire`` time) by :meth:`YtDlpClient.resolve`.
A video that is removed, private, or age- or region-restricted becomes an item that failed
with that reason; a failure worth retrying is reported as such and retried at the next scan.

With local copies on, each readable video is also downloaded (one file, audio and video
together) into the copies folder while the folder stays under its size cap, and played from
there: for sources that are slow or flaky.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import yt_dlp
from yt_dlp.utils import YoutubeDLError

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.domain.locations import shown_url, stable_id
from exstreamtv.domain.media import MediaKind, MediaMetadata, MetadataSource, MetadataStatus
from exstreamtv.errors import ProbeFailed, SourceItemGone, SourceUnavailable
from exstreamtv.ffmpeg.probe import probe_url
from exstreamtv.formats.ytdlp_info import (
    NO_DURATION,
    VideoInfo,
    describe_video,
    unplayable_reason,
)
from exstreamtv.sources.base import Mirrored, RemoteItem, RemoteLibrary, RemoteStamp
from exstreamtv.sources.pace import Pace
from exstreamtv.sources.server_http import ServerHttp

log = logging.getLogger(__name__)
# One file with both audio and video (FFmpeg reads one input per item), HTTP or HLS.
FORMAT = "best[acodec!=none][vcodec!=none]/best"
MAX_ENTRIES = 5000  # per listed URL
RETRY = "retry"  # the stamp of an item to read again at the next scan


@dataclass(frozen=True, slots=True)
class Resolved:
    """A playable URL, the headers to fetch it with, and when it stops working (epoch s;
    ``None`` when the URL does not say)."""

    url: str
    headers: tuple[tuple[str, str], ...]
    expires_at: float | None


class _Quiet:
    """yt-dlp's logger: its lines go to ours at debug level (they may hold URLs)."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


class YtDlpClient:
    """One yt-dlp source: ``urls`` to list (channels, playlists, videos)."""

    def __init__(
        self,
        name: str,
        urls: Sequence[str],
        *,
        http: ServerHttp,
        pace: Pace,
        cookies: Path | None = None,
        headers: Mapping[str, str] | None = None,
        copies: Path | None = None,
        copies_cap_bytes: int = 0,
        socket_timeout: float = 20.0,
        ffprobe: str = "ffprobe",
    ) -> None:
        self._name, self._urls, self._pace, self._http = name, tuple(urls), pace, http
        self._copies, self._cap = copies, copies_cap_bytes
        self._ffprobe, self._timeout = ffprobe, socket_timeout
        self._options: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "logger": _Quiet(),
            "cachedir": False,
            "socket_timeout": socket_timeout,
            "retries": 2,
            "format": FORMAT,
            "http_headers": dict(headers or {}),
        }
        self._cookies = cookies  # owned: deleted when the client closes
        if cookies is not None:
            self._options["cookiefile"] = str(cookies)
        self._pages: dict[str, tuple[str, dict[str, Any]]] = {}  # listed id -> URL, entry

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        """Each listed URL's videos (a single video is a list of one)."""
        del library
        for url in self._urls:
            entries = await self._extract(url, flat=True)
            page = []
            for entry_id, entry_url, entry in listed_entries(entries, url):
                self._pages[entry_id] = (entry_url, entry)
                page.append(RemoteStamp(entry_id, ""))
            yield page

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        found = []
        for item_id in ids:
            listed = self._pages.get(item_id)
            if listed is not None:
                found.append(await self._item(library, item_id, *listed))
        return found

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        del library
        return Mirrored()

    async def resolve(self, page_url: str) -> Resolved:
        """The stream URL of a video now. Raises SourceItemGone (removed, private,
        restricted) or SourceUnavailable (worth retrying)."""
        info = await self._extract(page_url, flat=False)
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SourceUnavailable(f"{self._name!r}: no single playable stream for this video")
        headers = info.get("http_headers")
        pairs = tuple(
            (str(k), str(v)) for k, v in (headers.items() if isinstance(headers, dict) else ())
        )
        return Resolved(url, pairs, _expiry(url))

    async def check(self, url: str) -> None:
        """A quick ``HEAD`` of a resolved stream (lenient: some sites refuse HEAD itself)."""
        await self._http.head(url, lenient=True)

    async def copy_of(self, item_id: str) -> Path | None:
        """The local copy of an item, if one was kept (a download still running is not)."""
        if self._copies is None:
            return None
        return await asyncio.to_thread(_finished_copy, self._copies, _safe(item_id))

    async def aclose(self) -> None:
        self._pages.clear()
        await self._http.aclose()
        if self._cookies is not None:
            await asyncio.to_thread(self._cookies.unlink, missing_ok=True)

    async def _item(
        self, library: RemoteLibrary, item_id: str, url: str, entry: Mapping[str, Any]
    ) -> RemoteItem:
        try:
            extracted = await self._extract(url, flat=False)
        except SourceUnavailable as err:
            status = "failed" if isinstance(err, SourceItemGone) else RETRY
            return _failed(item_id, url, err.message, stamp=status)
        # A playlist entry's own fields (a feed item's title) win, as yt-dlp merges them.
        info = {**extracted, **{k: v for k, v in entry.items() if v is not None}}
        video = describe_video(info, library.kind or LibraryKind.OTHER, library.title)
        if video.technical is None and video.metadata.reason == NO_DURATION:
            video = await self._probed(video, info)
        page = video.page_url or url
        if video.technical is not None and self._copies is not None:
            await self._keep_copy(item_id, page, info)
        return RemoteItem(
            remote_id=item_id,
            stamp="" if video.technical is not None else RETRY,
            path=shown_url(page),
            stream_key=page,
            size=_int(info.get("filesize")) or _int(info.get("filesize_approx")) or 0,
            metadata=video.metadata,
            technical=video.technical,
        )

    async def _probed(self, video: VideoInfo, info: Mapping[str, Any]) -> VideoInfo:
        """``video`` with what ffprobe reads from its stream (a site that gives no duration:
        a bare media file)."""
        stream = info.get("url")
        if not isinstance(stream, str):
            return video
        try:
            probed = await probe_url(stream, ffprobe=self._ffprobe, timeout=self._timeout)
        except ProbeFailed as err:
            metadata = replace(video.metadata, reason=f"its stream cannot be read: {err.message}")
            return replace(video, metadata=metadata)
        chapters = probed.chapters
        metadata = replace(video.metadata, status=MetadataStatus.OK, reason=None)
        return replace(video, metadata=metadata, technical=replace(probed, chapters=chapters))

    async def _extract(self, url: str, *, flat: bool) -> dict[str, Any]:
        await self._pace.wait()
        options = {**self._options, "skip_download": True}
        if flat:
            options |= {"extract_flat": "in_playlist", "playlistend": MAX_ENTRIES}
        else:
            options |= {"noplaylist": True}
        try:
            return await asyncio.to_thread(_extract_info, options, url)
        except YoutubeDLError as err:
            raise self._error(url, err) from err

    async def _keep_copy(self, item_id: str, page: str, info: Mapping[str, Any]) -> None:
        """Download the video unless it is there already or the folder would exceed its
        cap; a failed download leaves the item streamable."""
        assert self._copies is not None  # noqa: S101 - checked by the caller
        if await self.copy_of(item_id) is not None:
            return
        room = self._cap - await asyncio.to_thread(_folder_bytes, self._copies)
        expected = _int(info.get("filesize")) or _int(info.get("filesize_approx")) or 0
        if room <= 0 or expected > room:
            log.info("%r: the local copy folder is full; %s streams instead",
                     self._name, shown_url(page))  # fmt: skip
            return
        await self._pace.wait()
        options = {
            **self._options,
            "noplaylist": True,
            "max_filesize": room,
            "outtmpl": str(self._copies / f"{_safe(item_id)}.%(ext)s"),
        }
        try:
            await asyncio.to_thread(_download, options, page, self._copies)
        except YoutubeDLError as err:
            log.warning("%r: no local copy of %s: %s", self._name, shown_url(page), err)

    def _error(self, url: str, err: YoutubeDLError) -> SourceUnavailable:
        message = str(err).removeprefix("ERROR: ")
        reason = unplayable_reason(message)
        if reason is not None:
            return SourceItemGone(reason)
        short = message.splitlines()[0][:300] if message else type(err).__name__
        return SourceUnavailable(f"{self._name!r} could not read {shown_url(url)}: {short}")


def _extract_info(options: dict[str, Any], url: str) -> dict[str, Any]:
    with yt_dlp.YoutubeDL(cast("Any", options)) as ydl:
        info = ydl.extract_info(url, download=False)
        return dict(ydl.sanitize_info(info) or {})


def _download(options: dict[str, Any], url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with yt_dlp.YoutubeDL(cast("Any", options)) as ydl:
        ydl.download([url])
    for part in folder.glob("*.part"):  # an interrupted or capped download
        part.unlink(missing_ok=True)


def _finished_copy(folder: Path, stem: str) -> Path | None:
    found = [p for p in folder.glob(f"{stem}.*") if p.suffix not in (".part", ".ytdl")]
    return min(found, default=None)


def _folder_bytes(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


_ENTRY_FIELDS = ("title", "description", "thumbnail", "duration", "timestamp", "episode_number",
                 "season_number", "playlist_index")  # fmt: skip


def listed_entries(info: Mapping[str, Any], url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(id, url, fields)`` of every video of a flat listing (one for a single video);
    ``fields`` are what the listing itself says of the video (a feed's titles)."""
    if info.get("_type") not in ("playlist", "multi_video"):
        video_id = info.get("id")
        return [(str(video_id) if video_id else stable_id(url), url, {})]
    found = []
    for entry in info.get("entries") or []:
        if not isinstance(entry, dict):
            continue
        entry_url = entry.get("url") or entry.get("webpage_url")
        if not isinstance(entry_url, str) or not entry_url.startswith(("http://", "https://")):
            continue
        entry_id = entry.get("id")
        fields = {k: entry[k] for k in _ENTRY_FIELDS if entry.get(k) is not None}
        if isinstance(info.get("title"), str):
            fields["playlist_title"] = info["title"]
        found.append((str(entry_id) if entry_id else stable_id(entry_url), entry_url, fields))
    return found


def _failed(item_id: str, url: str, reason: str, *, stamp: str) -> RemoteItem:
    metadata = MediaMetadata(
        kind=MediaKind.OTHER,
        title=shown_url(url).rpartition("/")[2] or item_id,
        status=MetadataStatus.FAILED,
        source=MetadataSource.SERVER,
        reason=reason,
    )
    return RemoteItem(item_id, stamp, shown_url(url), url, 0, metadata, None)


def _expiry(url: str) -> float | None:
    """When a resolved URL stops working (epoch s): its ``expire`` parameter, if any."""
    values = parse_qs(urlsplit(url).query).get("expire", [])
    return float(values[0]) if values and values[0].isdigit() else None


def _safe(item_id: str) -> str:
    return stable_id(item_id)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

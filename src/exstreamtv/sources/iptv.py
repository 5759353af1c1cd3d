"""Live channels of an IPTV playlist (extended M3U), with the entries refused and why.

The playlist is read once per scan (its URL usually holds the account's credentials: it
appears in no message, only its host and path). Each channel becomes a live item: never
seeked, scheduled in blocks of ``live_minutes``, its codecs unknown until it plays. Its
change stamp covers its name, URL, logo, group and number, so an edited entry is updated.
Channel groups (``group-title``) are mirrored as collections; refused entries are listed as
scan problems, one per line, with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from exstreamtv.domain.libraries import ScanProblem
from exstreamtv.domain.listings import Listing
from exstreamtv.domain.locations import stable_id
from exstreamtv.domain.media import (
    Artwork,
    MediaKind,
    MediaMetadata,
    MetadataSource,
    TechnicalInfo,
)
from exstreamtv.errors import InvalidInput, SourceResponseInvalid, SourceUnavailable
from exstreamtv.formats.iptv_playlist import Playlist, PlaylistChannel, parse_playlist
from exstreamtv.formats.xmltv_listings import parse_listings
from exstreamtv.sources.base import (
    Mirrored,
    RemoteCollection,
    RemoteItem,
    RemoteLibrary,
    RemoteStamp,
)
from exstreamtv.sources.server_http import ServerHttp, parse_off_loop


class IptvClient:
    """One playlist at ``url`` (``http`` has no base URL: the playlist's is absolute)."""

    def __init__(
        self,
        http: ServerHttp,
        url: str,
        *,
        live_minutes: int,
        guide_url: str | None = None,
        max_guide_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self._http, self._url, self._block_ms = http, url, live_minutes * 60_000
        self._guide_url, self._max_guide = guide_url, max_guide_bytes
        self._playlist: Playlist | None = None

    async def stamps(self, library: RemoteLibrary) -> AsyncIterator[list[RemoteStamp]]:
        del library
        self._playlist = None  # each scan reads the playlist afresh
        playlist = await self._read()
        yield [RemoteStamp(c.channel_id, _stamp(c)) for c in playlist.channels]

    async def items(self, library: RemoteLibrary, ids: Sequence[str]) -> list[RemoteItem]:
        del library
        channels = {c.channel_id: c for c in (await self._read()).channels}
        return [self._item(channels[i]) for i in ids if i in channels]

    async def collections(self, library: RemoteLibrary) -> Mirrored:
        del library
        playlist = await self._read()
        groups: dict[str, list[str]] = {}
        for channel in playlist.channels:
            if channel.group:
                groups.setdefault(channel.group, []).append(channel.channel_id)
        return Mirrored(
            tuple(RemoteCollection(stable_id("group", g), g, tuple(m)) for g, m in groups.items()),
            tuple(
                ScanProblem(f"playlist line {r.line}", f"refused: {r.reason}")
                for r in playlist.refusals
            ),
        )

    async def check(self, url: str) -> None:
        """Many IPTV servers refuse HEAD itself: only 404, 410, 5xx and no answer count."""
        await self._http.head(url, lenient=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def listings(
        self, library: RemoteLibrary, window: tuple[int, int]
    ) -> tuple[dict[str, list[Listing]], tuple[ScanProblem, ...]]:
        """Listings from the source's guide, else the first the playlist names, matched
        to channels by ``tvg-id``."""
        del library
        playlist = await self._read()
        url = self._guide_url or next(iter(playlist.guide_urls), None)
        by_tvg = {c.tvg_id: c.channel_id for c in playlist.channels if c.tvg_id}
        if url is None or not by_tvg:
            return {}, ()

        def parse(body: bytes, what: str) -> dict[str, list[Listing]]:
            del what
            return parse_listings(body, by_tvg, window, max_bytes=self._max_guide)

        try:
            body = await self._http.get(url)
            assert body is not None  # noqa: S101 - only missing_ok=True returns None
            found = await parse_off_loop(parse, body, "the guide")
        except (SourceUnavailable, InvalidInput) as err:
            return {}, (ScanProblem("the playlist's guide", err.message),)
        return {by_tvg[tvg]: listings for tvg, listings in found.items()}, ()

    async def _read(self) -> Playlist:
        if self._playlist is None:
            body = await self._http.get(self._url)
            assert body is not None  # noqa: S101 - only missing_ok=True returns None
            self._playlist = await parse_off_loop(_parse, body, "the playlist")
        return self._playlist

    def _item(self, channel: PlaylistChannel) -> RemoteItem:
        metadata = MediaMetadata(
            kind=MediaKind.LIVE,
            title=channel.name,
            source=MetadataSource.SERVER,
            genres=(channel.group,) if channel.group else (),
            artwork=Artwork(poster=channel.logo, thumb=channel.logo),
            external_ids=(("tvg", channel.tvg_id),) if channel.tvg_id else (),
        )
        technical = TechnicalInfo(duration_ms=self._block_ms, live=True)
        path = f"iptv:{channel.channel_id}"
        return RemoteItem(
            channel.channel_id, _stamp(channel), path, channel.url, 0, metadata, technical
        )


def _parse(body: bytes, what: str) -> Playlist:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    try:
        return parse_playlist(text)
    except InvalidInput as err:
        raise SourceResponseInvalid(f"{what}: {err.message}") from err


def _stamp(channel: PlaylistChannel) -> str:
    parts = (
        channel.name,
        channel.url,
        channel.logo or "",
        channel.group or "",
        channel.number or "",
    )
    return stable_id(*parts)

"""Where a media item is played from: its local file, a mapped local file, its server's
direct stream, or what an online source resolves it to (see ``online_sources``).

Wraps the catalogue's item lookup for the live channels. A local item comes back as is. A
media-server item's server path is rewritten through the source's path mappings and used
when that file exists here; otherwise the item's path becomes an opaque loopback URL of the
:class:`~exstreamtv.services.media_proxy.MediaProxy`, which streams the server's file with
the token in a header (no token ever reaches FFmpeg's argv or environment), after a quick
``HEAD`` proves the server answers. When it does not, :class:`SourceUnavailable` is
raised, and the channel plays its fallback filler or a short "Unavailable" slate (see
``fallback_filler``) and asks again, so playback resumes by itself once the server is back.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.domain.libraries import map_path
from exstreamtv.domain.media import MediaItem
from exstreamtv.services.media_proxy import MediaProxy
from exstreamtv.services.media_servers import MediaServerService
from exstreamtv.store.media_sources import MediaSourceRepository, RemoteFile

ItemLookup = Callable[[int], Awaitable[MediaItem]]
OnlineLocator = Callable[[MediaItem, RemoteFile], Awaitable[MediaItem]]


class MediaLocator:
    """An ``ItemLookup`` whose items carry a playable path (a local path or a stream URL)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        servers: MediaServerService,
        item: ItemLookup,
        proxy: MediaProxy,
        online: OnlineLocator | None = None,
    ) -> None:
        self._sessions, self._servers, self._item = sessions, servers, item
        self._proxy, self._online = proxy, online

    async def item(self, item_id: int) -> MediaItem:
        """The item, its path made playable. Raises NotFound (no such item) or
        SourceUnavailable (its server cannot be reached or refuses the stream)."""
        media = await self._item(item_id)
        async with self._sessions() as session:
            remote = await MediaSourceRepository(session).remote_file(item_id)
        if remote is None:
            return media
        if remote.kind.is_online and self._online is not None:  # resolved late, by its source
            return await self._online(media, remote)
        source = await self._servers.source(remote.source_id)
        local = map_path(media.path, source.path_mappings)
        if local is not None and await asyncio.to_thread(os.path.isfile, local):
            return replace(media, path=local)
        client = await self._servers.client(remote.source_id)
        await client.reachable(remote.remote_id, remote.stream_key)
        url = await self._proxy.url_for(
            remote.source_id, remote.remote_id, remote.stream_key, media.duration_ms / 1000
        )
        return replace(media, path=url)

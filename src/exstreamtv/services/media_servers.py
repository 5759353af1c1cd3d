"""Plex, Jellyfin and Emby sources: add, edit, test, pick libraries, and hand out clients.

Tokens are sealed (encrypted) before they reach the database and registered with the log
redactor as soon as they are known. No method returns a token, and none is ever put in a
URL: FFmpeg reads server files through the loopback ``media_proxy``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv import __version__
from exstreamtv.clock import Clock
from exstreamtv.config import MediaServersConfig, Settings
from exstreamtv.domain.libraries import Library, MediaSource, PathMapping, SourceKind
from exstreamtv.errors import Conflict, DataDirError, InvalidInput, NotFound, SourceUnavailable
from exstreamtv.logs import SecretRedactor
from exstreamtv.metrics import Metrics
from exstreamtv.runtime import load_module
from exstreamtv.sources.base import MediaServerClient, ServerInfo
from exstreamtv.store.credentials import KEY_FILE_NAME, CredentialCipher
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media_sources import MediaSourceRepository

if TYPE_CHECKING:  # the clients and httpx load with the first server a source needs
    import httpx

    from exstreamtv.sources.server_http import HttpLimits

log = logging.getLogger(__name__)
SERVER_KINDS = (SourceKind.PLEX, SourceKind.JELLYFIN, SourceKind.EMBY)
_CLIENT_MODULES = ("exstreamtv.sources.plex", "exstreamtv.sources.jellyfin")
MAX_CLIENTS = 64


def limits_of(config: MediaServersConfig) -> HttpLimits:
    """The HTTP limits the settings ask for."""
    from exstreamtv.sources.server_http import HttpLimits  # noqa: PLC0415 - see TYPE_CHECKING

    rate = config.requests_per_second
    return HttpLimits(
        connect_timeout=config.connect_timeout_sec,
        read_timeout=config.request_timeout_sec,
        retries=config.retries,
        backoff=config.retry_backoff_sec,
        max_body_bytes=int(config.max_response_mib * 1024 * 1024),
        min_interval=1 / rate if rate > 0 else 0.0,
        concurrency=config.concurrency,
        probe_timeout=config.stream_check_timeout_sec,
    )


def check_server_url(url: str) -> str:
    """``url`` without a trailing slash; raises InvalidInput unless it is a plain http(s)
    base URL (credentials, a query or a fragment in it are refused: the token goes apart)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as err:
        raise InvalidInput(f"the server URL is not valid: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the server URL must start with http:// or https:// and name a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidInput(
            "the server URL must not contain credentials, a query or a fragment;"
            " pass the token separately"
        )
    del port
    return url.strip().rstrip("/")


def check_mappings(mappings: Sequence[PathMapping]) -> tuple[PathMapping, ...]:
    """Mappings with both prefixes set and the local one absolute; raises InvalidInput."""
    for mapping in mappings:
        if not mapping.server or not mapping.local.startswith("/"):
            raise InvalidInput("a path mapping needs a server prefix and an absolute local prefix")
        if "\0" in mapping.server or "\0" in mapping.local:
            raise InvalidInput("a path mapping must not contain a NUL character")
    return tuple(mappings)


class MediaServerService:
    """Media-server sources and one client per source (bounded, rebuilt after an edit)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        redactor: SecretRedactor,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings, clock
        self._metrics, self._redactor, self._transport = metrics, redactor, transport
        self._cipher = CredentialCipher(settings.data_dir / KEY_FILE_NAME)
        self._clients: OrderedDict[int, MediaServerClient] = OrderedDict()
        self._lock = asyncio.Lock()

    async def sources(self) -> list[MediaSource]:
        async with self._sessions() as session:
            return await MediaSourceRepository(session).servers()

    async def source(self, source_id: int) -> MediaSource:
        """The source; raises NotFound."""
        async with self._sessions() as session:
            return await MediaSourceRepository(session).get(source_id)

    async def libraries(self, source_id: int) -> list[Library]:
        async with self._sessions() as session:
            return await MediaSourceRepository(session).libraries(source_id)

    async def create(
        self,
        kind: SourceKind,
        name: str,
        url: str,
        token: SecretStr,
        mappings: Sequence[PathMapping] = (),
    ) -> MediaSource:
        """Store a new server source (the token sealed); raises InvalidInput or Conflict.
        The connection is not tried here: see :meth:`test`."""
        if kind not in SERVER_KINDS:
            raise InvalidInput(f"a media server source is one of plex, jellyfin, emby; not {kind}")
        if not token.get_secret_value().strip():
            raise InvalidInput("the token (API key) must not be empty")
        base, checked = check_server_url(url), check_mappings(mappings)
        self._redactor.register([token.get_secret_value()])
        sealed = await self._cipher.seal(token)
        async with transaction(self._sessions) as session:
            return await MediaSourceRepository(session).create(
                kind, name, base, sealed, checked, self._clock.now()
            )

    async def update(
        self,
        source_id: int,
        *,
        name: str,
        url: str,
        mappings: Sequence[PathMapping],
        token: SecretStr | None = None,
    ) -> MediaSource:
        """Replace name, URL and mappings, and the token when one is given."""
        base, checked = check_server_url(url), check_mappings(mappings)
        sealed = None
        if token is not None and token.get_secret_value().strip():
            self._redactor.register([token.get_secret_value()])
            sealed = await self._cipher.seal(token)
        async with transaction(self._sessions) as session:
            source = await MediaSourceRepository(session).update(
                source_id, name=name, url=base, mappings=checked, sealed=sealed
            )
        await self._forget(source_id)
        return source

    async def delete(self, source_id: int, *, busy: Sequence[int] = ()) -> None:
        """Delete the source and its libraries; Conflict while one of them (``busy``) scans."""
        libraries = await self.libraries(source_id)
        scanning = [lib.name for lib in libraries if lib.id in busy]
        if scanning:
            raise Conflict(f"library {scanning[0]!r} of this source is being scanned")
        async with transaction(self._sessions) as session:
            await MediaSourceRepository(session).delete(source_id)
        await self._forget(source_id)

    async def test(self, source_id: int) -> ServerInfo:
        """Connect with the stored token: the server's name, version and libraries.
        Raises SourceUnavailable (unreachable, token refused) or SourceResponseInvalid."""
        info = await (await self.client(source_id)).info()
        if info.server_id:
            async with transaction(self._sessions) as session:
                await MediaSourceRepository(session).set_server_id(source_id, info.server_id)
        return info

    async def select_libraries(self, source_id: int, external_ids: Sequence[str]) -> list[Library]:
        """Create one of our libraries per chosen server library (named after it, with the
        source's name added when the name is taken). Raises InvalidInput for an unknown id
        or a library without video, Conflict when one is already selected."""
        if not external_ids:
            raise InvalidInput("choose at least one server library")
        source = await self.source(source_id)
        offered = {lib.external_id: lib for lib in (await self.test(source_id)).libraries}
        created = []
        for external_id in dict.fromkeys(external_ids):
            remote = offered.get(external_id)
            if remote is None or remote.kind is None:
                known = ", ".join(f"{k} ({v.title})" for k, v in offered.items() if v.kind)
                raise InvalidInput(
                    f"server library {external_id!r} is not a video library of"
                    f" {source.name!r} (choose from: {known or 'none'})"
                )
            async with transaction(self._sessions) as session:
                name = remote.title
                if await LibraryRepository(session).by_name(name) is not None:
                    name = f"{remote.title} ({source.name})"
                library = await MediaSourceRepository(session).add_library(
                    source_id, external_id, name, remote.kind, remote.paths, self._clock.now()
                )
            created.append(library)
        return created

    async def client(self, source_id: int) -> MediaServerClient:
        """The source's client, built on first use (raises NotFound, SourceUnavailable when
        the stored token cannot be decrypted)."""
        async with self._lock:
            found = self._clients.get(source_id)
            if found is not None:
                self._clients.move_to_end(source_id)
                return found
            async with self._sessions() as session:
                repo = MediaSourceRepository(session)
                source, sealed = await repo.get(source_id), await repo.sealed_credential(source_id)
            if sealed is None or source.url is None:
                raise NotFound(f"media source {source_id} has no server URL or token")
            token = await self._cipher.open(sealed)
            self._redactor.register([token.get_secret_value()])
            for module in _CLIENT_MODULES:  # loaded with the first client, off the loop
                await load_module(module)
            client = self._build(source, token)
            self._clients[source_id] = client
            if len(self._clients) > MAX_CLIENTS:
                _, oldest = self._clients.popitem(last=False)
                await oldest.aclose()
            return client

    async def register_secrets(self) -> None:
        """Register every stored token with the log redactor (at start-up)."""
        for source in await self.sources():
            try:
                await self.client(source.id)
            except (SourceUnavailable, NotFound, DataDirError) as err:  # others still work
                log.error("media source %r cannot be used: %s", source.name, err.message)  # noqa: TRY400 - the reason is enough

    async def close(self) -> None:
        async with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            await client.aclose()

    async def _forget(self, source_id: int) -> None:
        async with self._lock:
            client = self._clients.pop(source_id, None)
        if client is not None:
            await client.aclose()

    def _build(self, source: MediaSource, token: SecretStr) -> MediaServerClient:
        # Loaded by client() (see _CLIENT_MODULES): an idle server without sources never
        # loads the clients or httpx.
        from exstreamtv.sources.jellyfin import JellyfinClient, jellyfin_headers  # noqa: PLC0415
        from exstreamtv.sources.plex import PlexClient, plex_headers  # noqa: PLC0415
        from exstreamtv.sources.server_http import ServerHttp  # noqa: PLC0415

        config = self._settings.media_servers
        client_id = f"exstreamtv-{source.id}"
        if source.kind is SourceKind.PLEX:
            headers = plex_headers(token, client_id)
        else:
            headers = jellyfin_headers(source.kind, token, client_id, __version__)
        http = ServerHttp(
            source.url or "",
            label=str(source.id),
            name=source.name,
            headers=headers,
            limits=limits_of(config),
            metrics=self._metrics,
            transport=self._transport,
        )
        if source.kind is SourceKind.PLEX:
            return PlexClient(http, token, page_size=config.page_size)
        return JellyfinClient(http, token, source.kind, page_size=config.page_size)

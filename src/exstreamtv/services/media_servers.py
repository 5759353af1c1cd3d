"""Plex, Jellyfin and Emby sources: add (with a token, a Plex PIN link, or a Jellyfin/Emby
user name and password), edit, test, pick libraries, and hand out clients.

Tokens are sealed (encrypted) before they reach the database and registered with the log
redactor as soon as they are known; a password is registered too, sent once to the server
and never stored. No method returns a token, and none is ever put in a URL: FFmpeg reads
server files through the loopback ``media_proxy``.
"""

from __future__ import annotations

import logging
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
from exstreamtv.services.client_cache import ClientCache
from exstreamtv.services.plex_link import PlexLink
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
SIGN_IN_DEVICE = "exstreamtv-sign-in"


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
        self._clients: ClientCache[MediaServerClient] = ClientCache(MAX_CLIENTS)
        self.link = PlexLink(
            settings.media_servers.plex_tv_url,
            clock,
            redactor,
            limits_of(settings.media_servers),
            transport=transport,
        )

    @property
    def cipher(self) -> CredentialCipher:
        """The install's credential cipher (shared with the online sources)."""
        return self._cipher

    async def sources(self) -> list[MediaSource]:
        async with self._sessions() as session:
            return await MediaSourceRepository(session).servers()

    async def source(self, source_id: int) -> MediaSource:
        """The Plex, Jellyfin or Emby source; raises NotFound (for other kinds too)."""
        async with self._sessions() as session:
            source = await MediaSourceRepository(session).get(source_id)
        if not source.kind.is_server:
            raise NotFound(f"media source {source_id} is not a media server")
        return source

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

    async def sign_in(
        self,
        kind: SourceKind,
        name: str,
        url: str,
        username: str,
        password: SecretStr,
        *,
        mappings: Sequence[PathMapping] = (),
    ) -> MediaSource:
        """Sign in to a Jellyfin or Emby server as a user and store the source with the
        resulting token (sealed) and that user (its playlists are mirrored). The password is
        sent once and never stored. Raises InvalidInput (refused name or password, not a
        Jellyfin/Emby kind), SourceUnavailable, Conflict."""
        if kind not in (SourceKind.JELLYFIN, SourceKind.EMBY):
            raise InvalidInput("user name and password sign-in is for jellyfin and emby")
        if not username.strip() or not password.get_secret_value():
            raise InvalidInput("the user name and the password must not be empty")
        self._redactor.register([password.get_secret_value()])
        base, checked = check_server_url(url), check_mappings(mappings)
        await load_module("exstreamtv.sources.jellyfin")  # see _CLIENT_MODULES
        from exstreamtv.sources.jellyfin import jellyfin_headers, sign_in  # noqa: PLC0415
        from exstreamtv.sources.server_http import ServerHttp  # noqa: PLC0415

        headers = jellyfin_headers(kind, None, SIGN_IN_DEVICE, __version__)
        limits = limits_of(self._settings.media_servers)
        async with ServerHttp(
            base, label="sign-in", name=name, headers=headers, limits=limits,
            transport=self._transport,
        ) as http:  # fmt: skip
            token, user_id = await sign_in(http, kind, username, password)
        source = await self.create(kind, name, base, token, checked)
        return await self.set_user(source.id, user_id)

    async def create_linked(
        self,
        name: str,
        pin_id: int,
        machine_id: str,
        url: str | None = None,
        mappings: Sequence[PathMapping] = (),
    ) -> MediaSource:
        """Store the Plex server ``machine_id`` of a linked PIN with that server's token;
        ``url`` defaults to its first local address. Raises NotFound (unknown link or
        server), InvalidInput (no usable address), Conflict."""
        server = self.link.take(pin_id, machine_id)
        address = url or next(iter(server.urls), None)
        if address is None:
            raise InvalidInput(f"Plex server {server.name!r} lists no address; give its URL")
        return await self.create(SourceKind.PLEX, name, address, server.token, mappings)

    async def set_user(self, source_id: int, user_id: str | None) -> MediaSource:
        """Choose the Jellyfin/Emby user whose playlists are read (``None``: none)."""
        source = await self.source(source_id)
        if user_id is not None and source.kind not in (SourceKind.JELLYFIN, SourceKind.EMBY):
            raise InvalidInput("only Jellyfin and Emby sources read playlists as a user")
        async with transaction(self._sessions) as session:
            changed = await MediaSourceRepository(session).set_user(source_id, user_id)
        await self._forget(source_id)
        return changed

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

    async def open(self, source_id: int) -> tuple[MediaSource, MediaServerClient]:
        """The source and its client (what a sync reads)."""
        return await self.source(source_id), await self.client(source_id)

    async def client(self, source_id: int) -> MediaServerClient:
        """The source's client, built on first use (raises NotFound, SourceUnavailable when
        the stored token cannot be decrypted)."""

        async def build() -> MediaServerClient:
            source = await self.source(source_id)
            async with self._sessions() as session:
                sealed = await MediaSourceRepository(session).sealed_credential(source_id)
            if sealed is None or source.url is None:
                raise NotFound(f"media source {source_id} has no server URL or token")
            token = await self._cipher.open(sealed)
            self._redactor.register([token.get_secret_value()])
            for module in _CLIENT_MODULES:  # loaded with the first client, off the loop
                await load_module(module)
            return self._build(source, token)

        return await self._clients.get(source_id, build)

    async def register_secrets(self) -> None:
        """Register every stored token with the log redactor (at start-up)."""
        for source in await self.sources():
            try:
                await self.client(source.id)
            except (SourceUnavailable, NotFound, DataDirError) as err:  # others still work
                log.error("media source %r cannot be used: %s", source.name, err.message)  # noqa: TRY400 - the reason is enough

    async def close(self) -> None:
        await self._clients.close()

    async def _forget(self, source_id: int) -> None:
        await self._clients.forget(source_id)

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
        return JellyfinClient(
            http, token, source.kind, page_size=config.page_size, user_id=source.user_id
        )

"""Online sources (HTTP(S) files, yt-dlp sites, Internet Archive searches, IPTV playlists):
create, edit and delete them, give a scan their client, and, at play time, say where an
item plays from.

Each online source has one library, created with it. What the source reads (its URLs) and
anything secret (cookies, request headers, the guide's URL) are sealed together, as media
server tokens are; only their display form (host and path) is stored in the clear, and
every stream key of its items is sealed too. Secrets are registered with the log redactor
when they are known, and a stream URL when it is opened.

Sources resolve late: a scan stores ids, metadata and what to resolve; the playable URL is
made at play time. A yt-dlp stream URL is cached with its expiry and resolved again
``online_sources.resolve_ahead_min`` before it lapses; a local copy, when kept, is played
instead. An item that is gone for good (removed, private, restricted) is marked failed with
the reason and missing, its slot plays the fallback filler, and ``on_gone`` (the media-fault
reports) takes it out of every channel's future at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.libraries import (
    DEFAULT_RATES,
    Library,
    LibraryKind,
    MediaSource,
    OnlineSecrets,
    OnlineSettings,
    SourceKind,
)
from exstreamtv.domain.locations import check_online_url, secret_parts, shown_url
from exstreamtv.domain.media import MediaItem
from exstreamtv.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SourceItemGone,
    SourceUnavailable,
)
from exstreamtv.logs import SecretRedactor
from exstreamtv.runtime import load_module
from exstreamtv.services.client_cache import ClientCache
from exstreamtv.services.media_servers import MediaServerService, limits_of
from exstreamtv.sources.archive_org import ArchiveClient
from exstreamtv.sources.base import Catalogue, Checked
from exstreamtv.sources.iptv import IptvClient
from exstreamtv.sources.pace import Pace
from exstreamtv.sources.remote_files import RemoteFilesClient
from exstreamtv.sources.server_http import ServerHttp
from exstreamtv.store.credentials import CredentialCipher
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media_sources import MediaSourceRepository, RemoteFile

if TYPE_CHECKING:  # yt-dlp loads with the first yt-dlp source a scan or a viewer needs
    import httpx

    from exstreamtv.sources.ytdlp import YtDlpClient

log = logging.getLogger(__name__)
_YTDLP_MODULE = "exstreamtv.sources.ytdlp"
ONLINE_LIBRARY = "online"  # the external id of an online source's one library
MAX_CLIENTS = 64
MAX_RESOLVED = 512
DEFAULT_TTL_SEC = 6 * 3600  # a resolved URL that does not say when it expires
MAX_URLS = 500
GoneReport = Callable[[int, str], Awaitable[None]]  # (media id, reason)


@dataclass(frozen=True, slots=True)
class _Resolved:
    url: str
    good_until: float  # epoch seconds: resolve again from then on


class OnlineSourceService:
    """Online sources, their clients, and where their items play from."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        redactor: SecretRedactor,
        servers: MediaServerService,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_gone: GoneReport | None = None,
    ) -> None:
        self._sessions, self._settings, self._clock = sessions, settings, clock
        self._redactor, self._servers, self._transport = redactor, servers, transport
        self._on_gone = on_gone
        self._cipher: CredentialCipher = servers.cipher
        self._clients: ClientCache[Checked] = ClientCache(MAX_CLIENTS)
        self._resolved: OrderedDict[int, _Resolved] = OrderedDict()

    async def sources(self) -> list[MediaSource]:
        async with self._sessions() as session:
            return await MediaSourceRepository(session).online()

    async def source(self, source_id: int) -> MediaSource:
        """The online source; raises NotFound (for other kinds too)."""
        async with self._sessions() as session:
            source = await MediaSourceRepository(session).get(source_id)
        if not source.kind.is_online:
            raise NotFound(f"online source {source_id} does not exist")
        return source

    async def library(self, source_id: int) -> Library:
        await self.source(source_id)
        async with self._sessions() as session:
            return await MediaSourceRepository(session).library_of(source_id)

    async def create(
        self,
        kind: SourceKind,
        name: str,
        library_kind: LibraryKind,
        secrets: OnlineSecrets,
        settings: OnlineSettings,
    ) -> MediaSource:
        """Store an online source and its library (named ``name``). Raises InvalidInput
        (not an online kind, a URL that is not http(s), what the kind needs is missing) or
        Conflict (a name is taken)."""
        secrets, settings = self._checked(kind, secrets, settings)
        sealed = await self._seal_secrets(secrets)
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            repo = MediaSourceRepository(session)
            source = await repo.create_online(kind, name, sealed, settings, now)
            await repo.add_library(
                source.id, ONLINE_LIBRARY, name, library_kind, settings.shown, now
            )
        return source

    async def update(
        self,
        source_id: int,
        *,
        name: str,
        settings: OnlineSettings,
        secrets: OnlineSecrets | None = None,
    ) -> MediaSource:
        """Replace the name and settings, and what the source reads when ``secrets`` is
        given (else the stored locations and secrets stay). Raises NotFound, InvalidInput,
        Conflict."""
        source = await self.source(source_id)
        kept = secrets if secrets is not None else await self._secrets(source_id)
        kept, settings = self._checked(source.kind, kept, settings)
        sealed = await self._seal_secrets(kept) if secrets is not None else None
        async with transaction(self._sessions) as session:
            repo = MediaSourceRepository(session)
            changed = await repo.update_online(
                source_id, name=name, settings=settings, sealed=sealed
            )
            library = await repo.library_of(source_id)
        async with transaction(self._sessions) as session:
            await LibraryRepository(session).update(
                library.id, name=name, kind=library.kind, paths=settings.shown
            )
        await self._forget(source_id)
        return changed

    async def delete(self, source_id: int, *, busy: Sequence[int] = ()) -> None:
        """Delete the source, its library and items, and its local copies; Conflict while
        its library scans."""
        library = await self.library(source_id)
        if library.id in busy:
            raise Conflict(f"library {library.name!r} of this source is being scanned")
        async with transaction(self._sessions) as session:
            await MediaSourceRepository(session).delete(source_id)
        await self._forget(source_id)
        await asyncio.to_thread(shutil.rmtree, self._folder(source_id), ignore_errors=True)

    async def open(self, source_id: int) -> tuple[MediaSource, Catalogue]:
        """A source of any kind and the client a scan reads it with."""
        async with self._sessions() as session:
            source = await MediaSourceRepository(session).get(source_id)
        if not source.kind.is_online:
            return await self._servers.open(source_id)
        return source, await self._client(source)

    async def seal(self, source: MediaSource, key: str) -> str:
        """What is stored of an item's stream key: sealed for online sources."""
        if not source.kind.is_online:
            return key
        return await self._cipher.seal(SecretStr(key))

    async def locate(self, media: MediaItem, remote: RemoteFile) -> MediaItem:
        """``media`` with the path it plays from now (a local copy or a URL). Raises
        SourceItemGone (marked failed and missing) or SourceUnavailable."""
        source = await self.source(remote.source_id)
        client = await self._client(source)
        if remote.stream_key is None:
            raise SourceItemGone(f"item {media.id} of {source.name!r} has no stream")
        target = (await self._cipher.open(remote.stream_key)).get_secret_value()
        url = target
        if source.kind is SourceKind.YOUTUBE:  # its client is a YtDlpClient (see _build)
            ytdlp = cast("YtDlpClient", client)
            copy = await ytdlp.copy_of(remote.remote_id)
            if copy is not None:
                return replace(media, path=str(copy))
            url = await self._resolve(media, ytdlp, target)
        self._redactor.register(secret_parts(url))
        await client.check(url)
        return replace(media, path=url)

    async def register_secrets(self) -> None:
        """Register every online source's secrets with the log redactor (at start-up)."""
        for source in await self.sources():
            try:
                await self._secrets(source.id)
            except SourceUnavailable as err:  # the key file changed: the others still work
                log.error("online source %r cannot be used: %s", source.name, err.message)  # noqa: TRY400 - the reason is enough

    async def close(self) -> None:
        await self._clients.close()

    async def _resolve(self, media: MediaItem, client: YtDlpClient, page: str) -> str:
        now = self._clock.now().timestamp()
        cached = self._resolved.get(media.id)
        if cached is not None and cached.good_until > now:
            self._resolved.move_to_end(media.id)
            return cached.url
        try:
            resolved = await client.resolve(page)
        except SourceItemGone as err:
            await self._fail(media, err.message)
            raise
        expires = resolved.expires_at or now + DEFAULT_TTL_SEC
        ahead = self._settings.online_sources.resolve_ahead_min * 60
        # Keep a URL only while it has ``ahead`` left; one nearer its end is used once.
        self._resolved[media.id] = _Resolved(resolved.url, expires - ahead)
        while len(self._resolved) > MAX_RESOLVED:
            self._resolved.popitem(last=False)
        return resolved.url

    async def _fail(self, media: MediaItem, reason: str) -> None:
        log.warning("online item %s (%r) cannot be played: %s", media.id,
                    media.metadata.title, reason)  # fmt: skip
        async with transaction(self._sessions) as session:
            await MediaSourceRepository(session).fail_item(media.id, reason, self._clock.now())
        self._resolved.pop(media.id, None)
        if self._on_gone is not None:
            await self._on_gone(media.id, reason)

    async def _client(self, source: MediaSource) -> Checked:
        async def build() -> Checked:
            return await self._build(source, await self._secrets(source.id))

        return await self._clients.get(source.id, build)

    async def _build(self, source: MediaSource, secrets: OnlineSecrets) -> Checked:
        settings = source.online or OnlineSettings()
        online = self._settings.online_sources
        rate = settings.rate_per_minute
        if rate is None:
            rate = DEFAULT_RATES.get(source.kind, 0)
        limits = replace(
            limits_of(self._settings.media_servers),
            read_timeout=online.request_timeout_sec,
            max_body_bytes=int(online.max_playlist_mib * 1024 * 1024),
            min_interval=60 / rate if rate > 0 else 0.0,
        )
        headers = dict(secrets.headers)

        def http(base: str = "") -> ServerHttp:
            return ServerHttp(
                base, label=str(source.id), name=source.name, headers=headers, limits=limits,
                transport=self._transport, shown=shown_url, follow_redirects=True,
                noun="online source",
            )  # fmt: skip

        ffprobe, probe = self._settings.ffmpeg.ffprobe_path, self._settings.scan.probe_timeout_sec
        if source.kind is SourceKind.REMOTE:
            return RemoteFilesClient(http(), secrets.urls, ffprobe=ffprobe, probe_timeout=probe)
        if source.kind is SourceKind.ARCHIVE_ORG:
            return ArchiveClient(
                http(online.archive_org_url.rstrip("/")),
                settings.query or "",
                page_size=online.search_page_size,
            )
        if source.kind is SourceKind.IPTV:
            return IptvClient(
                http(), secrets.urls[0], live_minutes=settings.live_minutes,
                guide_url=secrets.guide_url,
            )  # fmt: skip
        # yt-dlp takes a few hundred milliseconds to import: only with the first source that
        # needs it, off the loop, so a server without one never loads it.
        await load_module(_YTDLP_MODULE)
        from exstreamtv.sources.ytdlp import YtDlpClient  # noqa: PLC0415 - loaded just above

        folder = self._folder(source.id)
        cookies = await asyncio.to_thread(_private_file, folder / "cookies.txt", secrets.cookies)
        return YtDlpClient(
            source.name, secrets.urls, http=http(), pace=Pace(limits.min_interval), cookies=cookies,
            headers=headers, copies=folder / "copies" if settings.keep_local_copy else None,
            copies_cap_bytes=settings.local_copy_max_mib * 1024 * 1024,
            socket_timeout=online.request_timeout_sec, ffprobe=ffprobe,
        )  # fmt: skip

    def _checked(
        self, kind: SourceKind, secrets: OnlineSecrets, settings: OnlineSettings
    ) -> tuple[OnlineSecrets, OnlineSettings]:
        if not kind.is_online:
            raise InvalidInput(
                f"an online source is remote, youtube, archive_org or iptv; not {kind}"
            )
        urls = tuple(dict.fromkeys(check_online_url(u) for u in secrets.urls))
        guide = check_online_url(secrets.guide_url) if secrets.guide_url else None
        if len(urls) > MAX_URLS:
            raise InvalidInput(f"an online source reads at most {MAX_URLS} URLs")
        if kind is SourceKind.ARCHIVE_ORG and not (settings.query or "").strip():
            raise InvalidInput("an archive_org source needs a query (a collection or a search)")
        if kind in (SourceKind.REMOTE, SourceKind.YOUTUBE) and not urls:
            raise InvalidInput(f"a {kind} source needs at least one URL")
        if kind is SourceKind.IPTV and len(urls) != 1:
            raise InvalidInput("an iptv source reads exactly one playlist URL")
        for name, value in secrets.headers:
            if not name or any(c in name + value for c in "\r\n\0"):
                raise InvalidInput("a request header must have a name and no line breaks")
        secrets = replace(secrets, urls=urls, guide_url=guide)
        self._register(secrets)
        return secrets, replace(
            settings,
            shown=tuple(shown_url(u) for u in urls) or ((settings.query or "").strip(),),
            has_guide=guide is not None,
            has_cookies=bool(secrets.cookies),
        )

    async def _seal_secrets(self, secrets: OnlineSecrets) -> str:
        return await self._cipher.seal(SecretStr(json.dumps(asdict(secrets))))

    async def _secrets(self, source_id: int) -> OnlineSecrets:
        async with self._sessions() as session:
            sealed = await MediaSourceRepository(session).sealed_credential(source_id)
        if sealed is None:
            return OnlineSecrets()
        stored = json.loads((await self._cipher.open(sealed)).get_secret_value())
        secrets = OnlineSecrets(
            urls=tuple(stored.get("urls") or ()),
            guide_url=stored.get("guide_url"),
            cookies=stored.get("cookies"),
            headers=tuple((str(k), str(v)) for k, v in stored.get("headers") or ()),
        )
        self._register(secrets)
        return secrets

    def _register(self, secrets: OnlineSecrets) -> None:
        urls = [*secrets.urls, *([secrets.guide_url] if secrets.guide_url else [])]
        self._redactor.register([p for url in urls for p in secret_parts(url)])
        self._redactor.register([secrets.cookies, *(value for _, value in secrets.headers)])

    async def _forget(self, source_id: int) -> None:
        await self._clients.forget(source_id)

    def _folder(self, source_id: int) -> Path:
        return self._settings.data_dir / "online" / str(source_id)


def _private_file(path: Path, text: str | None) -> Path | None:
    """``text`` written to ``path`` readable by this user only, or ``None`` without text."""
    if not text:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path

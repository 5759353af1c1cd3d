"""``exstreamtv source ...``: add (with a token, a Jellyfin/Emby sign-in or a Plex PIN link),
list and test Plex, Jellyfin and Emby servers, and choose their libraries. Tokens and
passwords are read from an option, an environment variable or a prompt and never printed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import SecretStr
from rich.console import Console

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import MediaSource, SourceKind, parse_mapping
from exstreamtv.errors import NotFound, SourceUnavailable
from exstreamtv.services.container import open_container
from exstreamtv.services.media_servers import MediaServerService


async def add_source(
    settings: Settings,
    console: Console,
    *,
    kind: SourceKind,
    name: str,
    url: str,
    token: SecretStr,
    mappings: Sequence[str] = (),
) -> None:
    async with open_container(settings) as container:
        source = await container.media_servers.create(
            kind, name, url, token, [parse_mapping(m) for m in mappings]
        )
        console.print(f"added {kind.value} source {source.id}: {source.name} ({source.url})",
                      highlight=False, markup=False)  # fmt: skip


async def sign_in_source(
    settings: Settings,
    console: Console,
    *,
    kind: SourceKind,
    name: str,
    url: str,
    user: str,
    password: SecretStr,
    mappings: Sequence[str] = (),
) -> None:
    async with open_container(settings) as container:
        source = await container.media_servers.sign_in(
            kind, name, url, user, password, mappings=[parse_mapping(m) for m in mappings]
        )
        console.print(f"signed in to {kind.value} source {source.id}: {source.name}"
                      f" ({source.url}) as {user}", highlight=False, markup=False)  # fmt: skip


async def link_plex(
    settings: Settings,
    console: Console,
    *,
    name: str,
    server: str | None,
    url: str | None,
    poll_sec: float = 2.0,
) -> None:
    """Show a PIN, wait until it is typed at plex.tv/link (until it expires), then add the
    chosen server of the account."""
    async with open_container(settings) as container:
        link = container.media_servers.link
        pin = await link.start()
        console.print(f"Open https://plex.tv/link and enter the code: {pin.code}",
                      highlight=False, markup=False)  # fmt: skip
        for _ in range(max(1, int(pin.expires_in / poll_sec))):
            servers = await link.servers(pin.pin_id)
            if servers is not None:
                break
            await asyncio.sleep(poll_sec)
        else:
            raise SourceUnavailable("the code was not entered in time; run the command again")
        chosen = next(
            (s for s in servers if server is None or server in (s.name, s.machine_id)), None
        )
        if chosen is None:
            names = ", ".join(s.name for s in servers) or "none"
            raise NotFound(f"the Plex account has no server {server!r} (it has: {names})")
        source = await container.media_servers.create_linked(
            name, pin.pin_id, chosen.machine_id, url
        )
        console.print(f"added plex source {source.id}: {source.name} ({source.url})",
                      highlight=False, markup=False)  # fmt: skip


async def list_sources(settings: Settings, console: Console) -> None:
    async with open_container(settings) as container:
        sources = await container.media_servers.sources()
        if not sources:
            console.print("no media servers: add one with `exstreamtv source add`")
        for source in sources:
            libraries = await container.media_servers.libraries(source.id)
            names = ", ".join(lib.name for lib in libraries) or "no libraries chosen"
            console.print(
                f"{source.id}  {source.kind.value:<8} {source.name}  {source.url}  [{names}]",
                highlight=False,
                markup=False,
            )


async def test_source(settings: Settings, console: Console, wanted: str) -> None:
    async with open_container(settings) as container:
        source = await _find(container.media_servers, wanted)
        info = await container.media_servers.test(source.id)
        console.print(f"{info.name} (version {info.version}): connected",
                      highlight=False, markup=False)  # fmt: skip
        for library in info.libraries:
            kind = library.kind.value if library.kind else "not importable"
            console.print(f"  {library.external_id}  {library.title}  ({kind})",
                          highlight=False, markup=False)  # fmt: skip


async def choose_libraries(
    settings: Settings, console: Console, wanted: str, library_ids: Sequence[str]
) -> None:
    async with open_container(settings) as container:
        source = await _find(container.media_servers, wanted)
        for library in await container.media_servers.select_libraries(source.id, library_ids):
            console.print(
                f"library {library.id}: {library.name}; scan it with"
                f" `exstreamtv scan {library.id}`",
                highlight=False,
                markup=False,
            )


async def _find(servers: MediaServerService, wanted: str) -> MediaSource:
    sources = await servers.sources()
    for source in sources:
        if source.name == wanted or str(source.id) == wanted:
            return source
    names = ", ".join(repr(s.name) for s in sources) or "none"
    raise NotFound(f"no media server named {wanted!r} (known: {names})")

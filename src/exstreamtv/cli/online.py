"""``exstreamtv online ...``: add and list online sources (URLs, yt-dlp sites, Internet
Archive searches, IPTV playlists). URLs are read from options and never printed back but as
host and path."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import LibraryKind, OnlineSecrets, OnlineSettings, SourceKind
from exstreamtv.services.container import open_container


async def add_online(  # noqa: PLR0917 - one value per option
    settings: Settings,
    console: Console,
    kind: SourceKind,
    name: str,
    library_kind: LibraryKind,
    urls: Sequence[str],
    query: str | None,
    guide_url: str | None,
) -> None:
    async with open_container(settings) as container:
        source = await container.online.create(
            kind, name, library_kind,
            OnlineSecrets(urls=tuple(urls), guide_url=guide_url), OnlineSettings(query=query),
        )  # fmt: skip
        library = await container.online.library(source.id)
        console.print(
            f"added {kind.value} source {source.id}: {source.name}; scan it with"
            f" `exstreamtv scan {library.id}`",
            highlight=False,
            markup=False,
        )


async def list_online(settings: Settings, console: Console) -> None:
    async with open_container(settings) as container:
        sources = await container.online.sources()
        if not sources:
            console.print("no online sources: add one with `exstreamtv online add`")
        for source in sources:
            library = await container.online.library(source.id)
            shown = ", ".join(source.online.shown if source.online else ())
            console.print(
                f"{source.id}  {source.kind.value:<11} {source.name}  library {library.id}"
                f"  [{shown}]",
                highlight=False,
                markup=False,
            )

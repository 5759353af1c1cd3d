"""``exstreamtv scan [LIBRARY]``: scan now with a progress bar."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import Library, ScanStatus
from exstreamtv.errors import LibraryPathInvalid, NotFound
from exstreamtv.services.container import Container, open_container
from exstreamtv.services.library import ScanProgress

REFRESH_SEC = 0.2


async def scan_libraries(settings: Settings, wanted: str | None, console: Console) -> int:
    """Scan the named library (name or id) or all; returns the number of failed scans."""
    async with open_container(settings) as container:
        problems = await container.libraries.ensure_configured()
        if problems:
            raise LibraryPathInvalid("; ".join(problems))
        libraries = _select(await container.libraries.libraries(), wanted)
        failures = 0
        for library in libraries:
            result = await _scan_with_bar(container, library, console)
            counts = result.counts
            console.print(
                f"{library.name}: {result.status.value}; {counts.total} files, "
                f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged, "
                f"{counts.failed} failed, {counts.missing} missing"
                + (f" ({result.error})" if result.error else ""),
                highlight=False,
                markup=False,
            )
            failures += result.status is ScanStatus.FAILED
        return failures


def _select(libraries: list[Library], wanted: str | None) -> list[Library]:
    if wanted is None:
        if not libraries:
            raise NotFound("no libraries are configured: add one in the config file or the API")
        return libraries
    for library in libraries:
        if library.name == wanted or str(library.id) == wanted:
            return [library]
    names = ", ".join(repr(lib.name) for lib in libraries) or "none"
    raise NotFound(f"no library named {wanted!r} (known: {names})")


async def _scan_with_bar(container: Container, library: Library, console: Console) -> ScanProgress:
    progress = await container.libraries.start_scan(library.id)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(library.name, total=None)
        waiter = asyncio.ensure_future(container.libraries.wait(library.id))
        while not waiter.done():
            counts = progress.counts
            bar.update(task, total=counts.total or None, completed=counts.processed)
            await asyncio.wait({waiter}, timeout=REFRESH_SEC)
        return waiter.result()

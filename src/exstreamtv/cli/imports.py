"""``exstreamtv import dizquetv|tunarr|ersatztv``: bring channels over from another program."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import parse_mapping
from exstreamtv.domain.station_import import ForeignStation
from exstreamtv.services.container import open_container
from exstreamtv.services.station_import import ImportReport


async def import_station(
    settings: Settings,
    console: Console,
    read: Callable[[Path], ForeignStation],
    path: Path,
    *,
    mappings: Sequence[str] = (),
    dry_run: bool = False,
) -> ImportReport:
    """Read ``path`` with ``read`` (in a thread), import it, print the report."""
    parsed = [parse_mapping(m) for m in mappings]
    station = await asyncio.to_thread(read, path)
    root = path if await asyncio.to_thread(path.is_dir) else path.parent
    async with open_container(settings) as container:
        report = await container.imports.run(
            station, mappings=parsed, dry_run=dry_run, files_root=root
        )
    print_report(console, report)
    return report


def print_report(console: Console, report: ImportReport) -> None:
    """The report as plain lines: what is (or would be) created, then every problem."""
    verb = "would create" if report.dry_run else "created"
    say = console.print
    say(f"{report.system} import{' (dry run, nothing saved)' if report.dry_run else ''}:",
        highlight=False)  # fmt: skip
    for title, names in (
        ("channels", report.channels),
        ("collections", report.collections),
        ("filler presets", report.presets),
        ("schedules", report.schedules),
    ):
        say(f"  {verb} {len(names)} {title}", highlight=False)
        for name in names:
            say(f"    {name}", highlight=False, markup=False)
    for name in report.reused:
        say(f"  reused existing {name}", highlight=False, markup=False)
    for line in report.skipped:
        say(f"  skipped {line}", highlight=False, markup=False)
    say(f"  matched {report.matched} media item(s); {len(report.unmatched)} not matched",
        highlight=False)  # fmt: skip
    for miss in report.unmatched:
        say(f"    not matched: {miss.item} in {miss.where}: {miss.reason}",
            highlight=False, markup=False)  # fmt: skip
    for note in (*report.notes, *report.builds):
        say(f"  note: {note}", highlight=False, markup=False)

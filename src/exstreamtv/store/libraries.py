"""Media sources, libraries, scan runs and scan problems in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exstreamtv.domain.libraries import (
    Library,
    LibraryKind,
    ScanCounts,
    ScanProblem,
    ScanStatus,
    SourceKind,
)
from exstreamtv.errors import Conflict, NotFound
from exstreamtv.store.tables import LibraryRow, MediaSourceRow, ScanProblemRow, ScanRunRow

LOCAL_SOURCE_NAME = "Local folders"


class LibraryRepository:
    """Library and scan-run reads and writes within one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Library]:
        rows = await self._session.execute(
            select(LibraryRow, MediaSourceRow.kind)
            .join(MediaSourceRow, MediaSourceRow.id == LibraryRow.source_id)
            .order_by(LibraryRow.name)
        )
        return [_to_library(row, kind) for row, kind in rows]

    async def get(self, library_id: int) -> Library:
        """The library; raises :class:`NotFound`."""
        row = await self._session.execute(
            select(LibraryRow, MediaSourceRow.kind)
            .join(MediaSourceRow, MediaSourceRow.id == LibraryRow.source_id)
            .where(LibraryRow.id == library_id)
        )
        found = row.first()
        if found is None:
            raise NotFound(f"library {library_id} does not exist")
        return _to_library(found[0], found[1])

    async def by_name(self, name: str) -> Library | None:
        library_id = await self._session.scalar(
            select(LibraryRow.id).where(LibraryRow.name == name)
        )
        return None if library_id is None else await self.get(library_id)

    async def create_local(
        self,
        name: str,
        kind: LibraryKind,
        paths: Sequence[str],
        now: datetime,
        *,
        managed_by_config: bool = False,
    ) -> Library:
        """Create a local-folder library; raises :class:`Conflict` if the name is taken."""
        source_id = await self._local_source_id(now)
        row = LibraryRow(
            source_id=source_id,
            name=name,
            kind=kind.value,
            paths=list(paths),
            managed_by_config=managed_by_config,
            created_at=now,
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a library named {name!r} already exists") from err
        return _to_library(row, SourceKind.LOCAL.value)

    async def update(
        self, library_id: int, *, name: str, kind: LibraryKind, paths: Sequence[str]
    ) -> Library:
        row = await self._row(library_id)
        row.name, row.kind, row.paths = name, kind.value, list(paths)
        try:
            await self._session.flush()
        except IntegrityError as err:
            raise Conflict(f"a library named {name!r} already exists") from err
        return await self.get(library_id)

    async def delete(self, library_id: int) -> None:
        """Delete the library and, by cascade, its media items."""
        await self._session.delete(await self._row(library_id))
        await self._session.flush()

    async def _row(self, library_id: int) -> LibraryRow:
        row = await self._session.get(LibraryRow, library_id)
        if row is None:
            raise NotFound(f"library {library_id} does not exist")
        return row

    async def _local_source_id(self, now: datetime) -> int:
        found = await self._session.scalar(
            select(MediaSourceRow.id).where(MediaSourceRow.kind == SourceKind.LOCAL.value)
        )
        if found is not None:
            return found
        source = MediaSourceRow(kind=SourceKind.LOCAL.value, name=LOCAL_SOURCE_NAME, created_at=now)
        self._session.add(source)
        await self._session.flush()
        return source.id

    async def start_scan(self, library_id: int, now: datetime) -> int:
        """Record a scan as running; returns its id."""
        run = ScanRunRow(library_id=library_id, status=ScanStatus.RUNNING.value, started_at=now)
        self._session.add(run)
        await self._session.flush()
        return run.id

    async def finish_scan(
        self,
        run_id: int,
        status: ScanStatus,
        counts: ScanCounts,
        now: datetime,
        error: str | None = None,
    ) -> None:
        run = await self._session.get(ScanRunRow, run_id)
        if run is None:
            raise NotFound(f"scan {run_id} does not exist")
        run.status, run.counts, run.finished_at, run.error = (
            status.value,
            asdict(counts),
            now,
            error,
        )
        if status is ScanStatus.COMPLETED:
            library = await self._row(run.library_id)
            library.last_scan_at = now

    async def fail_interrupted_scans(self, now: datetime) -> int:
        """Mark scans left ``running`` by a previous process as failed; returns how many."""
        rows = await self._session.scalars(
            select(ScanRunRow).where(ScanRunRow.status == ScanStatus.RUNNING.value)
        )
        count = 0
        for run in rows:
            run.status, run.finished_at = ScanStatus.FAILED.value, now
            run.error = "interrupted: the server stopped during the scan"
            count += 1
        return count

    async def replace_problems(self, library_id: int, problems: Sequence[ScanProblem]) -> None:
        """Store the latest scan's problems for the library, replacing older ones."""
        await self._session.execute(
            delete(ScanProblemRow).where(ScanProblemRow.library_id == library_id)
        )
        self._session.add_all(
            ScanProblemRow(library_id=library_id, path=p.path, reason=p.reason) for p in problems
        )

    async def problems(self, library_id: int, limit: int = 1000) -> list[ScanProblem]:
        rows = await self._session.scalars(
            select(ScanProblemRow)
            .where(ScanProblemRow.library_id == library_id)
            .order_by(ScanProblemRow.path)
            .limit(limit)
        )
        return [ScanProblem(row.path, row.reason) for row in rows]


def _to_library(row: LibraryRow, source_kind: str) -> Library:
    return Library(
        id=row.id,
        name=row.name,
        kind=LibraryKind(row.kind),
        source_kind=SourceKind(source_kind),
        paths=tuple(row.paths),
        managed_by_config=row.managed_by_config,
        last_scan_at=row.last_scan_at,
        source_id=row.source_id,
        external_id=row.external_id,
    )

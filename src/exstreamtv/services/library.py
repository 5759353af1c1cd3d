"""Library use cases: create/edit libraries and scan them, with live progress.

A scan walks the folders, skips files whose size and mtime are unchanged (one ``stat``
each), probes new or changed files with bounded parallelism, writes results in batches
(each its own transaction, so a crash loses at most one batch), and marks vanished files
missing. When a library folder itself is gone (an unmounted drive), the scan fails
instead: marking the whole library missing would empty every channel that uses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.libraries import (
    Library,
    LibraryKind,
    ScanCounts,
    ScanProblem,
    ScanStatus,
    SourceKind,
)
from exstreamtv.domain.media import MediaState, MetadataStatus, ScannedFile
from exstreamtv.errors import Conflict, LibraryPathInvalid, NotFound, SourceUnavailable
from exstreamtv.metrics import Metrics
from exstreamtv.sources.local import (
    FoundFile,
    check_library_paths,
    read_file_metadata,
    walk_library,
)
from exstreamtv.store.database import transaction
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.media import KnownFile, MediaRepository

log = logging.getLogger(__name__)
BATCH_SIZE = 100


@dataclass(slots=True)
class ScanProgress:
    """Live state of a library's latest scan (owned by :class:`LibraryService`)."""

    library_id: int
    status: ScanStatus
    started_at: datetime
    counts: ScanCounts = field(default_factory=ScanCounts)
    finished_at: datetime | None = None
    error: str | None = None

    def bump(self, **deltas: int) -> None:
        """Add to counters (``total=``, ``processed=``, ``failed=``, ...)."""
        current = self.counts
        self.counts = replace(current, **{k: getattr(current, k) + v for k, v in deltas.items()})


class Stamped(Protocol):
    """Something found by a scan: a local file or a server item, with its change stamp."""

    @property
    def stamp(self) -> object: ...


class Known(Protocol):
    """What the database knows about a found thing (``KnownFile``, ``KnownRemote``)."""

    @property
    def id(self) -> int: ...
    @property
    def stamp(self) -> object: ...
    @property
    def state(self) -> MediaState: ...


FoundT = TypeVar("FoundT", bound=Stamped)


class RemoteSync(Protocol):
    """Scans a media-server library (wired to the media-server sync by the container)."""

    async def sync(self, library: Library, progress: ScanProgress) -> None: ...


@dataclass(frozen=True, slots=True)
class ScanPlan(Generic[FoundT]):
    """What a scan must do, decided from the walk and the stored stamps."""

    to_read: list[FoundT]
    reappeared: list[int]
    vanished: list[int]
    unchanged: int


def plan_scan(
    found: Sequence[FoundT],
    known: Mapping[str, Known],
    key: Callable[[FoundT], str] = attrgetter("path"),
) -> ScanPlan[FoundT]:
    """Split what was found into things to (re)read, reappeared, vanished and unchanged
    ones; ``key`` names a found thing as ``known`` does (a path, or a server's item id)."""
    to_read: list[FoundT] = []
    reappeared: list[int] = []
    unchanged = 0
    seen: set[str] = set()
    for file in found:
        seen.add(key(file))
        previous = known.get(key(file))
        if previous is None or previous.stamp != file.stamp:
            to_read.append(file)
        elif previous.state is MediaState.MISSING:
            reappeared.append(previous.id)
        else:
            unchanged += 1
    vanished = [
        k.id for name, k in known.items() if name not in seen and k.state is MediaState.PRESENT
    ]
    return ScanPlan(to_read, reappeared, vanished, unchanged)


class LibraryService:
    """Creates, edits and scans libraries. One scan per library at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        metrics: Metrics,
        remote: RemoteSync | None = None,
    ) -> None:
        self._sessions = sessions
        self._remote = remote
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._progress: dict[int, ScanProgress] = {}
        self._tasks: dict[int, asyncio.Task[ScanProgress]] = {}

    async def libraries(self) -> list[Library]:
        async with self._sessions() as session:
            return await LibraryRepository(session).all()

    async def get(self, library_id: int) -> Library:
        async with self._sessions() as session:
            return await LibraryRepository(session).get(library_id)

    async def create(
        self, name: str, kind: LibraryKind, paths: Sequence[str], *, managed_by_config: bool = False
    ) -> Library:
        """Create a local library after checking its folders (raises LibraryPathInvalid)."""
        checked = await asyncio.to_thread(check_library_paths, paths)
        async with transaction(self._sessions) as session:
            return await LibraryRepository(session).create_local(
                name, kind, checked, self._clock.now(), managed_by_config=managed_by_config
            )

    async def update(
        self, library_id: int, name: str, kind: LibraryKind, paths: Sequence[str]
    ) -> Library:
        """Edit a library; refused for libraries declared in the config or being scanned.
        A media-server library keeps the server's folders (``paths`` is ignored)."""
        library = await self.get(library_id)
        if library.managed_by_config:
            raise Conflict(
                f"library {library.name!r} is declared in the config file; edit it there"
            )
        if self.is_scanning(library_id):
            raise Conflict(f"library {library.name!r} is being scanned; try again when it finishes")
        if library.source_kind is SourceKind.LOCAL:
            checked = await asyncio.to_thread(check_library_paths, paths)
        else:  # a media server's folders are the server's: only name and kind change here
            checked = list(library.paths)
        async with transaction(self._sessions) as session:
            return await LibraryRepository(session).update(
                library_id, name=name, kind=kind, paths=checked
            )

    async def delete(self, library_id: int) -> None:
        """Delete a library and its items; refused while declared in the config or scanning."""
        library = await self.get(library_id)
        if library.managed_by_config:
            raise Conflict(
                f"library {library.name!r} is declared in the config file; remove it there"
            )
        if self.is_scanning(library_id):
            raise Conflict(f"library {library.name!r} is being scanned; try again when it finishes")
        if library.source_kind.is_online:  # one library per online source: they go together
            raise Conflict(
                f"library {library.name!r} is its online source's; delete the source"
                f" (DELETE /api/online-sources/{library.source_id})"
            )
        async with transaction(self._sessions) as session:
            await LibraryRepository(session).delete(library_id)
        self._progress.pop(library_id, None)

    async def ensure_configured(self) -> list[str]:
        """Create the libraries declared in the config file that do not exist yet.

        A declared library whose folder is unavailable (an unmounted drive) must not stop
        the server from starting, so problems are returned as messages, not raised.
        """
        problems = []
        for declared in self._settings.libraries:
            async with self._sessions() as session:
                existing = await LibraryRepository(session).by_name(declared.name)
            if existing is not None:
                continue
            paths = [str(p) for p in declared.paths]
            try:
                await self.create(
                    declared.name, LibraryKind(declared.kind), paths, managed_by_config=True
                )
            except LibraryPathInvalid as err:
                problems.append(f"library {declared.name!r} from the config file: {err.message}")
        return problems

    async def problems(self, library_id: int) -> list[ScanProblem]:
        async with self._sessions() as session:
            return await LibraryRepository(session).problems(library_id)

    def progress(self, library_id: int) -> ScanProgress | None:
        """The latest scan's progress since this server started, if any."""
        return self._progress.get(library_id)

    def is_scanning(self, library_id: int) -> bool:
        progress = self._progress.get(library_id)
        return progress is not None and progress.status is ScanStatus.RUNNING

    async def start_scan(self, library_id: int) -> ScanProgress:
        """Start a scan in the background and return its live progress.

        Raises :class:`NotFound` for an unknown library (so no progress entry is kept for
        it) and :class:`Conflict` when a scan is already running. The running check and
        the registration happen without an ``await`` between them, so two concurrent
        requests cannot both start a scan.
        """
        await self.get(library_id)
        if self.is_scanning(library_id):
            raise Conflict(f"library {library_id} is already being scanned")
        progress = ScanProgress(library_id, ScanStatus.RUNNING, self._clock.now())
        self._progress[library_id] = progress
        task = asyncio.create_task(self._run(progress), name=f"scan-library-{library_id}")
        self._tasks[library_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(library_id, None))
        return progress

    async def scan(self, library_id: int) -> ScanProgress:
        """Scan now and wait for the result (used by the CLI and at start-up)."""
        await self.start_scan(library_id)
        return await self.wait(library_id)

    async def wait(self, library_id: int) -> ScanProgress:
        """Wait for the library's running scan, if any; returns its latest progress.

        Raises :class:`NotFound` when the library has not been scanned since start-up.
        """
        task = self._tasks.get(library_id)
        if task is not None:
            return await asyncio.shield(task)
        progress = self._progress.get(library_id)
        if progress is None:
            raise NotFound(f"library {library_id} has not been scanned since the server started")
        return progress

    async def close(self) -> None:
        """Cancel running scans (their runs are recorded as failed on next start)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, progress: ScanProgress) -> ScanProgress:
        library_id = progress.library_id
        self._metrics.scans_running.inc()
        started = self._clock.monotonic()
        try:
            await self._scan_recorded(progress)
        except asyncio.CancelledError:
            progress.status, progress.error = ScanStatus.FAILED, "cancelled"
            raise
        finally:
            self._metrics.scans_running.dec()
            progress.finished_at = self._clock.now()
        elapsed = self._clock.monotonic() - started
        self._metrics.scans.labels(str(library_id), progress.status.value).inc()
        self._metrics.scan_duration.labels(str(library_id)).observe(elapsed)
        log.info(
            "scan of library %s %s in %.1fs: %s",
            library_id,
            progress.status.value,
            elapsed,
            progress.counts,
            extra={"library": library_id},
        )
        return progress

    async def _scan_recorded(self, progress: ScanProgress) -> None:
        """Scan, and record the run and its outcome in the database."""
        library_id = progress.library_id
        run_id: int | None = None
        status, error = ScanStatus.COMPLETED, None
        try:
            library = await self.get(library_id)
            async with transaction(self._sessions) as session:
                run_id = await LibraryRepository(session).start_scan(
                    library_id, progress.started_at
                )
            await self._scan_files(library, progress)
        except (SourceUnavailable, NotFound) as err:
            status, error = ScanStatus.FAILED, err.message
        except Exception as err:  # a scan task's top level: record it, never crash the server
            log.exception("scan of library %s failed", library_id, extra={"library": library_id})
            status, error = (
                ScanStatus.FAILED,
                f"unexpected {type(err).__name__}; see the server log",
            )
        progress.status, progress.error = status, error
        if run_id is not None:
            async with transaction(self._sessions) as session:
                await LibraryRepository(session).finish_scan(
                    run_id, status, progress.counts, self._clock.now(), error
                )

    async def _scan_files(self, library: Library, progress: ScanProgress) -> None:
        if library.source_kind is not SourceKind.LOCAL:
            if self._remote is None:
                raise SourceUnavailable(f"library {library.name!r}: media servers are not set up")
            await self._remote.sync(library, progress)
            self._count_files(library.id, progress.counts)
            return
        try:
            roots = await asyncio.to_thread(check_library_paths, library.paths)
        except LibraryPathInvalid as err:
            raise SourceUnavailable(f"library {library.name!r} cannot be scanned: {err}") from err
        walk = await walk_library(roots)
        async with self._sessions() as session:
            known = await MediaRepository(session).known_files(library.id)
        plan = plan_scan(walk.files, known)
        progress.bump(total=len(walk.files), unchanged=plan.unchanged, processed=plan.unchanged)
        await self._read_and_save(library, plan.to_read, known, progress)
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            media = MediaRepository(session)
            await media.mark_missing(plan.vanished, now)
            await media.mark_present(plan.reappeared, now)
            await LibraryRepository(session).replace_problems(library.id, walk.problems)
        progress.bump(missing=len(plan.vanished), processed=len(plan.reappeared))
        self._count_files(library.id, progress.counts)

    async def _read_and_save(
        self,
        library: Library,
        files: list[FoundFile],
        known: dict[str, KnownFile],
        progress: ScanProgress,
    ) -> None:
        limit = asyncio.Semaphore(self._settings.scan.concurrency)

        async def read(found: FoundFile) -> ScannedFile:
            async with limit:
                started = self._clock.monotonic()
                scanned = await read_file_metadata(
                    found,
                    library.kind,
                    ffprobe=self._settings.ffmpeg.ffprobe_path,
                    probe_timeout=self._settings.scan.probe_timeout_sec,
                )
                self._metrics.probe_duration.observe(self._clock.monotonic() - started)
                return scanned

        for start in range(0, len(files), BATCH_SIZE):
            batch = await asyncio.gather(*(read(f) for f in files[start : start + BATCH_SIZE]))
            async with transaction(self._sessions) as session:
                await MediaRepository(session).save_scanned(
                    library.id, batch, known, self._clock.now()
                )
            failed = sum(1 for s in batch if s.metadata.status is MetadataStatus.FAILED)
            added = sum(1 for s in batch if s.path not in known)
            progress.bump(
                processed=len(batch), failed=failed, added=added, updated=len(batch) - added
            )

    def _count_files(self, library_id: int, counts: ScanCounts) -> None:
        for result in ("added", "updated", "unchanged", "failed", "missing"):
            self._metrics.scan_files.labels(str(library_id), result).inc(getattr(counts, result))

"""Library use cases: create/edit libraries and scan them, with live progress.

A scan walks the folders, skips files whose size and mtime are unchanged (one ``stat``
each), probes new or changed files with bounded parallelism, writes results in batches
(each its own transaction, so a crash loses at most one batch), and marks vanished files
missing. When a library folder itself is gone (an unmounted drive), the scan fails
instead: marking the whole library missing would empty every channel that uses it. After a
scan that marked anything missing, and after a library is deleted, ``on_missing`` (the
playouts' ``drop_unavailable``) takes those files out of every channel's future.

A running scan can be cancelled (:meth:`LibraryService.cancel_scan`): the walk stops
between two folders, running probes are stopped, and a media-server sync is cancelled; a
batch being written is finished first, so what was saved stays consistent. A cancelled
scan marks nothing missing (its walk was incomplete) and is recorded as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
CANCEL_WAIT_SEC = 5.0
T = TypeVar("T")


class _Cancelled(Exception):
    """The scan was asked to stop (control flow inside this module only)."""


@dataclass(slots=True)
class ScanProgress:
    """Live state of a library's latest scan (owned by :class:`LibraryService`)."""

    library_id: int
    status: ScanStatus
    started_at: datetime
    counts: ScanCounts = field(default_factory=ScanCounts)
    finished_at: datetime | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    stopped: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

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


AfterScan = Callable[[], Awaitable[object]]


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
        *,
        remote: RemoteSync | None = None,
        on_missing: Callable[[], Awaitable[object]] | None = None,
        after_scan: AfterScan | None = None,
    ) -> None:
        """``after_scan`` runs when a scan completes and after a library is deleted (the
        catalogue's automatic collections follow the libraries with it)."""
        self._sessions = sessions
        self._remote = remote
        self._on_missing = on_missing
        self._after_scan = after_scan
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
        allowed = self._settings.scan.allowed_system_paths
        checked = await asyncio.to_thread(check_library_paths, paths, allowed)
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
            allowed = self._settings.scan.allowed_system_paths
            checked = await asyncio.to_thread(check_library_paths, paths, allowed)
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
        if self._on_missing is not None:  # its media is gone from every playout's future
            await self._on_missing()
        await self._follow_up(library_id)

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

    async def cancel_scan(self, library_id: int) -> ScanProgress:
        """Stop the library's running scan and wait (a few seconds at most) until it has;
        returns its progress, ``cancelled`` once it stopped. Raises :class:`NotFound` for
        an unknown library and :class:`Conflict` when no scan is running."""
        await self.get(library_id)
        progress, task = self._progress.get(library_id), self._tasks.get(library_id)
        if progress is None or task is None or progress.status is not ScanStatus.RUNNING:
            raise Conflict(f"library {library_id} is not being scanned")
        progress.stop.set()
        progress.stopped.set()
        await asyncio.wait({task}, timeout=CANCEL_WAIT_SEC)
        return progress

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
        except _Cancelled:
            status, error = ScanStatus.CANCELLED, "cancelled on request"
        except Exception as err:  # a scan task's top level: record it, never crash the server
            log.exception("scan of library %s failed", library_id, extra={"library": library_id})
            status, error = (
                ScanStatus.FAILED,
                f"unexpected {type(err).__name__}; see the server log",
            )
        if status is ScanStatus.COMPLETED:
            await self._follow_up(library_id)
        if run_id is not None:
            async with transaction(self._sessions) as session:
                await LibraryRepository(session).finish_scan(
                    run_id, status, progress.counts, self._clock.now(), error
                )
        if progress.counts.missing and self._on_missing is not None:
            # Before the scan reports its end, so a finished scan means the playouts and
            # the guide no longer hold what it found missing.
            try:
                await self._on_missing()
            except Exception:  # a scan task's top level: the scan itself succeeded
                log.exception(
                    "taking missing files of library %s out of the playouts failed",
                    library_id,
                    extra={"library": library_id},
                )
        progress.status, progress.error = status, error

    async def _follow_up(self, library_id: int) -> None:
        """Run ``after_scan``; its failure is logged and never fails the scan or delete."""
        if self._after_scan is None:
            return
        try:
            await self._after_scan()
        except Exception:  # the top of the scan task's follow-up: log it, keep the result
            log.exception(
                "updating collections after library %s failed", library_id,
                extra={"library": library_id},
            )  # fmt: skip

    async def _scan_files(self, library: Library, progress: ScanProgress) -> None:
        if library.source_kind is not SourceKind.LOCAL:
            if self._remote is None:
                raise SourceUnavailable(f"library {library.name!r}: media servers are not set up")
            await _unless_cancelled(progress, self._remote.sync(library, progress))
            self._count_files(library.id, progress.counts)
            return
        allowed = self._settings.scan.allowed_system_paths
        try:
            roots = await asyncio.to_thread(check_library_paths, library.paths, allowed)
        except LibraryPathInvalid as err:
            raise SourceUnavailable(f"library {library.name!r} cannot be scanned: {err}") from err
        walk = await _unless_cancelled(progress, walk_library(roots, progress.stop))
        if progress.stop.is_set():
            raise _Cancelled
        async with self._sessions() as session:
            known = await MediaRepository(session).known_files(library.id)
        plan = plan_scan(walk.files, known)
        progress.bump(total=len(walk.files), unchanged=plan.unchanged, processed=plan.unchanged)
        await self._read_and_save(library, plan.to_read, known, progress)
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            media = MediaRepository(session)
            await media.mark_missing(
                plan.vanished, now, f"not found by the scan of library {library.name!r}"
            )
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
            reads = asyncio.gather(*(read(f) for f in files[start : start + BATCH_SIZE]))
            batch = await _unless_cancelled(progress, reads)
            async with transaction(self._sessions) as session:  # never cut by a cancel
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


async def _unless_cancelled(progress: ScanProgress, work: Awaitable[T]) -> T:
    """``work``'s result, unless the scan is cancelled first: then ``work`` is cancelled
    (and awaited: probes are stopped, a sync's open transaction rolls back) and
    :class:`_Cancelled` is raised."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(progress.stopped.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        interrupted = not task.done()
        if interrupted:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if interrupted:
        raise _Cancelled
    return task.result()

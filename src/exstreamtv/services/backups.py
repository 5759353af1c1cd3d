"""Backups, restores and moving an install between SQLite and PostgreSQL.

A backup is one tar file, mode 0600, named ``exstreamtv-backup-<UTC time>.tar``:

* ``manifest.json``: format, schema revision, time, row count per table, and whether the
  archive holds secrets;
* ``database/<table>.jsonl``: every row, from one consistent read (see
  :mod:`exstreamtv.store.snapshot`), so it restores into SQLite or PostgreSQL alike;
* unless ``include_secrets`` is off: ``secrets/*.key`` (the key that decrypts
  media-server tokens, the web-session key) and ``config/exstreamtv.yaml``, so a restore
  brings back everything. Without them (an archive to share) a restore still has every
  channel and schedule, but stored media-server tokens must be set again.

A restore checks the archive, refuses one made by a newer schema, refuses while a server
answers on the configured port, loads into a fresh database (SQLite: a new file swapped in
at the end, the old one kept beside it; PostgreSQL: the target must be empty, or is emptied
with ``replace``), and brings it up to the current schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import shutil
import socket
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from exstreamtv.clock import Clock
from exstreamtv.config import CONFIG_FILE_NAME, Settings
from exstreamtv.errors import Conflict, InvalidInput
from exstreamtv.store import snapshot
from exstreamtv.store.database import (
    create_engine,
    known_revisions,
    make_sqlite_file_private,
    schema_revision,
    upgrade_schema,
)
from exstreamtv.store.key_files import PRIVATE_FILE
from exstreamtv.store.tables import Base

log = logging.getLogger(__name__)
FORMAT = "exstreamtv-backup/1"
MANIFEST = "manifest.json"
PREFIX = "exstreamtv-backup-"
_NAME = re.compile(r"^exstreamtv-backup-\d{8}T\d{6}Z\.tar$")
SECRETS_NOTE = (
    "This archive holds secrets (the key that decrypts media-server tokens, the web-session"
    " key and the config file). Keep it private."
)


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A backup archive and what its manifest says."""

    path: Path
    revision: str
    created_at: str
    counts: dict[str, int]
    secrets: bool


class Backups:
    """Makes backups of the install described by ``settings`` (``engine`` is its database)."""

    def __init__(self, settings: Settings, engine: AsyncEngine, clock: Clock) -> None:
        self._settings = settings
        self._engine = engine
        self._clock = clock

    @property
    def default_folder(self) -> Path:
        return self._settings.backup.folder or self._settings.data_dir / "backups"

    async def create(
        self, folder: Path | None = None, *, include_secrets: bool = True
    ) -> BackupInfo:
        """Write a backup into ``folder`` (default: the configured one); returns it."""
        target = folder or self.default_folder
        revision = await schema_revision(self._engine) or ""
        moment = self._clock.now()
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=self._settings.data_dir) as tmp:
            rows = Path(tmp)
            counts = await snapshot.dump(self._engine, rows)
            manifest = {
                "format": FORMAT,
                "revision": revision,
                "created_at": moment.isoformat(),
                "counts": counts,
                "secrets": include_secrets,
                "note": SECRETS_NOTE if include_secrets else "No secrets are in this archive.",
            }
            secrets = self._secret_files() if include_secrets else []
            path = target / f"{PREFIX}{moment.strftime('%Y%m%dT%H%M%SZ')}.tar"
            await asyncio.to_thread(_write_archive, path, manifest, rows, secrets)
        log.info("backup written to %s (%d rows)", path, sum(counts.values()))
        return BackupInfo(path, revision, moment.isoformat(), counts, include_secrets)

    def _secret_files(self) -> list[tuple[str, Path]]:
        data = self._settings.data_dir
        found = [(f"secrets/{p.name}", p) for p in sorted(data.glob("*.key")) if p.is_file()]
        config = data / CONFIG_FILE_NAME
        if config.is_file():
            found.append((f"config/{CONFIG_FILE_NAME}", config))
        return found


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder`` (only files named as ours);
    returns the deleted ones. Blocking."""
    ours = sorted(p for p in folder.glob(f"{PREFIX}*.tar") if _NAME.match(p.name))
    doomed = ours[: max(0, len(ours) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def _write_archive(
    path: Path, manifest: dict[str, Any], rows: Path, secrets: list[tuple[str, Path]]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as archive:
        body = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
        for table in sorted(rows.iterdir()):
            archive.add(table, arcname=f"database/{table.name}")
        for name, source in secrets:
            archive.add(source, arcname=name)
    partial.replace(path)


def read_manifest(path: Path) -> dict[str, Any]:
    """The archive's manifest, checked (format and a schema this version knows).

    Raises :class:`InvalidInput` naming what is wrong. Blocking."""
    try:
        with tarfile.open(path, mode="r:") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise InvalidInput(f"{path} has no {MANIFEST}: not an EXStreamTV backup")
            manifest = json.loads(member.read(1024 * 1024))
    except (tarfile.TarError, OSError, KeyError, ValueError) as err:
        raise InvalidInput(f"{path} is not an EXStreamTV backup ({err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{path} is not an EXStreamTV backup (unknown format)")
    revision = manifest.get("revision")
    if revision not in known_revisions():
        raise InvalidInput(
            f"{path} was made by a newer EXStreamTV (schema {revision!r}); "
            "upgrade EXStreamTV before restoring it"
        )
    counts = manifest.get("counts")
    if not isinstance(counts, dict) or not all(isinstance(v, int) for v in counts.values()):
        raise InvalidInput(f"{path}: the manifest's row counts are missing")
    return manifest


def _unpack(path: Path, folder: Path) -> None:
    """Extract the archive's regular files (no links, no paths outside ``folder``)."""
    with tarfile.open(path, mode="r:") as archive:
        archive.extractall(folder, filter="data")


def ensure_stopped(settings: Settings) -> None:
    """Raise :class:`Conflict` when something answers on the server's port. Blocking."""
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
    with contextlib.suppress(OSError), socket.create_connection((host, settings.server.port), 1):
        raise Conflict(
            f"a server is listening on {host}:{settings.server.port}; stop EXStreamTV first"
        )


async def restore(settings: Settings, archive: Path, *, replace: bool = False) -> dict[str, int]:
    """Restore ``archive`` into the install of ``settings`` (see the module docstring);
    returns the row counts. Raises InvalidInput or Conflict, changing nothing."""
    manifest = await asyncio.to_thread(read_manifest, archive)
    await asyncio.to_thread(ensure_stopped, settings)
    await asyncio.to_thread(settings.data_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=settings.data_dir) as tmp:
        folder = Path(tmp)
        await asyncio.to_thread(_unpack, archive, folder)
        url = settings.database_url
        sqlite_file = _sqlite_path(url)
        target_url = url
        if sqlite_file is not None:
            fresh = sqlite_file.with_name(sqlite_file.name + ".restoring")
            await asyncio.to_thread(_remove, _sqlite_files(fresh))
            target_url = f"sqlite+aiosqlite:///{fresh}"
            await asyncio.to_thread(make_sqlite_file_private, target_url)
        engine = create_engine(target_url)
        try:
            if sqlite_file is None:
                await _empty_target(engine, replace=replace)
            await upgrade_schema(engine, manifest["revision"])
            counts = await snapshot.load(engine, folder / "database", manifest["counts"])
            await upgrade_schema(engine)
        finally:
            await engine.dispose()
        if sqlite_file is not None:
            await asyncio.to_thread(_swap_in, sqlite_file)
        await asyncio.to_thread(_restore_secrets, folder, settings.data_dir)
    return counts


async def copy_database(source: AsyncEngine, target_url: str) -> dict[str, int]:
    """Copy every row of ``source`` (at the current schema) into the empty database at
    ``target_url``, which gets the current schema first; returns the verified row counts.
    Raises InvalidInput when the target is not empty or a count differs."""
    target = create_engine(target_url)
    try:
        if await _has_schema(target):
            raise InvalidInput(
                "the target database is not empty (it already holds an EXStreamTV schema)"
            )
        await upgrade_schema(target)
        with tempfile.TemporaryDirectory(prefix="exstreamtv-copy-") as tmp:
            counts = await snapshot.dump(source, Path(tmp))
            copied = await snapshot.load(target, Path(tmp), counts)
    finally:
        await target.dispose()
    return copied


async def _has_schema(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: sync.dialect.has_table(sync, "alembic_version")
        )


async def _empty_target(engine: AsyncEngine, *, replace: bool) -> None:
    if not await _has_schema(engine):
        return
    async with engine.begin() as connection:
        if not replace:
            raise Conflict(
                "the target database already holds an EXStreamTV schema; "
                "restore with --replace to empty it first"
            )
        await connection.run_sync(Base.metadata.drop_all)
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _sqlite_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def _swap_in(current: Path) -> None:
    """Move the restored ``<db>.restoring`` into place; keep the old file beside it."""
    fresh = current.with_name(current.name + ".restoring")
    if current.exists():
        stamp = datetime.now().astimezone().strftime("%Y%m%dT%H%M%S")
        current.replace(current.with_name(f"{current.name}.before-restore-{stamp}"))
    for leftover in _sqlite_files(current)[1:]:
        leftover.unlink(missing_ok=True)
    fresh.replace(current)
    for leftover in _sqlite_files(fresh)[1:]:
        leftover.unlink(missing_ok=True)


def _restore_secrets(folder: Path, data_dir: Path) -> None:
    for sub, names in (("secrets", "*.key"), ("config", CONFIG_FILE_NAME)):
        for source in sorted((folder / sub).glob(names)):
            target = data_dir / source.name
            if target.exists():
                target.replace(target.with_name(target.name + ".before-restore"))
            shutil.copyfile(source, target)
            target.chmod(PRIVATE_FILE)

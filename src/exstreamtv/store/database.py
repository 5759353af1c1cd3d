"""The async database engine and session factory (SQLite in WAL mode, or PostgreSQL).

Each request or task opens its own session from the pool; there is no shared
single-connection pool, so concurrent readers never queue behind one connection.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from exstreamtv.errors import ConfigError
from exstreamtv.store.key_files import PRIVATE_FILE, tighten

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 15_000


def create_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    """Create the engine for ``url`` (``sqlite+aiosqlite://...`` or ``postgresql+asyncpg://...``).

    SQLite connections get WAL journaling, foreign keys and a busy timeout. Raises
    :class:`ConfigError` for an unsupported or malformed URL (the URL is not echoed: it may
    hold a password).
    """
    try:
        parsed = make_url(url)
    except Exception as err:  # SQLAlchemy raises several types for bad URLs
        raise ConfigError("database.url is not a valid SQLAlchemy URL") from err
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite+aiosqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        engine = create_async_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        return create_async_engine(parsed, pool_size=pool_size, pool_pre_ping=True)
    raise ConfigError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")


def make_sqlite_file_private(url: str) -> None:
    """For a SQLite URL, create the database file with mode 0600 before SQLite does (its
    WAL and shared-memory files copy the database's mode), or tighten an existing one.
    Other URLs are left alone. Blocking."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - create_engine reports a bad URL with its reason
        return
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    path = Path(name)
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten(path.with_name(path.name + suffix))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (rows are mapped to domain values)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


def _alembic_config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the pending Alembic migrations up to ``revision`` (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - only used here

    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )

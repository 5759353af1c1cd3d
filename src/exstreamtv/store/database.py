"""The async database engine and session factory (SQLite in WAL mode, or PostgreSQL).

Each request or task opens its own session from the pool; there is no shared
single-connection pool, so concurrent readers never queue behind one connection.

Outages are one error: a connection that cannot be made (the server is down, restarting
or full), one that breaks under a query, or a SQLite file that cannot be opened, written
or unlocked raises :class:`~exstreamtv.errors.DatabaseUnavailable` (HTTP 503 with
``Retry-After``) instead of a driver's own exception, so callers (the API, a live channel's
producer) can tell "try again soon" from a bug. The pool pings a PostgreSQL connection
before use, so the first request after the database is back succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, exc, inspect, text
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from exstreamtv.errors import ConfigError, DatabaseUnavailable
from exstreamtv.runtime import load_module
from exstreamtv.store.key_files import PRIVATE_FILE, tighten

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"""["']([^"']+)["']""")
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
        _convert_outages(engine)
        return engine
    if backend == "postgresql":
        if importlib.util.find_spec("asyncpg") is None:
            raise ConfigError(
                "database.url names PostgreSQL, whose driver is not installed:"
                " pip install 'exstreamtv[postgresql]'"
            )
        if parsed.drivername != "postgresql+asyncpg":
            parsed = parsed.set(drivername="postgresql+asyncpg")
        engine = create_async_engine(
            parsed, pool_size=pool_size, pool_pre_ping=True, connect_args={"timeout": 10}
        )
        _convert_outages(engine)
        return engine
    raise ConfigError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")


async def check_reachable(url: str) -> None:
    """Connect once to a server database (PostgreSQL) and disconnect; SQLite files are
    are not opened (that would create one), but their folder must exist. Raises
    ConfigError for a bad URL and DatabaseUnavailable when the server cannot be reached or
    refuses the login."""
    try:
        parsed = make_url(url)
    except Exception as err:  # SQLAlchemy raises several types for bad URLs
        raise ConfigError("database.url is not a valid SQLAlchemy URL") from err
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database
        folder = Path(name).parent if name and name != ":memory:" else None
        if folder is not None and not await asyncio.to_thread(folder.is_dir):
            raise DatabaseUnavailable(f"the SQLite database's folder {folder} does not exist")
        return
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect():
            pass
    finally:
        await engine.dispose()


# SQLite's messages for a database that cannot be used now (not a bug in a statement).
_SQLITE_OUTAGES = (
    "unable to open database file",
    "disk i/o error",
    "database is locked",
    "database or disk is full",
    "readonly database",
)


def _convert_outages(engine: AsyncEngine) -> None:
    """Make every outage of ``engine`` raise :class:`DatabaseUnavailable` (module docstring)."""
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _outage, retval=True)


def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a driver connection; a refusal is an outage, whatever the driver raised."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError, dialect.loaded_dbapi.Error) as err:
        raise DatabaseUnavailable(f"the database cannot be reached: {_reason(err)}") from err
    except Exception as err:  # asyncpg raises its own errors before the DBAPI adapter does
        if type(err).__module__.startswith("asyncpg"):
            raise DatabaseUnavailable(f"the database refused a connection: {_reason(err)}") from err
        raise


def _outage(context: ExceptionContext) -> BaseException | None:
    """Replace a driver error that means "the database is away" by DatabaseUnavailable."""
    original = context.original_exception
    if not isinstance(original, Exception):
        # A cancelled task (or an interrupted process) stays what it is: SQLAlchemy reports
        # it as a disconnect, and turning it into an outage would swallow the cancellation.
        _interrupt_sqlite(context)
        return None
    message = str(original).lower()
    if (
        context.is_disconnect
        or isinstance(original, OSError | TimeoutError)
        or any(outage in message for outage in _SQLITE_OUTAGES)
    ):
        return DatabaseUnavailable(f"the database is unavailable: {_reason(original)}")
    return None


def _interrupt_sqlite(context: ExceptionContext) -> None:
    """Stop the SQLite statement a cancelled task left running.

    aiosqlite runs statements on the connection's own thread; cancelling the awaiting task
    does not stop the statement, and the connection's rollback and close queue behind it,
    so a cancelled long query held its connection (and its task's cleanup) to the end.
    ``sqlite3.Connection.interrupt`` is the one call SQLite allows from another thread: the
    statement fails with "interrupted" on its thread, where no one awaits it any more.
    """
    if context.dialect.name != "sqlite" or context.connection is None:
        return
    try:
        adapted = context.connection.connection.dbapi_connection
    except exc.SQLAlchemyError:  # already invalidated: nothing runs on it
        return
    driver = getattr(getattr(adapted, "_connection", None), "_connection", None)
    if isinstance(driver, sqlite3.Connection):
        driver.interrupt()


def _reason(err: BaseException) -> str:
    """The first line of a driver's message, short (it never holds the URL or password)."""
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


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
    from alembic.config import Config  # noqa: PLC0415 - only when migrating (loaded by then)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the pending Alembic migrations up to ``revision`` (idempotent).

    A database already at the newest revision costs two small queries: Alembic (a third
    of a second to import, and memory the server keeps) is loaded only to migrate.
    """
    if revision == "head" and await schema_revision(engine) == head_revision():
        return
    await load_module("alembic.command")
    from alembic import command  # noqa: PLC0415 - only when migrating, loaded off the loop

    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or ``None`` before the first migration."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


@functools.cache
def head_revision() -> str:
    """The newest migration's revision id, read from the migration files themselves: the
    one revision no other names as its ``down_revision``.

    Raises :class:`RuntimeError` unless there is exactly one (a branch needs a merge).
    """
    revisions, parents = _revision_graph()
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    (head,) = heads
    return head


def known_revisions() -> frozenset[str]:
    """Every revision this version's migrations know (a backup at another is newer)."""
    return _revision_graph()[0]


@functools.cache
def _revision_graph() -> tuple[frozenset[str], frozenset[str]]:
    """The revisions the migration files declare, and those named as a ``down_revision``."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).update(_QUOTED.findall(value))
    return frozenset(revisions), frozenset(parents)

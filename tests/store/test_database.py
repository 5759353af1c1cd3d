"""The database layer on SQLite and PostgreSQL: migrations, UTC timestamps, pooling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from exstreamtv.domain.libraries import LibraryKind
from exstreamtv.errors import ConfigError, Conflict
from exstreamtv.services.container import Container
from exstreamtv.store.database import (
    create_engine,
    head_revision,
    schema_revision,
    transaction,
    upgrade_schema,
)
from exstreamtv.store.libraries import LibraryRepository
from exstreamtv.store.tables import LibraryRow


async def test_migrations_reach_head_and_are_idempotent(container: Container) -> None:
    assert await schema_revision(container.engine) == head_revision()
    await upgrade_schema(container.engine)
    assert await schema_revision(container.engine) == head_revision()


async def test_timestamps_come_back_aware_utc_whatever_zone_went_in(container: Container) -> None:
    tokyo = timezone(timedelta(hours=9))
    written = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=tokyo)
    async with transaction(container.sessions) as session:
        library = await LibraryRepository(session).create_local(
            "tz", LibraryKind.MIXED, ["/x"], written
        )
    async with container.sessions() as session:
        created = await session.scalar(
            select(LibraryRow.created_at).where(LibraryRow.id == library.id)
        )
    assert created is not None
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert created == written
    assert created.hour == 16  # 01:30 +09:00 is 16:30 UTC the day before


async def test_naive_datetimes_are_refused(container: Container) -> None:
    naive = datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError, match="naive datetime"):
        async with transaction(container.sessions) as session:
            await LibraryRepository(session).create_local("n", LibraryKind.MIXED, ["/x"], naive)


async def test_failed_transaction_loses_nothing_already_stored(container: Container) -> None:
    now = datetime.now(UTC)
    async with transaction(container.sessions) as session:
        await LibraryRepository(session).create_local("kept", LibraryKind.MIXED, ["/a"], now)

    async def create_two() -> None:
        async with transaction(container.sessions) as session:
            await LibraryRepository(session).create_local("other", LibraryKind.MIXED, ["/b"], now)
            await LibraryRepository(session).create_local("kept", LibraryKind.MIXED, ["/c"], now)

    with pytest.raises(Conflict, match="already exists"):
        await create_two()
    async with container.sessions() as session:
        names = [lib.name for lib in await LibraryRepository(session).all()]
    assert names == ["kept"]


async def test_sessions_run_concurrently_on_separate_connections(container: Container) -> None:
    async def read() -> int:
        async with container.sessions() as session:
            result = await session.execute(text("SELECT 1"))
            return int(result.scalar_one())

    assert await asyncio.gather(*(read() for _ in range(20))) == [1] * 20
    assert container.engine.pool.__class__.__name__ != "StaticPool"


async def test_a_query_cancelled_midway_is_cancelled_not_an_outage(container: Container) -> None:
    # SQLAlchemy reports a cancelled query as a disconnect; were it turned into
    # DatabaseUnavailable, every task stopped mid-query would swallow its cancellation.
    # The query would run for a minute or more: the cancel must stop it, not wait for it.
    slow = (
        "SELECT pg_sleep(60)"
        if container.engine.dialect.name == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000000)"
        " SELECT count(*) FROM n"
    )

    async def query() -> None:
        async with container.sessions() as session:
            await session.execute(text(slow))

    task = asyncio.create_task(query())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    async with container.sessions() as session:  # and the pool still serves
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
    finally:
        await engine.dispose()
    assert (mode, keys) == ("wal", 1)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url at all", "oracle+cx://x"])
def test_unsupported_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match=r"database\.url"):
        create_engine(url)

"""Every table's rows out of one database and into another, consistently.

A *snapshot* is written table by table (parents first) as JSON lines from one moment of
the database, so a backup taken while a scan or a playout build writes is still
consistent: SQLite is first copied with its online backup API (one step, a consistent
read even while others write) and the copy is read; PostgreSQL is read in one REPEATABLE
READ transaction. The same format loads into SQLite or PostgreSQL, which is how
backups are restored and how ``exstreamtv db copy`` moves an install between the two.

Datetimes are written as ISO 8601 UTC text and read back as aware datetimes; JSON columns
stay JSON. Loading needs an empty schema at the snapshot's revision.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    LargeBinary,
    Table,
    delete,
    func,
    insert,
    null,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from exstreamtv.errors import InvalidInput
from exstreamtv.store.tables import Base, UTCDateTime

BATCH = 1000


def tables() -> list[Table]:
    """Our tables, parents before children."""
    return list(Base.metadata.sorted_tables)


async def dump(engine: AsyncEngine, folder: Path) -> dict[str, int]:
    """Write every table to ``folder/<table>.jsonl`` from one consistent read; returns the
    row count of each table. Blocking file writes run in the caller's loop thread in
    batches (the files are local and small next to a database round trip)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with tempfile.TemporaryDirectory(prefix=".snapshot-", dir=Path(database).parent) as tmp:
            copy = Path(tmp) / "copy.db"
            await asyncio.to_thread(_sqlite_copy, Path(database), copy)
            still = create_async_engine(f"sqlite+aiosqlite:///{copy}")
            try:
                return await _dump_tables(still, folder)
            finally:
                await still.dispose()
    return await _dump_tables(engine, folder)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup of ``source`` into ``target``, in one step. Blocking."""
    with (
        contextlib.closing(sqlite3.connect(source, timeout=15)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


async def _dump_tables(engine: AsyncEngine, folder: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    connection = await engine.connect()
    try:
        if engine.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            for table in tables():
                counts[table.name] = await _dump_table(connection, table, folder)
    finally:
        await connection.close()
    return counts


async def _dump_table(connection: AsyncConnection, table: Table, folder: Path) -> int:
    encoders = {c.name: _encoder(c.type) for c in table.columns}
    order = list(table.primary_key.columns) or list(table.columns)
    written = 0
    with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
        result = await connection.stream(select(table).order_by(*order))
        async for batch in result.mappings().partitions(BATCH):
            for row in batch:
                record = {name: encoders[name](value) for name, value in row.items()}
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += len(batch)
    return written


async def load(engine: AsyncEngine, folder: Path, expected: dict[str, int]) -> dict[str, int]:
    """Make the tables of a freshly migrated database (whatever its migrations seeded, such
    as the default stream profile, is replaced) hold exactly the rows in ``folder``, in one
    transaction, then check each table's count against ``expected``. Raises
    :class:`InvalidInput` for a file that does not parse or a count that differs (nothing
    is then kept). Callers make sure the database holds nobody's data."""
    async with engine.begin() as connection:
        for table in reversed(tables()):
            await connection.execute(delete(table))
        for table in tables():
            path = folder / f"{table.name}.jsonl"
            if path.exists():
                await _load_table(connection, table, path)
        counts = await row_counts(connection)
        for name, count in expected.items():
            if counts.get(name, 0) != count:
                raise InvalidInput(f"table {name}: {counts.get(name, 0)} rows, expected {count}")
        if engine.dialect.name == "postgresql":
            await _reset_sequences(connection)
    return counts


async def row_counts(connection: AsyncConnection) -> dict[str, int]:
    """Each table's row count."""
    return {
        table.name: int(await connection.scalar(select(func.count()).select_from(table)) or 0)
        for table in tables()
    }


async def _load_table(connection: AsyncConnection, table: Table, path: Path) -> None:
    decoders = {c.name: _decoder(c.type) for c in table.columns}
    for batch in _batches(path, decoders):
        await connection.execute(insert(table), batch)


def _batches(
    path: Path, decoders: dict[str, Callable[[Any], Any]]
) -> Iterator[list[dict[str, Any]]]:
    with path.open(encoding="utf-8") as source:
        yield from _read_batches(source, decoders, path.name)


def _read_batches(
    source: TextIO, decoders: dict[str, Callable[[Any], Any]], name: str
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(source, start=1):
        try:
            record = json.loads(line)
        except ValueError as err:
            raise InvalidInput(f"{name} line {number} is not JSON") from err
        if not isinstance(record, dict) or not set(record) <= set(decoders):
            raise InvalidInput(f"{name} line {number} is not a row of this table")
        batch.append({key: decoders[key](value) for key, value in record.items()})
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _reset_sequences(connection: AsyncConnection) -> None:
    """After explicit ids were inserted, move each serial id's sequence past the highest."""
    for table in tables():
        ids = [c for c in table.primary_key.columns if isinstance(c.type, Integer)]
        if len(ids) != 1 or not ids[0].autoincrement:
            continue
        column = ids[0].name
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'),"  # noqa: S608 - our own table names
                f" COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
            )
        )


def _encoder(kind: Any) -> Callable[[Any], Any]:
    if isinstance(kind, UTCDateTime | DateTime):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(kind, LargeBinary):
        return lambda value: None if value is None else base64.b64encode(value).decode()
    return lambda value: value


def _decoder(kind: Any) -> Callable[[Any], Any]:
    if isinstance(kind, UTCDateTime | DateTime):
        return lambda value: None if value is None else datetime.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return lambda value: None if value is None else base64.b64decode(value)
    if isinstance(kind, JSON):
        # SQL NULL stays SQL NULL (a bare None would be stored as the JSON text 'null').
        return lambda value: null() if value is None else value
    return lambda value: value

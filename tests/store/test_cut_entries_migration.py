"""Revision 0005eng (cut entries, reasons for missing media) on a database that already
holds a playout and a missing file (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from exstreamtv.store.database import (
    _alembic_config,
    create_engine,
    schema_revision,
    upgrade_schema,
)
from tests.store.test_media_servers_migration import ROWS as LOCAL_ROWS

ROWS = (
    *LOCAL_ROWS[:2],  # a media source and a library
    "INSERT INTO media_items (library_id, path, size, mtime_ns, state, missing_since,"
    " duration_ms, chapters, probed, kind, title, genres, genre_index, external_ids,"
    " metadata_status, metadata_source, created_at, updated_at) SELECT id, '/media/a.mkv', 1,"
    " 1, 'missing', '2026-01-02 00:00:00', 60000, '[]', true, 'movie', 'A', '[]', '', '{}',"
    " 'ok', 'filename', '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM libraries",
    "INSERT INTO channels (number, number_major, number_minor, name, enabled, created_at,"
    " updated_at) VALUES ('7', 7, -1, 'Seven', true, '2026-01-01 00:00:00',"
    " '2026-01-01 00:00:00')",
    "INSERT INTO playout_entries (channel_id, start, finish, kind, media_item_id, in_point_ms,"
    " out_point_ms, guide_group, source) SELECT channels.id, '2026-01-01 00:00:00.250',"
    " '2026-01-01 00:01:00.250', 'content', media_items.id, 0, 60000, 0, 'item:0'"
    " FROM channels, media_items",
)


async def test_upgrade_keeps_entries_uncut_and_missing_media_without_a_reason(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0004")
        async with engine.begin() as conn:
            for statement in ROWS:
                await conn.execute(text(statement))
        await upgrade_schema(engine, "0005eng")
        assert await schema_revision(engine) == "0005eng"
        async with engine.connect() as conn:
            cut = (await conn.execute(text("SELECT cut FROM playout_entries"))).scalar_one()
            reason = (
                await conn.execute(text("SELECT state, missing_reason FROM media_items"))
            ).one()
        assert cut is False or cut == 0
        assert tuple(reason) == ("missing", None)
    finally:
        await engine.dispose()


async def test_downgrade_from_0005eng_removes_the_new_columns(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0005eng")
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0004"))
        async with engine.connect() as conn:
            entries, media = await conn.run_sync(
                lambda sync: [
                    [c["name"] for c in inspect(sync).get_columns(table)]
                    for table in ("playout_entries", "media_items")
                ]
            )
        assert "cut" not in entries and "missing_reason" not in media
        await upgrade_schema(engine, "0005eng")
        assert await schema_revision(engine) == "0005eng"
    finally:
        await engine.dispose()

"""Revision 0004 (media servers) on a database that already holds a local library."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from pydantic import SecretStr
from sqlalchemy import inspect, text

from exstreamtv.domain.libraries import PathMapping, SourceKind
from exstreamtv.domain.media import MediaState
from exstreamtv.services.container import open_container
from exstreamtv.store.database import (
    _alembic_config,
    create_engine,
    schema_revision,
    upgrade_schema,
)
from exstreamtv.store.media import MediaFilter
from tests.support import build_settings

ROWS = (
    "INSERT INTO media_sources (kind, name, created_at) VALUES ('local', 'Local folders',"
    " '2026-01-01 00:00:00')",
    "INSERT INTO libraries (source_id, name, kind, paths, managed_by_config, created_at)"
    " SELECT id, 'Home', 'mixed', '[\"/media\"]', false, '2026-01-01 00:00:00'"
    " FROM media_sources",
    "INSERT INTO media_items (library_id, path, size, mtime_ns, state, duration_ms, chapters,"
    " probed, kind, title, genres, genre_index, external_ids, metadata_status, metadata_source,"
    " created_at, updated_at) SELECT id, '/media/a.mkv', 1, 1, 'present', 1000, '[]', true,"
    " 'movie', 'A', '[]', '', '{}', 'ok', 'filename', '2026-01-01 00:00:00',"
    " '2026-01-01 00:00:00' FROM libraries",
)


async def test_upgrade_to_0004_keeps_local_media_and_stores_a_server_source(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0003")
        async with engine.begin() as conn:
            for statement in ROWS:
                await conn.execute(text(statement))
        await upgrade_schema(engine)
        assert await schema_revision(engine) == "0005src"
    finally:
        await engine.dispose()

    async with open_container(build_settings(tmp_path / "data", database_url)) as container:
        (library,) = await container.libraries.libraries()
        assert (library.name, library.source_kind, library.external_id) == (
            "Home", SourceKind.LOCAL, None,
        )  # fmt: skip
        (item,), _ = await container.catalog.search(MediaFilter(library_id=library.id), 0, 5)
        assert (item.path, item.state) == ("/media/a.mkv", MediaState.PRESENT)
        source = await container.media_servers.create(
            SourceKind.JELLYFIN, "Den", "http://127.0.0.1:9", SecretStr("key-123456"),
            [PathMapping("/media", "/mnt/media")],
        )  # fmt: skip
        assert (await container.media_servers.source(source.id)).path_mappings == (
            PathMapping("/media", "/mnt/media"),
        )
        assert [s.name for s in await container.media_servers.sources()] == ["Den"]


async def test_downgrade_from_0004_removes_the_server_columns(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine)
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0003"))
        assert await schema_revision(engine) == "0003"
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: [c["name"] for c in inspect(sync).get_columns("media_items")]
            )
        assert "remote_id" not in columns
        await upgrade_schema(engine)
        assert await schema_revision(engine) == "0005src"
    finally:
        await engine.dispose()

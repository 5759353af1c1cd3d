"""Upgrading a database that already holds data (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from exstreamtv.domain.channels import ChannelNumber
from exstreamtv.services.container import open_container
from exstreamtv.store.database import (
    MIGRATIONS_DIR,
    create_engine,
    head_revision,
    schema_revision,
    upgrade_schema,
)
from tests.seeding import add_collection, items_schedule
from tests.support import build_settings

INSERT_CHANNEL = (
    "INSERT INTO channels (number, number_major, number_minor, name, enabled, created_at,"
    " updated_at) VALUES ('7', 7, -1, 'Seven', :on, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)


async def test_upgrade_from_0001_keeps_channels_and_lets_them_take_a_schedule(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(text(INSERT_CHANNEL), {"on": True})
        assert await schema_revision(engine) == "0001"
        await upgrade_schema(engine)
        assert await schema_revision(engine) == head_revision()
    finally:
        await engine.dispose()

    async with open_container(build_settings(tmp_path / "data", database_url)) as container:
        (channel,) = await container.channels.channels()
        assert (str(channel.number), channel.name, channel.schedule_id) == ("7", "Seven", None)
        empty = await add_collection(container, "Nothing yet", [])
        schedule = await container.schedules.create(items_schedule("Seven", empty))
        attached = await container.playouts.attach(ChannelNumber(7), schedule.id)
        assert attached.channel.schedule_id == schedule.id
        info = await container.playouts.info(ChannelNumber(7))
        assert info.entry_count > 0
        assert [w.code for w in info.warnings] == ["empty_collection"]


async def test_upgrade_to_0005sec_drops_the_session_secret_from_the_database(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine, "0004")
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO app_state (key, value) VALUES ('ui_session_secret', 'ab'),"
                     " ('hdhomerun_device_id', '12345674')")
            )  # fmt: skip
        await upgrade_schema(engine)
        async with engine.connect() as conn:
            keys = (await conn.execute(text("SELECT key FROM app_state"))).scalars().all()
            sessions = (await conn.execute(text("SELECT count(*) FROM admin_sessions"))).scalar()
        assert keys == ["hdhomerun_device_id"] and sessions == 0
    finally:
        await engine.dispose()


def test_the_head_read_from_the_migration_files_is_alembics_head() -> None:
    """The start-up check (``upgrade_schema`` skips Alembic for an up-to-date database)
    must agree with Alembic about which revision is the newest."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


async def test_an_up_to_date_database_is_left_as_it_is(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text(INSERT_CHANNEL), {"on": True})
        await upgrade_schema(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM channels"))).scalar() == 1
        assert await schema_revision(engine) == head_revision()
    finally:
        await engine.dispose()
